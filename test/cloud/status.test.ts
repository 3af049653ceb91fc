/**
 * Cheap polling: a job handle's status() costs the same few requests whatever the job's number
 * of tasks. Counted at the S3 server (test/s3-requests.ts, in front of the SDK's storage) and at
 * the Step Functions interface, mid-job (every map task done, the reducers held), for a job of
 * a few map tasks and one of many.
 */
import fs from 'node:fs';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StorageRouter } from '../../functions/storage/index.js';
import { S3Storage } from '../../functions/storage/s3.js';
import { startJob } from '../../sdk/client.js';
import type { StepFunctionsApi } from '../../sdk/cloud/stepfunctions.js';
import { MOBY } from '../helpers.js';
import { logS3Requests, type S3RequestLog } from '../s3-requests.js';
import { type DeployedJob, JOBS, unique } from './harness.js';
import { signal, upload, useCloud } from './support.js';

const cloud = useCloud();
let job: DeployedJob;
let log: S3RequestLog;
let storage: StorageRouter;

beforeAll(async () => {
  job = await cloud.harness.job(JOBS.wordCount);
  for (const f of ['chapter_1.txt', 'chapter_2.txt', 'chapter_3.txt', 'chapter_4.txt'])
    await upload(cloud.server, job.bucket, `input/status/${f}`, fs.readFileSync(path.join(MOBY, f)));
  log = await logS3Requests(cloud.server.endpoint);
  const client = new S3Client({
    endpoint: log.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  storage = new StorageRouter(() => new S3Storage(client));
}, 300_000);
afterAll(() => log?.stop());

/** One status() mid-job: what it said, the S3 requests and the Step Functions calls it made. */
async function statusMidJob(splitSize: number) {
  const mapsDone = signal();
  const release = signal();
  const sfn = job.stepFunctions({
    before: async (phase) => {
      if (phase !== 'reduce') return;
      mapsDone.resolve();
      await release.promise;
    },
  });
  const calls: string[] = [];
  const counted: StepFunctionsApi = {
    ...sfn,
    describeExecution: (arn) => {
      calls.push('DescribeExecution');
      return sfn.describeExecution(arn);
    },
    mapRuns: async (arn) => {
      const runs = await sfn.mapRuns(arn);
      calls.push('ListMapRuns', ...runs.map(() => 'DescribeMapRun'));
      return runs;
    },
  };
  const handle = await startJob({
    job: 'WordCount',
    input: `s3://${job.bucket}/input/status/`,
    output: `s3://${job.bucket}/output/${unique('status')}`,
    reducers: 3,
    splitSize,
    stepFunctions: counted,
    registry: job.registryLookup,
    storage,
  });
  await mapsDone.promise;
  calls.length = 0;
  const before = log.requests.length;
  const status = await handle.status();
  await new Promise((r) => setTimeout(r, 50)); // the proxy records a request once its answer closed
  const s3 = log.requests.slice(before).map((r) => `${r.method} ${r.query.includes('list-type') ? 'LIST' : 'object'}`);
  const sfnCalls = [...calls];
  release.resolve();
  await handle.wait({ intervalMs: 20 });
  return { status, s3, sfnCalls };
}

describe('status() costs a bounded number of requests', () => {
  it('the same few requests for one map task as for many, no listing, counters only at the end', async () => {
    const few = await statusMidJob(1_000_000);
    const many = await statusMidJob(2_000);
    expect(few.status.map.done).toBe(1);
    expect(many.status.map.done).toBeGreaterThan(15);
    for (const { status, s3, sfnCalls } of [few, many]) {
      expect(status).toMatchObject({ state: 'RUNNING', phase: 'reduce', reduce: { done: 0 } });
      // The reduce Map's items: the shuffle plan groups the 3 partitions into tasks by bytes.
      expect(status.reduce.total).toBeGreaterThanOrEqual(1);
      expect(status.reduce.total).toBeLessThanOrEqual(3);
      expect(status.map.done).toBe(status.map.total);
      expect(status.counters).toBeUndefined();
      // plan.json only; the map Run and the reduce Run counted by Step Functions.
      expect(s3).toEqual(['GET object']);
      expect(sfnCalls).toEqual(['DescribeExecution', 'ListMapRuns', 'DescribeMapRun', 'DescribeMapRun']);
    }
  });
});
