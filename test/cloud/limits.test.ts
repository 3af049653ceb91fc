/**
 * AWS's limits, as the harness enforces them on a deployed job (CloudTest/Limits:
 * test/fixtures/limits.ts, whose functions have 256 MiB, a 5 s timeout and 512 MiB of /tmp),
 * and how a failure inside a Distributed Map surfaces on AWS. The payload quota itself is
 * tested on the executor (test/execute.test.ts); here, what the functions meet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { MOBY } from '../helpers.js';
import { type DeployedJob, JOBS, unique } from './harness.js';
import { text, upload, useCloud } from './support.js';

const cloud = useCloud();
let job: DeployedJob;
const MiB = 2 ** 20;

beforeAll(async () => {
  job = await cloud.harness.job(JOBS.limits);
  for (const f of ['chapter_1.txt', 'chapter_2.txt', 'chapter_3.txt'])
    await upload(cloud.server, job.bucket, `input/moby/${f}`, fs.readFileSync(path.join(MOBY, f)));
  await upload(cloud.server, job.bucket, 'input/big/data.txt', fs.readFileSync(path.join(MOBY, 'data.txt')));
}, 300_000);

/** One map task over the three chapters (one split), with the job's params. */
const spec = (on: DeployedJob, output: string, params: Record<string, string>) => ({
  input: [`s3://${on.bucket}/input/moby/`],
  output: `s3://${on.bucket}/output/${output}`,
  params,
});

/** The errors of the failed map attempts, as each child of the Map reported it. */
const childErrors = (on: DeployedJob, from: number) => on.childFailures.slice(from).map((f) => f.error);

describe('a function’s timeout', () => {
  it('kills an attempt that runs past it (Sandbox.Timedout, as Lambda reports it), before the state’s own timeout', async () => {
    const before = job.childFailures.length;
    // Each attempt of the one map task hangs 8 s at its first record; the function may run 5 s.
    const { result, attempts } = await job.execute(spec(job, 'hung', { hangMs: '8000' }));
    const failure = (await result.catch((e: Error & { cause?: Error }) => e.cause)) as Error | undefined;
    expect(failure?.name).toBe('States.ExceedToleratedFailureThreshold');
    expect(attempts.map).toBe(3); // retried by the definition's policy, each attempt killed
    const [error] = childErrors(job, before);
    expect(error?.Error).toBe('Sandbox.Timedout');
    expect(JSON.parse(error!.Cause!).errorMessage).toMatch(/Task timed out after 5\.00 seconds/);
  }, 60_000);
});

describe('a function’s memory', () => {
  it('kills an attempt whose memory passes the configured 256 MiB (V8 heap limit, or resident size)', async () => {
    const before = job.childFailures.length;
    const { result } = await job.execute(spec(job, 'oom', { allocMiB: '400' }));
    await expect(result).rejects.toThrow();
    const [error] = childErrors(job, before);
    expect(['Runtime.OutOfMemory', 'Runtime.ExitError']).toContain(error?.Error);
    expect(JSON.parse(error!.Cause!).errorMessage).toMatch(/Runtime exited with error: signal: (killed|aborted)/);
  });

  it('runs an attempt that stays within it', async () => {
    const { result } = await job.execute(spec(job, 'in-memory', { allocMiB: '60' }));
    await expect(result).resolves.toMatchObject({ parts: 2 });
  });
});

describe('a function’s ephemeral storage', () => {
  // Scaled down for speed: the functions' /tmp is 8 MiB instead of the template's 512 MiB. Honest:
  // the functions see 8 MiB everywhere they can look (statfs of /tmp, ENOSPC past it). The job
  // leaves its file in /tmp, which a warm environment keeps, as Lambda's does: so in this order.
  let small: DeployedJob;
  beforeAll(async () => {
    small = await cloud.harness.job(JOBS.limits, { ephemeralBytes: 8 * MiB });
  });

  it('lets a task use /tmp up to its size', async () => {
    const { result } = await small.execute(spec(small, 'tmp-fits', { tmpMiB: '5' }));
    await expect(result).resolves.toMatchObject({ parts: 2 });
    expect(small.functions.map.stats.maxTmpBytes).toBeGreaterThanOrEqual(5 * MiB);
  });

  it('fails a write that would take /tmp past its size with ENOSPC', async () => {
    const before = small.childFailures.length;
    const { result } = await small.execute(spec(small, 'tmp-full', { tmpMiB: '12' }));
    await expect(result).rejects.toThrow();
    const [error] = childErrors(small, before);
    expect(JSON.parse(error!.Cause!).errorMessage).toMatch(/ENOSPC: no space left on device/);
  });
});

describe('a split longer than the function may run', () => {
  it('fails once, not retried, saying to lower splitSize, with the numbers', async () => {
    const before = job.childFailures.length;
    // 205 lines at 100 ms each: 20 s of map work in a function that may run 5 s.
    const { result, attempts } = await job.execute(spec(job, 'slow-split', { sleepMs: '100' }));
    await expect(result).rejects.toThrow();
    expect(attempts.map).toBe(1);
    const [error] = childErrors(job, before);
    expect(error?.Error).toBe('SplitTooLargeError');
    const message = JSON.parse(error!.Cause!).errorMessage as string;
    expect(message).toMatch(/split took longer than the function may run: lower splitSize/);
    expect(message).toMatch(/read about [\d.]+ MiB of its [\d.]+ MiB in [\d.]+ s; the function may run [\d.]+ s/);
    expect(message).toMatch(/set splitSize to \d+MiB or less/);
  }, 60_000);
});

describe('reducers sized by bytes', () => {
  it('a partition larger than a reduce task’s /tmp fails once, before any fetch, saying how many reducers would fit', async () => {
    // Scaled: the functions' /tmp is 512 KiB instead of 512 MiB, and each of the 2 partitions of
    // data.txt's lines (as keys and values) holds ~1.2 MB. The deployment still declares 512 MiB
    // (so the shuffle plan's own check passes): this is the reduce task's check, on what it sees.
    const small = await cloud.harness.job(JOBS.limits, { ephemeralBytes: 512 * 1024 });
    const before = small.childFailures.length;
    const jobId = unique('big-partitions');
    const { result, attempts } = await small.execute({
      input: [`s3://${small.bucket}/input/big/`],
      output: `s3://${small.bucket}/output/big-partitions`,
      params: { value: 'line' },
      jobId,
    });
    await expect(result).rejects.toThrow();
    expect(attempts.reduce).toBe(1); // one reduce task for both partitions, not retried
    const [error] = childErrors(small, before);
    expect(error?.Error).toBe('PartitionTooLargeError');
    expect(JSON.parse(error!.Cause!).errorMessage).toMatch(
      /Partition \d holds [\d.]+ MiB to sort, and a reduce task has [\d.]+ MiB of \/tmp for it\. Raise reducers from 2 to at least \d+/,
    );
    // Nothing was fetched: the reduce task read its manifests, no map data.
    const reads = cloud.harness.guard.requests.filter((r) => r.principal.endsWith('/reduce') && r.url.includes(jobId));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((r) => r.url.includes('.data'))).toEqual([]);
  });
});

describe('Lambda’s own transient failures (the definition’s Lambda-service retrier)', () => {
  /** Throttles the shuffle plan's first `times` invocations, as Lambda would under a full account. */
  const throttled = (times: number) => {
    let n = 0;
    return {
      before: (phase: string) => {
        if (phase === 'shuffle' && n++ < times)
          throw Object.assign(new Error('Rate exceeded'), { name: 'Lambda.TooManyRequestsException' });
      },
    };
  };

  it('retries a throttled task six times, beyond the task policy’s three attempts', async () => {
    const { result, attempts } = await job.execute(spec(job, 'throttled-6', {}), throttled(6));
    await expect(result).resolves.toMatchObject({ parts: 2 });
    expect(attempts.shuffle).toBe(7);
  });

  it('gives up after six retries: the seventh throttle fails the job into Abort', async () => {
    const { result, attempts } = await job.execute(spec(job, 'throttled-7', {}), throttled(7));
    const failure = (await result.catch((e: Error & { cause?: Error }) => e.cause)) as Error | undefined;
    expect(failure?.name).toBe('Lambda.TooManyRequestsException');
    expect(attempts.shuffle).toBe(7);
    expect(await text(`s3://${job.bucket}/output/throttled-7/_FAILED`)).toBeDefined();
  });
});

describe('a failed task inside a Distributed Map, as AWS surfaces it', () => {
  const fail = { fail: 'the real error of the map task' };

  it('fails the Map with States.ExceedToleratedFailureThreshold; the task’s own error is not in its Cause', async () => {
    const before = job.childFailures.length;
    const { result } = await job.execute(spec(job, 'child-failed', fail));
    const failure = (await result.catch((e: Error & { cause?: Error }) => e.cause)) as Error | undefined;
    expect(failure?.name).toBe('States.ExceedToleratedFailureThreshold');
    expect(failure?.message).not.toMatch(/real error|UserCodeError/);
    expect(childErrors(job, before)[0]).toMatchObject({ Error: 'UserCodeError' });
    // Catch still runs Abort: the output is marked failed.
    expect(await text(`s3://${job.bucket}/output/child-failed/_FAILED`)).toBeDefined();
  });

  // Issue 14 item 7: Abort keeps the first real error, read from the failed-attempt records before
  // scratch is deleted.
  it('_FAILED names the map task’s real error, not the Map’s', async () => {
    const { result } = await job.execute(spec(job, 'child-failed-marker', fail));
    await result.catch(() => {});
    const marker = JSON.parse((await text(`s3://${job.bucket}/output/child-failed-marker/_FAILED`))!);
    expect(marker.error).toBe('UserCodeError');
    expect(marker.message).toContain('the real error of the map task');
  });
});
