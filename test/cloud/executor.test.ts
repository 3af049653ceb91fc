/**
 * The executor API against a deployed StreamingJob whose job is a module of executor functions
 * (docs/examples/parameter-sweep.mjs), run by the cloud harness: the deployed definition, the
 * bundled Lambda handlers, S3 through each role's IAM policy.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { best, train } from '../../docs/examples/parameter-sweep.mjs';
import { executor, JobFailedError } from '../../sdk/index.js';
import { type DeployedJob, JOBS } from './harness.js';
import { keys, useCloud } from './support.js';

const cloud = useCloud();
let sweep: DeployedJob;

beforeAll(async () => {
  sweep = await cloud.harness.job(JOBS.sweep);
}, 300_000);

const grid = [0.001, 0.01, 0.05].flatMap((rate) => [10, 200].map((steps) => ({ rate, steps })));

describe('executor on a deployed StreamingJob', () => {
  it('maps and mapReduces through the deployed definition, about one invocation per input, and cleans up', async () => {
    const ex = executor({
      deployed: 'Sweep',
      registry: sweep.registryLookup,
      stepFunctions: sweep.stepFunctions(),
    });
    const call = ex.map(train, grid);
    expect(await call).toEqual(grid.map(train));
    const manifest = await call.summary();
    // One input per task, about: splits are byte ranges of the input lines (docs/executor.md).
    expect(Math.abs(manifest.map.tasks - grid.length)).toBeLessThanOrEqual(1);
    expect(await ex.mapReduce(train, grid, best)).toEqual(best(grid.map(train)));
    // Inputs and results are deleted once read; the job's scratch by Commit.
    expect(await keys(`s3://${sweep.bucket}/input/executor/`)).toEqual([]);
    expect(await keys(`s3://${sweep.bucket}/output/executor/`)).toEqual([]);
    expect(await keys(`s3://${sweep.bucket}/scratch/`)).toEqual([]);
  });

  it('fails the run for a function the deployed module does not export; the task says which, unretried', async () => {
    const ex = executor({ deployed: 'Sweep', registry: sweep.registryLookup, stepFunctions: sweep.stepFunctions() });
    const simulate = (p: { rate: number }) => p.rate;
    const before = sweep.childFailures.length;
    await expect(ex.map(simulate, [{ rate: 1 }])).rejects.toThrow(JobFailedError);
    // On AWS the Map fails with States.ExceedToleratedFailureThreshold; the task's own error is its child's.
    const failures = sweep.childFailures.slice(before).map((f) => f.error);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      Error: 'InvalidJobError',
      Cause: expect.stringContaining('\\"simulate\\" is not a function exported by'),
    });
  });
});
