/**
 * The stream-program benchmark: the Hadoop Streaming tutorial's Python word count
 * (examples/wordcount-python) as a Streaming job, beside the same programs piped by hand, all on
 * the same text corpus:
 *   - `streaming run` at 1 worker and one per core, as the example defines it (the reducer is
 *     also the combiner);
 *   - the same at 1 worker without the combiner: exactly the programs of the hand pipe, so its
 *     time over the pipe's is the engine's overhead (bundling, splitting, the pipes to and from
 *     the programs, our sort and shuffle in place of GNU sort's, writing parts and manifest);
 *   - the hand pipe `cat | python3 mapper.py | LC_ALL=C sort | python3 reducer.py`, without
 *     PYTHONUNBUFFERED in its environment, as the engine runs its programs.
 * Every output is checked against the hand pipe's. Streaming and the pipe alternate (A-B-B-A),
 * and each row is the median of the repetitions.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Corpus, WARM_UP_TEXT } from './corpus.js';
import {
  type Check,
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

export const BENCH = 'stream word count (python)';
/** The same programs without the combiner, a benchmark of its own (it has no baseline of its own kind). */
const PLAIN = `${BENCH}, no combiner`;
const EXAMPLE = path.join(ROOT, 'examples', 'wordcount-python');
const JOB = path.join(EXAMPLE, 'wordcount.ts');
/** Python programs are slower than the engine by far: their corpus is capped, not the whole --size-mib. */
export const STREAM_MAX_MIB = 256;

/** Whether `python3` runs here: the example's programs need it (the rest of the bench does not). */
export function hasPython3(): boolean {
  return spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function benchStreamWordCount(
  runner: Runner,
  corpus: Corpus,
  out: (name: string) => string,
  cores: number,
  repeat: number,
): Section {
  const notes: string[] = [];
  // The same programs without the combiner: what the hand pipe runs.
  const plainJob = out('wordcount-python-plain.ts');
  fs.writeFileSync(
    plainJob,
    `import { defineJob } from 'streaming';\nexport default defineJob(${JSON.stringify({
      name: 'wordcount-python-plain',
      mapper: `python3 ${path.join(EXAMPLE, 'mapper.py')}`,
      reducer: `python3 ${path.join(EXAMPLE, 'reducer.py')}`,
      reducers: 4,
    })});\n`,
  );
  // Warm-up, not measured: both bundles into the bundle cache, Python's files into the page cache.
  for (const job of [JOB, plainJob])
    runner.exec(process.execPath, streamingArgs(job, WARM_UP_TEXT, out('stream-warm-up'), 1));

  const counts = [...new Set([1, cores])];
  const repetitions: Run[] = [];
  const measures = [
    ...counts.map(
      (w) => () => repetitions.push(runStreaming(runner, BENCH, JOB, corpus, 'big', out(`stream-${w}`), w)),
    ),
    () => repetitions.push(handPipe(runner, corpus, out('stream-hand.tsv'))),
    () => repetitions.push(runStreaming(runner, PLAIN, plainJob, corpus, 'big', out('stream-plain-1'), 1)),
  ];
  // Alternating order round by round (A-B-C, C-B-A), so drift in the machine's speed touches all alike.
  for (let round = 0; round < repeat; round++)
    for (const m of round % 2 === 0 ? measures : [...measures].reverse()) m();
  const runs = medians(repetitions);

  const expected = readCounts([out('stream-hand.tsv')]);
  const checks: Check[] = [
    ...counts.map((w) =>
      compare(`streaming (${plural(w, 'worker')}) vs the hand pipe`, expected, partFiles(out(`stream-${w}`))),
    ),
    compare('streaming, no combiner (1 worker) vs the hand pipe', expected, partFiles(out('stream-plain-1'))),
  ];

  const find = (bench: string, program: string, workers: number | null) =>
    runs.find((r) => r.bench === bench && r.program === program && r.workers === workers && r.corpus === 'big');
  const pipe = find(BENCH, 'hand pipe', null);
  const ratios: Record<string, number> = {};
  for (const w of counts) {
    const s = find(BENCH, 'streaming', w);
    if (s && pipe) ratios[`streaming (${plural(w, 'worker')})/hand pipe`] = s.mbPerSec / pipe.mbPerSec;
  }
  const plain = find(PLAIN, 'streaming', 1);
  if (plain && pipe) {
    ratios['streaming, no combiner (1 worker)/hand pipe'] = plain.mbPerSec / pipe.mbPerSec;
    const overhead = plain.seconds - pipe.seconds;
    notes.push(
      `stream word count: the engine's overhead over the hand pipe, same programs, 1 worker: ${overhead.toFixed(2)} s ` +
        `(${((overhead / pipe.seconds) * 100).toFixed(0)}% of the pipe's ${pipe.seconds.toFixed(2)} s)`,
    );
  }
  return { bench: BENCH, runs, checks, ratios, notes };
}

/** The programs piped by hand, as the tutorial runs them to test them: one process each, sort between. */
function handPipe(runner: Runner, corpus: Corpus, out: string): Run {
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  // Without PYTHONUNBUFFERED, as the engine runs programs (a line per system call would slow the pipe's mapper 2×).
  const script =
    `unset PYTHONUNBUFFERED; cat ${corpus.files.map(q).join(' ')} | python3 ${q(path.join(EXAMPLE, 'mapper.py'))} 2>/dev/null` +
    ` | LC_ALL=C sort | python3 ${q(path.join(EXAMPLE, 'reducer.py'))} > ${q(out)}`;
  warmPageCache(corpus.dir);
  const e = runner.exec('/bin/sh', ['-c', script]);
  return row(BENCH, 'hand pipe', null, 'big', corpus.bytes, e, e.timeRssMiB, null);
}

function readCounts(files: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of files)
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const tab = line.lastIndexOf('\t');
      const word = line.slice(0, tab);
      counts.set(word, (counts.get(word) ?? 0) + Number(line.slice(tab + 1)));
    }
  return counts;
}

function partFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('part-r-'))
    .sort()
    .map((f) => path.join(dir, f));
}

function compare(compared: string, expected: Map<string, number>, files: string[]): Check {
  const got = readCounts(files);
  const differing = [...new Set([...expected.keys(), ...got.keys()])].filter((w) => got.get(w) !== expected.get(w));
  let tokens = 0;
  for (const c of got.values()) tokens += c;
  return {
    bench: BENCH,
    compared,
    agree: differing.length === 0,
    summary: `${got.size} words, ${tokens} tokens`,
    differences: differing
      .slice(0, 20)
      .map((w) => `${JSON.stringify(w)}: expected ${expected.get(w) ?? 'none'}, got ${got.get(w) ?? 'none'}`),
  };
}
