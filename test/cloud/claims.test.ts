/**
 * An output belongs to one run, through the deployed job (bundled handlers, emulated Lambda,
 * IAM-guarded S3): two executions started together on one output with different inputs. The
 * local engine's version of this is test/claims.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { countsOf, expectedWordCounts, MOBY, sortedEntries } from '../helpers.js';
import { type DeployedJob, JOBS, unique } from './harness.js';
import { keys, text, upload, useCloud } from './support.js';

const cloud = useCloud();
let job: DeployedJob;
const INPUTS = { a: ['chapter_1.txt', 'chapter_2.txt', 'chapter_3.txt'], b: ['chapter_4.txt'] };

beforeAll(async () => {
  job = await cloud.harness.job(JOBS.wordCount);
  for (const [name, files] of Object.entries(INPUTS))
    for (const f of files)
      await upload(cloud.server, job.bucket, `input/claims/${name}/${f}`, fs.readFileSync(path.join(MOBY, f)));
}, 300_000);

describe('an output belongs to one run (deployed)', () => {
  it('two executions started together on one output, with different inputs: exactly one succeeds, and the output is its result', async () => {
    const output = `s3://${job.bucket}/output/${unique('together')}`;
    const spec = (name: keyof typeof INPUTS) => ({
      input: [`s3://${job.bucket}/input/claims/${name}/`],
      output,
      reducers: 2,
      splitSize: 100_000,
    });
    const runs = await Promise.all([job.execute(spec('a')), job.execute(spec('b'))]);
    const ends = await Promise.allSettled(runs.map((r) => r.result));
    expect(ends.map((e) => e.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = ends.findIndex((e) => e.status === 'fulfilled');
    const loser = ends[1 - winner] as PromiseRejectedResult;
    // Refused at Plan, not retried, and its Abort left the winner's output alone.
    expect((loser.reason as Error & { cause?: Error }).cause).toMatchObject({
      name: 'OutputClaimedError',
      message: expect.stringMatching(/is being written by run \S+ \(execution /),
    });
    expect(runs[1 - winner]!.attempts).toMatchObject({ plan: 1 });
    expect(runs[1 - winner]!.attempts.map).toBeUndefined();

    const files = INPUTS[winner === 0 ? 'a' : 'b'];
    const parts = (await keys(`${output}/`)).filter((u) => /part-r-/.test(u)).sort();
    const lines: string[] = [];
    for (const p of parts) lines.push(...(await text(p))!.split('\n').filter(Boolean));
    expect(sortedEntries(countsOf(lines))).toEqual(
      sortedEntries(expectedWordCounts(files.map((f) => path.join(MOBY, f)))),
    );
    const manifest = JSON.parse((await text(`${output}/_manifest.json`))!);
    expect(manifest.input.objects).toBe(files.length);
    expect(await text(`${output}/_SUCCESS`)).toBe('');
    expect(await text(`${output}/_FAILED`)).toBeUndefined();
    expect(await text(`${output}/_CLAIM`)).toBeUndefined();
  });
});
