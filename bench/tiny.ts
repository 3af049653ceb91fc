/**
 * The start-up benchmark: `streaming run jobs/wordcount.ts` over one small file (a chapter of
 * Moby-Dick, ~12 KB) with the CLI's defaults (one worker per core), timed as a whole process like every other run:
 * what a user waits for while iterating on a job. Its bundle is cached by a warm-up run first,
 * as it is for a user's second run of an unchanged job. The row is the median of RUNS runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { medians, ROOT, type Runner, runStreaming, type Section, streamingArgs } from './harness.js';

const BENCH = 'tiny job';
const JOB = 'jobs/wordcount.ts';
const RUNS = 7;
const TINY_INPUT = path.join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data', 'chapter_1.txt');

export function benchTinyJob(runner: Runner, out: (name: string) => string, cores: number): Section {
  const bytes = fs.statSync(TINY_INPUT).size;
  const input = { dir: TINY_INPUT, bytes };
  // --workers one per core: what the CLI's default is.
  runner.exec(process.execPath, streamingArgs(JOB, TINY_INPUT, out('tiny-warm-up'), cores)); // the bundle into the cache
  const run = medians(
    Array.from({ length: RUNS }, (_, i) => runStreaming(runner, BENCH, JOB, input, 'tiny', out(`tiny-${i}`), cores)),
  )[0]!;
  const fastest = Math.min(...run.repetitions);
  const slowest = Math.max(...run.repetitions);
  const spread = `${fastest.toFixed(2)}–${slowest.toFixed(2)} s`;
  return {
    bench: BENCH,
    runs: [run],
    checks: [],
    ratios: {},
    notes: [`tiny job: median of ${RUNS} runs over one ${(bytes / 1e3).toFixed(0)} KB file (${spread}), CLI defaults`],
  };
}
