/**
 * startJob() and its handle against deployed jobs run by the cloud harness: the registry entry
 * is the one the template's SSM parameter holds, every execution is the deployed definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { JobCancelledError, JobFailedError } from '../../functions/errors.js';
import { StorageRouter } from '../../functions/storage/index.js';
import { S3Storage, s3ClientFromEnvironment } from '../../functions/storage/s3.js';
import { readResults, startJob } from '../../sdk/client.js';
import { UnknownJobError } from '../../sdk/cloud/registry.js';
import { MOBY } from '../helpers.js';
import { type DeployedJob, type Faults, JOBS } from './harness.js';
import { keys, signal, text, upload, useCloud } from './support.js';

const cloud = useCloud();
let counting: DeployedJob;
let wordCount: DeployedJob;
const files = fs
  .readdirSync(MOBY)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .slice(0, 30);

beforeAll(async () => {
  counting = await cloud.harness.job(JOBS.counting);
  wordCount = await cloud.harness.job(JOBS.wordCount);
  for (const job of [counting, wordCount])
    for (const f of files)
      await upload(cloud.server, job.bucket, `input/moby/${f}`, fs.readFileSync(path.join(MOBY, f)));
}, 300_000);

describe('startJob() and its handle, against the deployed flow', () => {
  it('starts a job by name, reports progress, and gives its summary and records, parts in order', async () => {
    const sfn = counting.stepFunctions();
    const job = await startJob({
      job: 'Counting',
      input: `s3://${counting.bucket}/input/moby/`,
      output: `s3://${counting.bucket}/output/sdk`,
      reducers: 3,
      splitSize: 250_000,
      stepFunctions: sfn,
      registry: counting.registryLookup,
    });
    expect(sfn.starts[0]).toMatchObject({ jobId: job.id, scratch: `s3://${counting.bucket}/scratch/`, reducers: 3 });
    const seen: string[] = [];
    const manifest = await job.wait({ intervalMs: 20, onProgress: (s) => seen.push(`${s.state}:${s.phase}`) });
    expect(seen.at(-1)).toBe('SUCCEEDED:done');
    expect(manifest.parts).toHaveLength(3);
    const status = await job.status();
    expect(status.map.done).toBe(status.map.total);
    expect(status.reduce).toEqual({ done: 3, total: 3 });
    expect(status.counters).toEqual(manifest.counters);
    const lines = files.reduce(
      (n, f) =>
        n +
        fs
          .readFileSync(path.join(MOBY, f), 'utf8')
          .split('\n')
          .filter((l, i, all) => i < all.length - 1 || l !== '').length,
      0,
    );
    expect(manifest.counters.lines).toBe(lines);

    const records: unknown[] = [];
    for await (const r of job.results()) records.push(r);
    const expected: unknown[] = [];
    for (const part of manifest.parts)
      for (const line of (await text(part.uri))!.split('\n').filter(Boolean)) {
        const [key, value] = line.split('\t');
        expected.push({ key, value });
      }
    expect(records).toEqual(expected);
    expect(records.length).toBe(manifest.records);
  });

  it('streams results lazily: the first record comes before the last part is read', async () => {
    const manifest = await startJob({
      stateMachineArn: wordCount.stateMachineArn,
      scratch: wordCount.registry.scratch,
      input: `s3://${wordCount.bucket}/input/moby/`,
      output: `s3://${wordCount.bucket}/output/lazy`,
      reducers: 4,
      splitSize: 250_000,
      stepFunctions: wordCount.stepFunctions(),
    }).then((j) => j.wait({ intervalMs: 20 }));
    const reads: string[] = [];
    const storage = new StorageRouter(() => {
      const inner = new S3Storage(s3ClientFromEnvironment());
      return Object.assign(Object.create(inner), {
        read: (uri: string, range?: never) => {
          reads.push(uri);
          return inner.read(uri, range);
        },
      });
    });
    const it = readResults(storage, manifest)[Symbol.asyncIterator]();
    await it.next();
    expect(reads).toEqual([manifest.parts[0]!.uri]);
    await it.return?.();
  });

  it('cancel() mid-job: no _SUCCESS, _FAILED says cancelled, parts and scratch removed', async () => {
    // The map tasks hold until the test has cancelled: the cancel surely lands mid-job.
    const reached = signal();
    const released = signal();
    const before: Faults['before'] = (phase) => {
      if (phase !== 'map') return;
      reached.resolve();
      return released.promise;
    };
    const job = await startJob({
      job: 'WordCount',
      input: `s3://${wordCount.bucket}/input/moby/`,
      output: `s3://${wordCount.bucket}/output/cancelled`,
      splitSize: 100_000,
      stepFunctions: wordCount.stepFunctions({ before }),
      registry: wordCount.registryLookup,
    });
    await reached.promise;
    expect((await job.status()).state).toBe('RUNNING');
    await job.cancel();
    await expect(job.wait({ intervalMs: 20 })).rejects.toThrow(JobCancelledError);
    released.resolve();
    await wordCount.idle(); // tasks already running finish; nothing may complete the job
    expect(await text(`s3://${wordCount.bucket}/output/cancelled/_SUCCESS`)).toBeUndefined();
    expect(JSON.parse((await text(`s3://${wordCount.bucket}/output/cancelled/_FAILED`))!).error).toBe(
      'JobCancelledError',
    );
    const left = await keys(`s3://${wordCount.bucket}/scratch/${job.id}/`);
    expect(left.filter((u) => !u.includes('/map/'))).toEqual([]);
  });

  it('a bundled non-retryable error names its class: JobFailedError says InvalidJobError, Plan ran once', async () => {
    const sfn = wordCount.stepFunctions();
    const job = await startJob({
      job: 'WordCount',
      input: `s3://${wordCount.bucket}/input/moby/`,
      output: `s3://${wordCount.bucket}/output/bad`,
      reducers: -1,
      stepFunctions: sfn,
      registry: wordCount.registryLookup,
    });
    const failure = await job.wait({ intervalMs: 20 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(JobFailedError);
    expect(failure).toMatchObject({ errorType: 'InvalidJobError', message: expect.stringMatching(/reducers must be/) });
    expect(
      wordCount.logs.filter((l) => l.phase === 'plan' && l.line.includes(job.id) && l.line.includes('task started')),
    ).toHaveLength(1);
  });

  it('names an unknown job clearly', async () => {
    await expect(
      startJob({
        job: 'Nope',
        input: `s3://${wordCount.bucket}/input/`,
        output: `s3://${wordCount.bucket}/output/x`,
        stepFunctions: wordCount.stepFunctions(),
        registry: async (name) => {
          throw new UnknownJobError(`No deployed job named "${name}"`);
        },
      }),
    ).rejects.toThrow(/No deployed job named "Nope"/);
  });
});
