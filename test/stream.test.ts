import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { countsOf, FIXTURES, MOBY, outputLines, ROOT, sortedEntries, tempDir } from './helpers.js';

const WC_MAP = path.join(FIXTURES, 'stream', 'wc-map.mjs');
const WC_REDUCE = path.join(FIXTURES, 'stream', 'wc-reduce.mjs');

/** Writes a job module that names stream programs (given by absolute path: the job file is in a temporary directory). */
function streamJob(dir: string, name: string, fields: Record<string, string | number>): string {
  const file = path.join(dir, `${name}.ts`);
  fs.writeFileSync(
    file,
    `import { defineJob } from 'streaming';\nexport default defineJob(${JSON.stringify({ name, ...fields })});\n`,
  );
  return file;
}

describe('stream programs (Hadoop Streaming)', () => {
  it('a Node mapper/reducer pair gives the TypeScript word count’s output', async () => {
    const dir = tempDir();
    const input = path.join(MOBY, 'data.txt');
    const ts = await runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
      input,
      output: path.join(dir, 'ts'),
      reducers: 3,
      splitSize: 300_000,
      workers: 2,
    });
    const job = streamJob(dir, 'node-wc', {
      mapper: `node ${WC_MAP}`,
      reducer: `node ${WC_REDUCE}`,
      reducers: 3,
    });
    const stream = await runLocal(job, { input, output: path.join(dir, 'stream'), splitSize: 300_000, workers: 2 });
    expect(stream.manifest.map.tasks).toBe(ts.manifest.map.tasks);
    // Same partitioner, same sorted keys: the parts are identical.
    for (const part of ['part-r-00000', 'part-r-00001', 'part-r-00002'])
      expect(fs.readFileSync(path.join(dir, 'stream', part), 'utf8')).toBe(
        fs.readFileSync(path.join(dir, 'ts', part), 'utf8'),
      );
  });

  it('a combiner program shrinks the shuffle, map-side, without changing the output', async () => {
    const dir = tempDir();
    const input = path.join(MOBY, 'data.txt');
    const fields = {
      mapper: `node ${WC_MAP}`,
      reducer: `node ${WC_REDUCE}`,
    };
    const plain = streamJob(dir, 'plain', { ...fields, reducers: 2 });
    // The reducer sums counts, so it is a valid combiner too (as in Hadoop's word count).
    const combined = streamJob(dir, 'combined', {
      ...fields,
      combiner: `node ${WC_REDUCE}`,
      reducers: 2,
    });
    // A small sort buffer: several spills per task, each combined.
    const opts = { input, splitSize: 400_000, sortBufferBytes: 1 << 19, workers: 2 };
    const a = await runLocal(plain, { ...opts, output: path.join(dir, 'plain') });
    const b = await runLocal(combined, { ...opts, output: path.join(dir, 'combined') });
    expect(b.manifest.map.spills).toBeGreaterThan(b.manifest.map.tasks);
    expect(b.manifest.map.shuffleRecords).toBeLessThan(a.manifest.map.shuffleRecords / 3);
    expect(sortedEntries(countsOf(outputLines(path.join(dir, 'combined'))))).toEqual(
      sortedEntries(countsOf(outputLines(path.join(dir, 'plain')))),
    );
  });

  it('shell programs work too, and a line without a tab is all key', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'The cat\nthe hat\r\nA cat, the end\n');
    const job = streamJob(dir, 'shell-wc', {
      mapper: "tr -cs 'A-Za-z0-9_' '\\n' | tr A-Z a-z | sed '/^$/d'",
      reducer: "awk -F'\\t' '{ n[$1]++ } END { for (w in n) print w \"\\t\" n[w] }'",
      reducers: 2,
    });
    await runLocal(job, { input: path.join(dir, 'in.txt'), output: path.join(dir, 'out'), workers: 1 });
    expect(sortedEntries(countsOf(outputLines(path.join(dir, 'out'))))).toEqual([
      ['a', 1],
      ['cat', 2],
      ['end', 1],
      ['hat', 1],
      ['the', 3],
    ]);
  });

  it('a failing program fails the job with its exit code and the end of its stderr', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n');
    const job = streamJob(dir, 'bad', { mapper: "sh -c 'echo cannot open model.bin >&2; exit 3'", reducers: 0 });
    await expect(
      runLocal(job, { input: path.join(dir, 'in.txt'), output: path.join(dir, 'out'), workers: 1, taskAttempts: 1 }),
    ).rejects.toMatchObject({
      errorType: 'StreamProgramError',
      message: expect.stringMatching(/exited with code 3[\s\S]*cannot open model\.bin/),
    });
  });
});
