/**
 * Reducers sized by bytes, on the local engine: `reducers` is the number of partitions and of
 * output parts, whatever the number of reduce tasks the shuffle plan packs them into; a
 * partition no reduce task's /tmp can hold fails the job in the shuffle plan, before any reduce
 * task runs, with what to do.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { JobFailedError } from '../functions/errors.js';
import { runLocal } from '../sdk/local/engine.js';
import { countsOf, expectedWordCounts, MOBY, outputLines, partFiles, ROOT, sortedEntries, tempDir } from './helpers.js';

const DATA = path.join(MOBY, 'data.txt');

describe('reducers sized by bytes (local engine)', () => {
  afterEach(() => {
    delete process.env.STREAMING_REDUCE_TMP_BYTES;
  });

  it('writes one part per partition whatever the number of reduce tasks, fewer tasks than partitions', async () => {
    const out = path.join(tempDir(), 'out');
    const totals: number[] = [];
    await runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
      input: DATA,
      output: out,
      reducers: 16,
      workers: 2,
      onProgress: (p) => {
        if (p.reduce.total !== undefined) totals.push(p.reduce.total);
      },
    });
    expect(partFiles(out)).toHaveLength(16);
    expect(sortedEntries(countsOf(outputLines(out)))).toEqual(sortedEntries(expectedWordCounts([DATA])));
    // ~250 KB to reduce over 2 workers: tasks of about half of it each (consecutive partitions, so
    // two or three) take the 16 partitions, and progress counts tasks.
    expect(Math.max(...totals)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...totals)).toBeLessThanOrEqual(3);
  });

  it('refuses a partition larger than the reduce functions’ declared /tmp in the shuffle plan, before any reduce task', async () => {
    // What StreamingJob tells its functions (their ephemeral storage), made small here.
    process.env.STREAMING_REDUCE_TMP_BYTES = String(64 * 1024);
    let reduceStarted = false;
    const handle = runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
      input: DATA,
      output: path.join(tempDir(), 'out'),
      reducers: 1,
      workers: 2,
      onProgress: (p) => {
        if (p.reduce.running > 0 || p.reduce.done > 0) reduceStarted = true;
      },
    });
    const failure = await Promise.resolve(handle).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(JobFailedError);
    expect(failure).toMatchObject({ errorType: 'PartitionTooLargeError' });
    expect((failure as Error).message).toMatch(
      /Partition 0 holds [\d.]+ MiB to sort, and a reduce task has 0\.1 MiB of \/tmp for it\. Raise reducers from 1 to at least \d+/,
    );
    expect(reduceStarted).toBe(false);
  });
});
