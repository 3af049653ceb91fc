/**
 * Abort in the deployed job (bundled handlers, emulated Lambda, IAM-guarded S3): it names the
 * real error when the Distributed Map reports only that it failed (the harness hands the Catch
 * States.ExceedToleratedFailureThreshold, as Step Functions does), and it works when the job
 * module cannot even load (its bundle's handlers must still start, and Abort never loads the job).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { type DeployedJob, JOBS, unique } from './harness.js';
import { keys, text, upload, useCloud } from './support.js';

const cloud = useCloud();
let wordCount: DeployedJob;

beforeAll(async () => {
  wordCount = await cloud.harness.job(JOBS.wordCount);
  // Two objects; one has invalid UTF-8, which a strict run refuses (MalformedRecordError, in its map task).
  await upload(cloud.server, wordCount.bucket, 'input/abort/good.txt', 'call me Ishmael\n'.repeat(1000));
  await upload(cloud.server, wordCount.bucket, 'input/abort/bad.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
}, 300_000);

describe('Abort, deployed', () => {
  it('names the real error (from the failed attempt’s record) when the Map reports States.ExceedToleratedFailureThreshold', async () => {
    const output = `s3://${wordCount.bucket}/output/${unique('threshold')}`;
    const { result, attempts } = await wordCount.execute({
      input: [`s3://${wordCount.bucket}/input/abort/`],
      output,
      strictUtf8: true,
      splitSize: 1000,
    });
    await expect(result).rejects.toThrow();
    expect(attempts.abort).toBe(1);
    const marker = JSON.parse((await text(`${output}/_FAILED`))!);
    expect(marker).toMatchObject({
      error: 'MalformedRecordError',
      message: expect.stringMatching(/bad\.txt near byte 0: invalid UTF-8/),
      task: { phase: 'map', index: expect.any(Number) },
      surfacedAs: { error: 'States.ExceedToleratedFailureThreshold' },
    });
    expect(marker.stack.join('\n')).toMatch(/MalformedRecordError/);
    expect(await keys(`${output}/`)).toEqual([`${output}/_FAILED`]);
  });

  it('a job module that throws on load: its tasks fail with InvalidJobError, and Abort still writes _FAILED', async () => {
    const job = await cloud.harness.job(JOBS.unloadable);
    await upload(cloud.server, job.bucket, 'input/one.txt', 'one line\n');
    const output = `s3://${job.bucket}/output/${unique('unloadable')}`;
    const { result, attempts } = await job.execute({ input: [`s3://${job.bucket}/input/`], output });
    await expect(result).rejects.toThrow(/threw while loading: cannot load the tokenizer model/);
    expect(attempts).toMatchObject({ plan: 1, abort: 1 }); // InvalidJobError: not retried
    expect(JSON.parse((await text(`${output}/_FAILED`))!)).toMatchObject({
      error: 'InvalidJobError',
      message: expect.stringMatching(/^The job module threw while loading: cannot load the tokenizer model/),
    });
    expect(await keys(`${output}/`)).toEqual([`${output}/_FAILED`]);
  });
});
