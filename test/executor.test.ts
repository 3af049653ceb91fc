/**
 * The executor API on the local engine: map and mapReduce over JSON values and over objects,
 * functions found in their module by their exported name; runLocal() of a job object defined in
 * another module; the documented parameter sweep run as a user runs it; clear failures for a
 * function that is not an export and for a driver left unguarded.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { best, train } from '../docs/examples/parameter-sweep.mjs';
import { executor, JobFailedError, runLocal } from '../sdk/index.js';
import { lines, notExported, shout, square, total } from './fixtures/executor-fns.js';
import { FIXTURES, outputLines, ROOT, tempDir } from './helpers.js';

const FNS = path.join(FIXTURES, 'executor-fns.ts');
const SWEEP = path.join(ROOT, 'docs', 'examples', 'parameter-sweep.mjs');

describe('executor on the local engine', () => {
  it('maps a function over JSON inputs, results in input order, spread over map tasks', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => i - 7);
    const call = executor({ module: FNS, workers: 2, chunkSize: 3 }).map(square, inputs);
    expect(await call).toEqual(inputs.map((n) => n * n));
    const manifest = await call.summary();
    expect(manifest.map.tasks).toBeGreaterThanOrEqual(10); // ~40 / 3 inputs per task
    expect(manifest.reduce.tasks).toBe(0);
  });

  it('mapReduces: every result, in input order, to one reduce call', async () => {
    const inputs = [3, 1, 4, 1, 5, 9, 2, 6];
    const got = await executor({ module: FNS, workers: 2, chunkSize: 1 }).mapReduce(square, inputs, total);
    expect(got).toBe(total(inputs.map(square)));
  });

  it('maps over objects, each read whole, results in URI order', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'in'));
    const files = { 'b.txt': 'x\ny\n', 'a.txt': 'one\n', 'c.txt': 'p\nq\nr\ns\n' };
    for (const [f, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'in', f), body);
    const got = await executor({ module: FNS, workers: 2 }).map(lines, { objects: `${path.join(dir, 'in')}/` });
    expect(got).toEqual([
      { name: 'a.txt', lines: 1 },
      { name: 'b.txt', lines: 2 },
      { name: 'c.txt', lines: 4 },
    ]);
  });

  it('runs the documented parameter sweep as a user does (node docs/examples/parameter-sweep.mjs)', () => {
    const r = spawnSync(process.execPath, [SWEEP], { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const grid = r.stdout.split('\n').filter((l) => l.startsWith('rate '));
    expect(grid).toHaveLength(15);
    // The same computation in this process, without the engine.
    const first = train({ rate: 0.001, steps: 10 });
    expect(grid[0]).toBe(`rate 0.001\tsteps 10\tloss ${first.loss.toPrecision(4)}`);
    const all = [0.001, 0.01, 0.03, 0.06, 0.1].flatMap((rate) =>
      [10, 100, 1000].map((steps) => train({ rate, steps })),
    );
    const w = best(all);
    expect(r.stdout).toContain(`best: rate ${w.rate}, ${w.steps} steps: y = ${w.a.toFixed(3)}x + ${w.b.toFixed(3)}`);
  });

  it('fails clearly for a function its module does not export under its name', async () => {
    const call = executor({ module: FNS, workers: 1, taskAttempts: 3 }).map(notExported, [1]);
    await expect(call).rejects.toThrow(JobFailedError);
    await expect(call).rejects.toMatchObject({
      errorType: 'InvalidJobError',
      message: expect.stringContaining('"hidden" is not a function exported by'),
    });
  });

  it('fails clearly, without retrying, when the module runs its driver in the workers', async () => {
    const double = (n: number) => 2 * n;
    const call = executor({ module: path.join(FIXTURES, 'unguarded-driver.ts'), workers: 1 }).map(double, [1]);
    await expect(call).rejects.toMatchObject({
      errorType: 'InvalidJobError',
      message: expect.stringMatching(
        /failed to load in a worker thread.*executor call was made inside a Streaming task.*isMain/s,
      ),
    });
  });
});

describe('runLocal() of a job object', () => {
  it('runs a job defined and exported in another module, found there by its name', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'ab\ncde\n');
    const r = await runLocal(shout, { input: path.join(dir, 'in.txt'), output: path.join(dir, 'out'), workers: 1 });
    expect(r.jobId).toMatch(/^shout-/);
    expect(outputLines(path.join(dir, 'out')).sort()).toEqual(['AB\t2', 'CDE\t3']);
  });
});
