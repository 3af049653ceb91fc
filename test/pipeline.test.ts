import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { defineJob, definePipeline, InvalidJobError, iterate, runLocal } from '../sdk/index.js';
import { FIXTURES, MOBY, outputLines, tempDir } from './helpers.js';

const STEPS = path.join(FIXTURES, 'steps');
const sortedLines = (dir: string) => outputLines(dir).sort();
const filesUnder = (dir: string) =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [];

describe('multi-step jobs (definePipeline)', () => {
  it('give the same output as running their steps by hand, counters passed on as params', async () => {
    const dir = tempDir();
    const input = path.join(MOBY, 'data.txt');
    const opts = { splitSize: 300_000, workers: 2 };
    const scratch = path.join(dir, 'scratch');
    const piped = await runLocal(path.join(STEPS, 'pipeline.ts'), {
      input,
      output: path.join(dir, 'piped'),
      scratch,
      ...opts,
    });
    expect(piped.steps?.map((s) => s.manifest.job)).toEqual(['count', 'frequency']);
    expect(piped.manifest.step).toBe(1);
    expect(piped.manifest.steps).toBe(2);

    // Step 0 by hand, from the pipeline's own module.
    const first = await runLocal(path.join(STEPS, 'pipeline.ts'), {
      input,
      output: path.join(dir, 'one'),
      step: 0,
      ...opts,
    });
    expect([first.manifest.job, first.manifest.step, first.steps]).toEqual(['count', 0, undefined]);
    const lines = first.manifest.counters.lines!;
    expect(lines).toBeGreaterThan(20_000);
    await runLocal(path.join(STEPS, 'frequency.ts'), {
      input: path.join(dir, 'one'),
      output: path.join(dir, 'two'),
      params: { 'counters.lines': String(lines) },
      ...opts,
    });
    const byHand = sortedLines(path.join(dir, 'two'));
    expect(sortedLines(path.join(dir, 'piped'))).toEqual(byHand);
    expect(byHand.length).toBeGreaterThan(100);
    expect(JSON.parse(byHand[0]!).value.lines).toBe(lines);
    // The intermediate output lived in scratch and is gone.
    expect(filesUnder(scratch)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'piped', '_SUCCESS'))).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'piped')).filter((f) => f.startsWith('part-'))).toHaveLength(2);
  });

  it('refuses steps whose formats do not chain, and a completed output before running anything', async () => {
    const a = defineJob({ name: 'a', map: () => {}, reducers: 0, output: { format: 'jsonl' } });
    const b = defineJob({ name: 'b', map: () => {}, reducers: 0 });
    expect(() => definePipeline({ name: 'ab', steps: [a, b] })).toThrow(
      /step 2 \(b\) reads text but step 1 \(a\) writes jsonl: set its input.format to jsonl/,
    );
    expect(() => definePipeline({ name: 'none', steps: [] })).toThrow(InvalidJobError);
    // A step reading the pipeline's input is not chained to the step before it.
    const c = defineJob({ name: 'c', input: { from: 'pipeline' }, map: () => {}, reducers: 0 });
    expect(definePipeline({ name: 'ac', steps: [a, c] }).steps).toHaveLength(2);
    expect(() =>
      defineJob({ name: 'd', input: { from: 'elsewhere' as 'pipeline' }, map: () => {}, reducers: 0 }),
    ).toThrow(/input.from must be 'previous', 'pipeline' or \{ param: '<name>' \}/);
    // Nor is a step reading the locations a param names (tested in use by jobs-ml-text's tfidf apply).
    const e = defineJob({ name: 'e', input: { from: { param: 'apply' } }, map: () => {}, reducers: 0 });
    expect(definePipeline({ name: 'ae', steps: [a, e] }).steps).toHaveLength(2);
    expect(() => defineJob({ name: 'f', input: { from: { param: '' } }, map: () => {}, reducers: 0 })).toThrow(
      /input.from must be/,
    );
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, '_SUCCESS'), '');
    await expect(
      runLocal(path.join(STEPS, 'pipeline.ts'), { input: path.join(MOBY, 'data.txt'), output: dir, workers: 1 }),
    ).rejects.toMatchObject({ errorType: 'OutputExistsError' });
  });

  it('fail as a whole: _FAILED where the last step would write, nothing left between the steps', async () => {
    const dir = tempDir();
    const scratch = path.join(dir, 'scratch');
    await expect(
      runLocal(path.join(STEPS, 'failing.ts'), {
        input: path.join(MOBY, 'data.txt'),
        output: path.join(dir, 'out'),
        scratch,
        workers: 2,
        taskAttempts: 1,
      }),
    ).rejects.toMatchObject({
      errorType: 'UserCodeError',
      message: expect.stringMatching(/step two cannot read this/),
    });
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual(['_FAILED']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'out', '_FAILED'), 'utf8')).message).toMatch(/step two/);
    expect(filesUnder(scratch)).toEqual([]);
  });
});

describe('iterate (driver loops)', () => {
  it('stops when converged, or at maxIterations', async () => {
    const halve = { initial: 64, step: async (x: number) => x / 2 };
    const r = await iterate({ ...halve, converged: (a, b) => a - b < 1, maxIterations: 100 });
    expect(r).toEqual({ state: 0.5, iterations: 7, converged: true });
    const capped = await iterate({ ...halve, converged: () => false, maxIterations: 3 });
    expect(capped).toEqual({ state: 8, iterations: 3, converged: false });
    await expect(iterate({ ...halve, converged: () => true, maxIterations: 0 })).rejects.toThrow(/maxIterations/);
  });
});
