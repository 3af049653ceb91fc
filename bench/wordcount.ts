/**
 * The word count benchmark: `streaming run jobs/wordcount.ts` beside its baselines, all on the
 * same text corpus in one invocation:
 *   - Streaming's local engine with 1 worker and one per core, and with one per core again on a
 *     corpus half the size (does memory follow the input?); the same bytes as short documents
 *     at 1 worker and one per core, beside the hand-written ones,
 *   - the project's hand-written baseline `bench/baselines/wordcount.mjs` (1 worker, one per
 *     core), whose output is also the yardstick for the others',
 *   - where `../shared` exists (the repository's development setup), the shared reference
 *     `../shared/reference/wordcount-baseline.mjs` too, same flags, both rows printed,
 *   - the Unix pipeline `cat | tr -cs | tr | sort | uniq -c`, all under LC_ALL=C.
 * Streaming and the hand-written ones run in A-B-B-A order, each pair's order flipping round by
 * round (the short documents' too), so that drift in the machine's speed touches both alike; the
 * whole round is repeated and each row is the median of its repetitions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Corpus, WARM_UP_TEXT } from './corpus.js';
import {
  alternate,
  type Check,
  log,
  medians,
  plural,
  ROOT,
  type Run,
  type Runner,
  row,
  runStreaming,
  type Section,
  streamingArgs,
  warmPageCache,
} from './harness.js';

const BENCH = 'word count';
const JOB = 'jobs/wordcount.ts';
/** The project's own hand-written word count: always there, the yardstick and the outputs' check. */
const BASELINE = path.join(ROOT, 'bench', 'baselines', 'wordcount.mjs');
/** The shared reference, beside the repository where it was developed; a user's clone has none. */
const REFERENCE = path.resolve(ROOT, '../shared/reference/wordcount-baseline.mjs');

/** Runs the word count benchmark; `half` is the first half of `big`'s files. */
export function benchWordCount(
  runner: Runner,
  big: Corpus,
  half: Corpus,
  short: Corpus,
  out: (name: string) => string,
  cores: number,
  repeat: number,
): Section {
  const haveReference = fs.existsSync(REFERENCE);
  const notes: string[] = [];
  if (!haveReference) {
    notes.push(`the shared reference ${REFERENCE} is absent (a user's clone, without ../shared): its rows are skipped`);
    log(notes[0]!);
  }
  // Warm-up, not measured: the job's bundle into Streaming's bundle cache (where a user's second
  // run of an unchanged job finds it too).
  runner.exec(process.execPath, streamingArgs(JOB, WARM_UP_TEXT, out('wc-warm-up'), 1));

  const counts = [...new Set([1, cores])];
  let referenceOnShort = haveReference;
  const repetitions: Run[] = [];
  const streaming = (input: Corpus, which: Run['corpus'], name: string, w: number) =>
    repetitions.push(runStreaming(runner, BENCH, JOB, input, which, out(name), w));
  for (let round = 0; round < repeat; round++) {
    alternate(
      counts,
      round,
      (w) => streaming(big, 'big', `wc-streaming-${w}`, w),
      (w) => {
        repetitions.push(handWritten(runner, 'hand-written', BASELINE, big, out(`wc-baseline-${w}.tsv`), w));
        if (haveReference)
          repetitions.push(handWritten(runner, 'reference', REFERENCE, big, out(`wc-reference-${w}.tsv`), w));
      },
    );
    streaming(half, 'half', 'wc-streaming-half', cores);
    repetitions.push(unixPipeline(runner, big));
    // The same bytes as short documents, at 1 worker and one per core: per-object costs.
    alternate(
      counts,
      round,
      (w) => streaming(short, 'short', `wc-streaming-short-${w}`, w),
      (w) => {
        repetitions.push(
          handWritten(runner, 'hand-written', BASELINE, short, out(`wc-baseline-short-${w}.tsv`), w, 'short'),
        );
        if (referenceOnShort)
          try {
            repetitions.push(
              handWritten(runner, 'reference', REFERENCE, short, out(`wc-reference-short-${w}.tsv`), w, 'short'),
            );
          } catch (e) {
            // The shared reference is not ours to mend (at 1 GiB, 262,144 files overflow its listing's stack).
            referenceOnShort = false;
            const why = /^\w*Error\b.*$/m.exec((e as Error).message)?.[0] ?? 'see its output';
            notes.push(`the shared reference failed on the short documents (${why}): its row there is left out`);
            log(notes.at(-1)!);
          }
      },
    );
  }
  const runs = medians(repetitions);

  // Every output on the big corpus against the project's baseline at one worker per core.
  const checks: Check[] = [];
  const expected = readCounts([out(`wc-baseline-${cores}.tsv`)]).counts;
  const against = `hand-written (${plural(cores, 'worker')})`;
  for (const w of counts)
    checks.push(
      compare(`streaming (${plural(w, 'worker')}) vs ${against}`, expected, partFiles(out(`wc-streaming-${w}`))),
    );
  if (cores > 1) checks.push(compare(`hand-written (1 worker) vs ${against}`, expected, [out('wc-baseline-1.tsv')]));
  // The short documents hold the same words.
  for (const w of counts) {
    const on = `short documents, ${plural(w, 'worker')}`;
    checks.push(compare(`streaming (${on}) vs ${against}`, expected, partFiles(out(`wc-streaming-short-${w}`))));
    checks.push(compare(`hand-written (${on}) vs ${against}`, expected, [out(`wc-baseline-short-${w}.tsv`)]));
    if (referenceOnShort)
      checks.push(compare(`reference (${on}) vs ${against}`, expected, [out(`wc-reference-short-${w}.tsv`)]));
  }
  if (haveReference) {
    for (const w of counts)
      checks.push(
        compare(`reference (${plural(w, 'worker')}) vs ${against}`, expected, [out(`wc-reference-${w}.tsv`)]),
      );
  }

  const find = (program: string, workers: number | null) =>
    runs.find((r) => r.program === program && r.workers === workers && r.corpus === 'big');
  const ratios: Record<string, number> = {};
  for (const w of counts) {
    const s = find('streaming', w);
    for (const yardstick of ['hand-written', 'reference']) {
      const r = find(yardstick, w);
      if (s && r) ratios[`streaming/${yardstick}, ${plural(w, 'worker')}`] = s.mbPerSec / r.mbPerSec;
    }
  }
  const onShort = (program: string, w: number) =>
    runs.find((r) => r.program === program && r.workers === w && r.corpus === 'short');
  for (const w of counts)
    for (const yardstick of ['hand-written', 'reference']) {
      const s = onShort('streaming', w);
      const r = onShort(yardstick, w);
      if (s && r) ratios[`streaming/${yardstick}, short documents, ${plural(w, 'worker')}`] = s.mbPerSec / r.mbPerSec;
    }
  const fastest = find('streaming', cores);
  const pipeline = find('unix pipeline', null);
  if (fastest && pipeline)
    ratios[`streaming (${plural(cores, 'worker')})/unix pipeline`] = fastest.mbPerSec / pipeline.mbPerSec;
  return { bench: BENCH, runs, checks, ratios, notes };
}

/** A hand-written word count (the project's baseline, or the shared reference): same flags, same output. */
function handWritten(
  runner: Runner,
  program: string,
  script: string,
  corpus: Corpus,
  out: string,
  workers: number,
  which: Run['corpus'] = 'big',
): Run {
  // It writes its output, as Streaming does, so that both pay for it (and the check can use it).
  warmPageCache(corpus.dir);
  const e = runner.exec(process.execPath, [
    script,
    '--workers',
    String(workers),
    '--json',
    '--output',
    out,
    corpus.dir,
  ]);
  const self = JSON.parse(e.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  return row(BENCH, program, workers, which, corpus.bytes, e, e.timeRssMiB, self);
}

function unixPipeline(runner: Runner, corpus: Corpus): Run {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const script = `cat ${corpus.files.map(quote).join(' ')} | tr -cs 'A-Za-z0-9_' '\\n' | tr A-Z a-z | sort | uniq -c > /dev/null`;
  // LC_ALL=C for every command of it: byte semantics, and sort's fast byte comparison.
  warmPageCache(corpus.dir);
  const e = runner.exec('/bin/sh', ['-c', script], { ...process.env, LC_ALL: 'C' });
  return row(BENCH, 'unix pipeline', null, 'big', corpus.bytes, e, e.timeRssMiB, null);
}

// ---------------------------------------------------------------------------------------------
// The output check.

/** Word → count of `word<TAB>count` files; `duplicates` are words found on more than one line. */
export function readCounts(files: string[]): { counts: Map<string, number>; duplicates: string[] } {
  const counts = new Map<string, number>();
  const duplicates: string[] = [];
  for (const f of files)
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const tab = line.lastIndexOf('\t');
      const word = line.slice(0, tab);
      if (counts.has(word)) duplicates.push(word);
      counts.set(word, (counts.get(word) ?? 0) + Number(line.slice(tab + 1)));
    }
  return { counts, duplicates };
}

export function partFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('part-r-'))
    .sort()
    .map((f) => path.join(dir, f));
}

function compare(compared: string, expected: Map<string, number>, files: string[]): Check {
  return compareCounts(BENCH, compared, expected, files);
}

/** `word<TAB>count` files against expected counts: the same words and counts, no word twice. */
export function compareCounts(bench: string, compared: string, expected: Map<string, number>, files: string[]): Check {
  const { counts: got, duplicates } = readCounts(files);
  const differing: string[] = [];
  for (const [w, c] of expected) if (got.get(w) !== c) differing.push(w);
  for (const w of got.keys()) if (!expected.has(w)) differing.push(w);
  differing.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let tokens = 0;
  for (const c of got.values()) tokens += c;
  return {
    bench,
    compared,
    agree: differing.length === 0 && duplicates.length === 0,
    summary: `${got.size} words, ${tokens} tokens`,
    differences: [
      ...differing
        .slice(0, 20)
        .map((w) => `${JSON.stringify(w)}: expected ${expected.get(w) ?? 'none'}, got ${got.get(w) ?? 'none'}`),
      ...duplicates.slice(0, 20).map((w) => `${JSON.stringify(w)} is on more than one line of the output`),
    ],
  };
}
