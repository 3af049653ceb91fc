/**
 * The user-written word count benchmark: bench/jobs/user-wordcount.ts (a `map` of the user's
 * own, `line.toLowerCase().split(/[^\p{L}\p{N}_]+/u)`, `emit(word, 1)`, its own sum as combine
 * and reduce: the general path, nothing the engine recognises) beside the plain single-threaded
 * Node script doing the same with a `Map` (bench/baselines/wordcount-plain.mjs), at 1 worker and
 * one per core, on the text corpus and on its skewed form (the same words, short lines in the
 * first half and long ones in the second: equal bytes that are not equal work).
 * Ratios: Streaming at 1 worker over the script; at N workers over N × the script (linear
 * scaling is 1.0). Streaming and the script alternate A-B-B-A; each row is the median of its
 * repetitions. The script's output is the yardstick: every Streaming output must equal it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Corpus } from './corpus.js';
import {
  alternate,
  type Check,
  medians,
  ROOT,
  type Run,
  type Runner,
  row,
  runStreaming,
  type Section,
  warmPageCache,
} from './harness.js';
import { compareCounts, partFiles, readCounts } from './wordcount.js';

export const BENCH = 'user word count';
const JOB = 'bench/jobs/user-wordcount.ts';
/** The plain single-threaded script: the yardstick of this benchmark. */
export const PLAIN = 'plain script';
const SCRIPT = path.join(ROOT, 'bench', 'baselines', 'wordcount-plain.mjs');

export function benchUserWordCount(
  runner: Runner,
  uniform: Corpus,
  skewed: Corpus,
  out: (name: string) => string,
  cores: number,
  repeat: number,
): Section {
  const counts = [...new Set([1, cores])];
  const corpora = [
    { corpus: uniform, which: 'big' as const, name: 'uniform' },
    { corpus: skewed, which: 'skewed' as const, name: 'skewed' },
  ];
  const repetitions: Run[] = [];
  for (let round = 0; round < repeat; round++)
    for (const { corpus, which, name } of corpora)
      alternate(
        counts,
        round,
        (w) => repetitions.push(runStreaming(runner, BENCH, JOB, corpus, which, out(`uwc-${name}-${w}`), w)),
        // The script has one thread: it runs in both B slots, and stands for N × its speed at N.
        () => repetitions.push(plain(runner, corpus, which, out(`uwc-plain-${name}.tsv`))),
      );
  const runs = medians(repetitions);
  const checks: Check[] = [];
  for (const { which, name } of corpora) {
    const expected = readCounts([out(`uwc-plain-${name}.tsv`)]).counts;
    for (const w of counts)
      checks.push(
        compareCounts(
          BENCH,
          `streaming (${w === 1 ? '1 worker' : `${w} workers`}, ${name}) vs the plain script`,
          expected,
          partFiles(out(`uwc-${name}-${w}`)),
        ),
      );
    if (which === 'skewed') {
      // The skewed corpus holds the same words as the uniform one.
      const uniformCounts = readCounts([out('uwc-plain-uniform.tsv')]).counts;
      checks.push(
        compareCounts(BENCH, 'plain script, skewed vs uniform', uniformCounts, [out(`uwc-plain-${name}.tsv`)]),
      );
    }
  }
  const ratios: Record<string, number> = {};
  for (const { which, name } of corpora) {
    const base = runs.find((r) => r.program === PLAIN && r.corpus === which);
    for (const w of counts) {
      const s = runs.find((r) => r.program === 'streaming' && r.workers === w && r.corpus === which);
      if (s && base)
        ratios[`streaming (${w} workers, ${name})/(${w} × plain script)`] = s.mbPerSec / (w * base.mbPerSec);
    }
  }
  return { bench: BENCH, runs, checks, ratios, notes: [] };
}

function plain(runner: Runner, corpus: Corpus, which: Run['corpus'], output: string): Run {
  fs.rmSync(output, { force: true });
  warmPageCache(corpus.dir);
  const e = runner.exec(process.execPath, [SCRIPT, '--json', '--output', output, corpus.dir]);
  const self = JSON.parse(e.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  return row(BENCH, PLAIN, 1, which, corpus.bytes, e, e.timeRssMiB, self);
}
