/**
 * The trigger events EventBridge delivers (AWS's documented samples, pointed at the job's
 * bucket) as the state machine's input, through the deployed job whose construct has an upload
 * trigger and a schedule: Plan's environment (where runs write, what never starts a job) is the
 * template's.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { MOBY } from '../helpers.js';
import { type DeployedJob, JOBS } from './harness.js';
import { keys, text, upload, useCloud } from './support.js';

const cloud = useCloud();
let job: DeployedJob;

/** EventBridge's "Object Created" sample event for `key` of the job's bucket (each event has its own id). */
const objectCreated = (key: string, id = randomUUID()) => ({
  version: '0',
  id,
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: [`arn:aws:s3:::${job.bucket}`],
  detail: {
    version: '0',
    bucket: { name: job.bucket },
    object: {
      key,
      size: 5,
      etag: 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      sequencer: '617f08299329d189',
    },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '1.2.3.4',
    reason: 'PutObject',
  },
});
const SCHEDULED = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2015-10-08T16:53:06Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule'],
  detail: {},
};

beforeAll(async () => {
  job = await cloud.harness.job(JOBS.triggers);
  await upload(cloud.server, job.bucket, 'input/uploads/chapter 1.txt', 'Call me Ishmael. Call me.\n');
  for (const f of ['chapter_1.txt', 'chapter_2.txt', 'chapter_3.txt'])
    await upload(cloud.server, job.bucket, `input/moby/${f}`, fs.readFileSync(path.join(MOBY, f)));
}, 300_000);

describe('triggers: events run through Plan and the whole job', () => {
  it('an S3 Object Created event runs the job on that object, into <outputPrefix><key>/', async () => {
    // EventBridge delivers the key URL-encoded ('+' for a space).
    const { result } = await job.execute(objectCreated('input/uploads/chapter+1.txt'));
    await result;
    const out = `s3://${job.bucket}/output/uploads/input/uploads/chapter 1.txt`;
    const parts: string[] = [];
    for (let r = 0; r < 4; r++) parts.push((await text(`${out}/part-r-0000${r}`)) ?? '');
    expect(parts.join('').split('\n').filter(Boolean).sort()).toEqual(['call\t2', 'ishmael\t1', 'me\t2']);
    expect(await text(`${out}/_SUCCESS`)).toBe('');
  });

  it('a Scheduled Event runs over the fixed input into a folder stamped with its time', async () => {
    const { result } = await job.execute(SCHEDULED);
    const summary = (await result) as { output: string; records: number };
    expect(summary.output).toBe(`s3://${job.bucket}/output/scheduled/20151008T165306Z/`);
    expect(summary.records).toBeGreaterThan(1000);
    expect(await text(`s3://${job.bucket}/output/scheduled/20151008T165306Z/_SUCCESS`)).toBe('');
  });

  it('an object a job wrote never starts a job (no loops), and the bundled InvalidJobError is not retried', async () => {
    const { result, attempts } = await job.execute(
      objectCreated('output/uploads/input/uploads/chapter 1.txt/part-r-00000'),
    );
    await expect(result).rejects.toThrow(/where jobs write: it does not start a job/);
    // Its class name survives bundling, so the definition's no-retry rule matches it.
    await expect(result.catch((e: Error & { cause?: Error }) => Promise.reject(e.cause))).rejects.toMatchObject({
      name: 'InvalidJobError',
    });
    expect(attempts.plan).toBe(1);
    expect(attempts.map).toBeUndefined();
  });
});

describe('an event delivered twice (EventBridge delivers at least once) runs once', () => {
  const wordsOf = async (out: string) => {
    const lines: string[] = [];
    for (const p of (await keys(`${out}/`)).filter((u) => /part-r-/.test(u)))
      lines.push(...(await text(p))!.split('\n'));
    return lines.filter(Boolean).sort();
  };

  it('two deliveries at once: one execution runs the job, the other does nothing, succeeds and says so in its log', async () => {
    const key = 'input/uploads/twice.txt';
    await upload(cloud.server, job.bucket, key, 'to be or not to be\n');
    const event = objectCreated(key);
    const runs = await Promise.all([job.execute(event), job.execute(event)]);
    const results = (await Promise.all(runs.map((r) => r.result))) as Record<string, unknown>[];
    const dup = results.findIndex((r) => 'duplicate' in r);
    expect(dup).toBeGreaterThanOrEqual(0);
    expect(results[1 - dup]).toMatchObject({ output: `s3://${job.bucket}/output/uploads/${key}/` });
    // The duplicate stopped at Plan: no task of it ran, and it did not touch the output.
    expect(runs[dup]!.attempts).toEqual({ plan: 1 });
    expect(results[dup]).toMatchObject({
      duplicate: {
        event: event.id,
        kind: 'upload',
        message: expect.stringMatching(/delivered again; execution .* has handled it/),
      },
    });
    expect(
      job.logs.some(
        (l) => l.phase === 'plan' && l.line.includes('duplicate delivery, nothing done') && l.line.includes(event.id),
      ),
    ).toBe(true);
    const out = `s3://${job.bucket}/output/uploads/${key}`;
    expect(await wordsOf(out)).toEqual(['be\t2', 'not\t1', 'or\t1', 'to\t2']);
    expect(await text(`${out}/_FAILED`)).toBeUndefined();

    // Delivered a third time, after the job completed: still nothing (not an OutputExistsError failure).
    const late = await job.execute(event);
    expect(await late.result).toMatchObject({ duplicate: { event: event.id } });
    expect(late.attempts).toEqual({ plan: 1 });
    expect(await text(`${out}/_SUCCESS`)).toBe('');
  });

  it('a retried Plan of the first execution is not a duplicate: the job runs', async () => {
    const key = 'input/uploads/retried.txt';
    await upload(cloud.server, job.bucket, key, 'again and again\n');
    let lost = false;
    // Plan did its work (the delivery recorded, the output claimed), then its answer was lost.
    const { result, attempts } = await job.execute(objectCreated(key), {
      after: (phase) => {
        if (phase === 'plan' && !lost) {
          lost = true;
          throw Object.assign(new Error('Lambda.ServiceException'), { name: 'Lambda.ServiceException' });
        }
      },
    });
    expect(await result).toMatchObject({ output: `s3://${job.bucket}/output/uploads/${key}/` });
    expect(attempts.plan).toBe(2);
    expect(await wordsOf(`s3://${job.bucket}/output/uploads/${key}`)).toEqual(['again\t2', 'and\t1']);
  });
});
