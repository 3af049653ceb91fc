/**
 * A multi-step job (tf-idf: two steps) deployed with StreamingJob and run by the cloud harness:
 * every step in one execution, followed and cancelled through startJob()'s handle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { JobCancelledError } from '../../functions/errors.js';
import tfidf from '../../jobs/tfidf.js';
import { startJob } from '../../sdk/client.js';
import { runLocal } from '../../sdk/local/engine.js';
import { stateOfTheUnion, writeJsonl } from '../datasets.js';
import { outputLines, partFiles, ROOT, tempDir } from '../helpers.js';
import { type DeployedJob, type Faults, JOBS } from './harness.js';
import { keys, signal, text, upload, useCloud } from './support.js';

/** The job as deployed (jobs/tfidf.ts): a pipeline of several steps, the last one's output the result. */
const STEPS = tfidf.steps.length;
const LAST = tfidf.steps.at(-1)!;

const cloud = useCloud();
let job: DeployedJob;
let dir: string;
let input: string;

beforeAll(async () => {
  job = await cloud.harness.job(JOBS.tfidf);
  dir = tempDir();
  input = writeJsonl(dir, 'sotu', stateOfTheUnion().slice(0, 40), 2);
  for (const f of fs.readdirSync(input))
    await upload(cloud.server, job.bucket, `input/sotu/${f}`, fs.readFileSync(path.join(input, f)));
}, 300_000);

const out = (name: string) => `s3://${job.bucket}/output/${name}`;
const scratchLeft = () => keys(`s3://${job.bucket}/scratch/`);

/** Holds the map tasks of the second step (index 1) until released; `reached` resolves when the first one arrives. */
function holdStepTwo() {
  const reached = signal();
  const released = signal();
  const before: Faults['before'] = (phase, e) => {
    if (phase !== 'map' || (e.job as { step?: number }).step !== 1) return;
    reached.resolve();
    return released.promise;
  };
  return { reached: reached.promise, release: () => released.resolve(), before };
}

describe('a multi-step job in the deployed state machine', () => {
  it('runs every step in one execution (Commit loops to Plan), as the local engine does, and leaves no scratch', async () => {
    const opts = { reducers: 2, splitSize: 400_000 };
    const local = { input, output: path.join(dir, 'out'), scratch: path.join(dir, 'scratch'), workers: 2, ...opts };
    await runLocal(path.join(ROOT, 'jobs', 'tfidf.ts'), local);
    const { result } = await job.execute({ input: [`s3://${job.bucket}/input/sotu/`], output: out('tfidf'), ...opts });
    const summary = (await result) as { parts: number; next?: unknown };
    expect(summary.next).toBeUndefined();
    for (const part of partFiles(path.join(dir, 'out')))
      expect(await text(`${out('tfidf')}/${path.basename(part)}`)).toBe(fs.readFileSync(part, 'utf8'));
    expect(outputLines(path.join(dir, 'out'))).toHaveLength(40);
    const manifest = JSON.parse((await text(`${out('tfidf')}/_manifest.json`))!);
    expect([manifest.job, manifest.step, manifest.steps]).toEqual([LAST.name, STEPS - 1, STEPS]);
    expect(await scratchLeft()).toEqual([]);
  });

  it('is followed step by step through startJob(), and its records are the last step’s', async () => {
    const hold = holdStepTwo();
    const handle = await startJob({
      job: 'TfIdf',
      input: `s3://${job.bucket}/input/sotu/`,
      output: out('tfidf-sdk'),
      stepFunctions: job.stepFunctions({ before: hold.before }),
      registry: job.registryLookup,
    });
    await hold.reached;
    expect(await handle.status()).toMatchObject({ state: 'RUNNING', phase: 'map', step: { index: 1, of: STEPS } });
    hold.release();
    const manifest = await handle.wait({ intervalMs: 10 });
    expect(manifest.job).toBe(LAST.name);
    let records = 0;
    for await (const r of handle.results()) {
      expect(typeof r.value).toBe('object');
      records++;
    }
    expect(records).toBe(40);
  });

  it('cancel() in its second step: no _SUCCESS, _FAILED says cancelled, the steps’ scratch removed', async () => {
    const hold = holdStepTwo();
    const handle = await startJob({
      job: 'TfIdf',
      input: `s3://${job.bucket}/input/sotu/`,
      output: out('tfidf-cancelled'),
      stepFunctions: job.stepFunctions({ before: hold.before }),
      registry: job.registryLookup,
    });
    await hold.reached;
    expect((await handle.status()).step?.index).toBe(1);
    await handle.cancel();
    await expect(handle.wait({ intervalMs: 20 })).rejects.toThrow(JobCancelledError);
    expect(await text(`${out('tfidf-cancelled')}/_SUCCESS`)).toBeUndefined();
    expect(JSON.parse((await text(`${out('tfidf-cancelled')}/_FAILED`))!).error).toBe('JobCancelledError');
    expect(await scratchLeft()).toEqual([]);
    // The held tasks run on after the stop, as Lambda invocations do: they may leave what a map
    // task writes in scratch (the lifecycle rule expires it), never anything that completes the job.
    hold.release();
    await job.idle();
    expect(await text(`${out('tfidf-cancelled')}/_SUCCESS`)).toBeUndefined();
    expect((await scratchLeft()).filter((u) => !/\/(map\/|failed-attempts\/map-)/.test(u))).toEqual([]);
  });
});
