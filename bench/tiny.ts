/**
 * The start-up benchmark: `streaming run jobs/wordcount.ts` over one small file (a chapter of
 * Moby-Dick, ~12 KB) with the CLI's defaults, timed as a whole process like every other run:
 * what a user waits for while iterating on a job. Its bundle is cached by a warm-up run first,
 * as it is for a user's second run of an unchanged job. The row is the median of RUNS runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CLI, ROOT, type Run, type Runner, row, type Section } from './harness.js';

const BENCH = 'tiny job';
const JOB = 'jobs/wordcount.ts';
const RUNS = 7;
const TINY_INPUT = path.join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data', 'chapter_1.txt');

export function benchTinyJob(runner: Runner, out: (name: string) => string, cores: number): Section {
  const bytes = fs.statSync(TINY_INPUT).size;
  const args = (dir: string) => [CLI, 'run', JOB, '--input', TINY_INPUT, '--output', dir, '--overwrite', '--quiet'];
  runner.exec(process.execPath, args(out('tiny-warm-up'))); // the bundle into the cache
  const execs = Array.from({ length: RUNS }, (_, i) => runner.exec(process.execPath, args(out(`tiny-${i}`))));
  const sorted = [...execs].sort((a, b) => a.seconds - b.seconds);
  const median = sorted[Math.floor(RUNS / 2)]!;
  const rss = /peak RSS (\d+) MiB/.exec(median.stdout)?.[1];
  const run: Run = {
    ...row(BENCH, 'streaming', cores, 'tiny', bytes, median, rss ? Number(rss) : median.timeRssMiB, null),
    repetitions: execs.map((e) => e.seconds),
  };
  const spread = `${sorted[0]!.seconds.toFixed(2)}–${sorted[RUNS - 1]!.seconds.toFixed(2)} s`;
  return {
    bench: BENCH,
    runs: [run],
    checks: [],
    ratios: {},
    notes: [`tiny job: median of ${RUNS} runs over one ${(bytes / 1e3).toFixed(0)} KB file (${spread}), CLI defaults`],
  };
}
