/**
 * `npm run bench`: every local benchmark in one invocation, each beside its baselines, on
 * corpora of real text from the dataset packages (bench/corpus.ts):
 *   - word count (bench/wordcount.ts): the project's hand-written bench/baselines/wordcount.mjs,
 *     the shared reference ../shared/reference/wordcount-baseline.mjs where it exists, and the
 *     Unix pipeline;
 *   - inverted index and tf-idf (bench/documents.ts): hand-written Node programs
 *     (bench/baselines/);
 *   - logistic regression training (bench/logistic.ts): seconds per iteration beside a run of
 *     the tf-idf job over the same messages.
 * Every program is timed the same way: wall clock of the whole child process, spawn to exit, so
 * start-up, bundling and writing the output count; MB/s = corpus bytes / 1e6 / seconds.
 * Each row is the median of repeated runs (--repeat): three for word count, whose margins are
 * the tightest, one for the document jobs, whose runs take 30-90 s each at 1 GiB.
 *
 *   npm run bench [-- --size-mib 1024] [--quick] [--repeat N] [--only tiny-job,word-count,user-word-count,inverted-index,tf-idf,stream-word-count,logistic-regression] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { corpus, halfCorpus, shortDocuments, skewedCorpus } from './corpus.js';
import { benchDocuments, DOCUMENT_BENCHES } from './documents.js';
import { describe, log, mibOf, plural, QUIET, type Run, Runner, type Section, table } from './harness.js';
import { benchLogistic, MAX_MIB } from './logistic.js';
import { benchStreamWordCount, hasPython3, STREAM_MAX_MIB } from './stream.js';
import { benchTinyJob } from './tiny.js';
import { benchUserWordCount, PLAIN, BENCH as USER_WORD_COUNT } from './user-wordcount.js';
import { benchWordCount } from './wordcount.js';

const BENCHES = [
  'tiny-job',
  'word-count',
  'user-word-count',
  ...DOCUMENT_BENCHES.map((b) => b.bench.replace(/\W+/g, '-')),
  'stream-word-count',
  'logistic-regression',
];

const USAGE = `Usage: npm run bench -- [--size-mib N] [--quick] [--repeat N] [--only NAMES] [--json]

  --size-mib N  size of each corpus in MiB (word count also runs on the first half;
                stream word count takes at most ${STREAM_MAX_MIB}, logistic regression ${MAX_MIB})  [default: 1024]
  --quick       a smoke run: 64 MiB, every measurement once
  --repeat N    runs of each measurement; a row is their median  [default: 3 for both word counts, 1 for the others]
  --only NAMES  some of the benchmarks, comma-separated: ${BENCHES.join(', ')}
  --json        print every figure as one JSON object instead of the table
`;

function options(): {
  mib: number;
  json: boolean;
  only: string[];
  repeat: { wordCount: number; userWordCount: number; documents: number };
} {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string' },
      quick: { type: 'boolean' },
      repeat: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const mib = values['size-mib'] === undefined ? (values.quick ? 64 : 1024) : Number(values['size-mib']);
  if (!Number.isInteger(mib) || mib < 2) throw new Error(`--size-mib takes a whole number of MiB >= 2\n${USAGE}`);
  const only = values.only === undefined ? BENCHES : values.only.split(',').map((s) => s.trim());
  const unknown = only.filter((b) => !BENCHES.includes(b));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}: choose from ${BENCHES.join(', ')}`);
  const repeat = values.repeat === undefined ? undefined : Number(values.repeat);
  if (repeat !== undefined && !(Number.isInteger(repeat) && repeat >= 1))
    throw new Error(`--repeat takes a whole number >= 1\n${USAGE}`);
  const times = (byDefault: number) => repeat ?? (values.quick ? 1 : byDefault);
  return {
    mib,
    json: values.json === true,
    only,
    repeat: { wordCount: times(3), userWordCount: times(3), documents: times(1) },
  };
}

async function main(): Promise<number> {
  const { mib, json, only, repeat } = options();
  const cores = os.availableParallelism();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-bench-'));
  const out = (name: string) => path.join(tmp, name);
  try {
    const runner = new Runner(tmp);
    const sections: Section[] = [];
    const corpora: Record<string, { dir: string; files: number; bytes: number; sources: string[] }> = {};
    log(`${plural(cores, 'core')}, Node ${process.version}`);

    if (only.includes('tiny-job')) {
      log('tiny job: warming up …');
      sections.push(benchTinyJob(runner, out, cores));
    }
    if (only.includes('word-count')) {
      const big = corpus('text', mib);
      const half = halfCorpus(big);
      const short = shortDocuments(big);
      corpora.text = { dir: big.dir, files: big.files.length, bytes: big.bytes, sources: big.sources };
      log('word count: warming up …');
      sections.push(benchWordCount(runner, big, half, short, out, cores, repeat.wordCount));
    }
    if (only.includes('user-word-count')) {
      const text = corpus('text', mib);
      const skewed = skewedCorpus(text);
      corpora.text ??= { dir: text.dir, files: text.files.length, bytes: text.bytes, sources: text.sources };
      corpora.skewed = { dir: skewed.dir, files: skewed.files.length, bytes: skewed.bytes, sources: text.sources };
      log('user word count: warming up …');
      sections.push(benchUserWordCount(runner, text, skewed, out, cores, repeat.userWordCount));
    }
    const documentBenches = DOCUMENT_BENCHES.filter((b) => only.includes(b.bench.replace(/\W+/g, '-')));
    if (documentBenches.length) {
      const docs = corpus('documents', mib);
      corpora.documents = { dir: docs.dir, files: docs.files.length, bytes: docs.bytes, sources: docs.sources };
      for (const spec of documentBenches) {
        log(`${spec.bench}: warming up …`);
        sections.push(benchDocuments(runner, spec, docs, out, cores, repeat.documents));
      }
    }
    if (only.includes('stream-word-count') && !hasPython3())
      log('stream word count: skipped, python3 is not on PATH (its programs are Python)');
    else if (only.includes('stream-word-count')) {
      // Python programs go at tens of MB/s: their corpus is capped (the first files of the text corpus' size).
      const text = corpus('text', Math.min(mib, STREAM_MAX_MIB));
      corpora.streamText = { dir: text.dir, files: text.files.length, bytes: text.bytes, sources: text.sources };
      log('stream word count (Python programs): warming up …');
      sections.push(benchStreamWordCount(runner, text, out, cores, repeat.wordCount));
    }
    if (only.includes('logistic-regression')) {
      log('logistic regression: building its corpus and features …');
      sections.push(await benchLogistic(runner, mib, out, cores));
    }

    const runs = sections.flatMap((s) => s.runs);
    const checks = sections.flatMap((s) => s.checks);
    const notes = sections.flatMap((s) => s.notes);
    if (!runner.useTime) notes.push("no GNU time at /usr/bin/time: the baselines' peak RSS is shown as -");
    for (const r of runs)
      if ((r.otherCpu ?? 0) > QUIET)
        notes.push(
          `other processes used ${((r.otherCpu ?? 0) * 100).toFixed(0)}% of the CPUs during ${describe(r)}: ` +
            'its figures are skewed; rerun on a quiet machine',
        );
    const agree = checks.every((c) => c.agree);

    if (json) {
      const report = {
        machine: {
          cores,
          cpu: os.cpus()[0]?.model ?? null,
          memoryMiB: Math.round(os.totalmem() / 2 ** 20),
          node: process.version,
        },
        corpora,
        method: {
          seconds:
            'wall clock of the whole child process, spawn to exit; the median of the repetitions (every one in repetitions)',
          mbPerSec: 'corpus bytes / 1e6 / seconds',
          peakRss: `streaming: its own report (process.resourceUsage().maxRSS, worker threads included); others: ${
            runner.useTime ? '/usr/bin/time -f %M' : 'not measured'
          }`,
        },
        runs,
        ratios: Object.fromEntries(sections.map((s) => [s.bench, { ...s.ratios, ...vsBestBaseline(s.runs, s.bench) }])),
        checks,
        agree,
        notes,
      };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      console.log(`${plural(cores, 'core')}, Node ${process.version}; corpora of ${mibOf(mib * 2 ** 20)} of real text`);
      console.log(
        table([
          ['benchmark', 'program', 'workers', 'input', 'MB/s', 'seconds', 'runs', 'peak RSS', 'vs best', 'ratio'],
          ...runs.map((r) => tableRow(r, runs, cores)),
        ]),
      );
      for (const n of notes) console.log(`note: ${n}`);
    }

    // In the table's form the check is part of the report (stdout); a disagreement is told on
    // stderr too, so that it cannot go unseen under --json.
    const say = json ? log : (m: string) => console.log(m);
    for (const c of checks) {
      if (c.agree) say(`outputs agree: ${c.bench}: ${c.compared}: ${c.summary}`);
      else {
        say(`OUTPUTS DISAGREE: ${c.bench}: ${c.compared}: ${c.summary}`);
        for (const d of c.differences) log(`  ${d}`);
      }
    }
    if (checks.length === 0) say('outputs not checked (no baseline, and one worker count only)');
    return agree ? 0 : 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The fastest baseline run of a benchmark (any program and number of workers, on the big corpus). */
function bestBaseline(runs: Run[], bench: string): Run | undefined {
  return runs
    .filter((r) => r.bench === bench && r.program !== 'streaming' && r.corpus === 'big')
    .reduce<Run | undefined>((a, b) => (a === undefined || b.mbPerSec > a.mbPerSec ? b : a), undefined);
}

/** Each Streaming run's MB/s over the fastest baseline's of its benchmark, by name. */
function vsBestBaseline(runs: Run[], bench: string): Record<string, number> {
  const best = bestBaseline(runs, bench);
  if (!best) return {};
  const name = `${best.program}${best.workers === null ? '' : `, ${plural(best.workers, 'worker')}`}`;
  return Object.fromEntries(
    runs
      .filter((r) => r.bench === bench && r.program === 'streaming' && r.corpus === 'big')
      .map((r) => [
        `streaming (${plural(r.workers ?? 0, 'worker')})/best baseline (${name})`,
        r.mbPerSec / best.mbPerSec,
      ]),
  );
}

/** "; map idle 0.04 / 0.31 s": each worker's idle time in the map phase, as Streaming reported it. */
function idleOf(r: Run): string {
  const idle = r.selfReported?.mapIdleSeconds as number[] | null | undefined;
  return idle ? `; map idle ${idle.map((s) => s.toFixed(2)).join(' / ')} s` : '';
}

/**
 * A run as a row of the table. "vs best": Streaming's MB/s over the fastest baseline's of its
 * benchmark (any program, any number of workers; the pipeline counts); "ratio": Streaming's over
 * the baseline with as many workers.
 */
function tableRow(r: Run, runs: Run[], cores: number): string[] {
  const same = (program: string, workers: number | null) =>
    runs.find((x) => x.bench === r.bench && x.program === program && x.workers === workers && x.corpus === 'big');
  const best = r.program === 'streaming' && r.corpus === 'big' ? bestBaseline(runs, r.bench) : undefined;
  let ratio = '';
  if (r.corpus === 'tiny') ratio = 'median wall clock, see the note';
  else if (r.bench === USER_WORD_COUNT) {
    const script = runs.find((x) => x.bench === r.bench && x.program === PLAIN && x.corpus === r.corpus);
    const corpus = r.corpus === 'skewed' ? 'skewed corpus' : 'uniform corpus';
    if (r.program === 'streaming' && script && r.workers)
      ratio = `${(r.mbPerSec / (r.workers * script.mbPerSec)).toFixed(2)}× ${r.workers === 1 ? '' : `${r.workers} × `}the plain script (${corpus})${idleOf(r)}`;
    else ratio = corpus;
  } else if (r.program === 'streaming' && r.corpus === 'half') ratio = 'half the input, to compare peak RSS';
  else if (r.corpus === 'short') {
    const on = (program: string) =>
      runs.find((x) => x.bench === r.bench && x.program === program && x.workers === r.workers && x.corpus === 'short');
    const ratios = ['reference', 'hand-written']
      .map((p) => [p, on(p)] as const)
      .filter(([, b]) => r.program === 'streaming' && b !== undefined)
      .map(([p, b]) => `${(r.mbPerSec / b!.mbPerSec).toFixed(2)}× the ${p}`);
    ratio = [...ratios, 'short documents'].join(', ');
  } else if (r.program === 'streaming') {
    const base = same('hand-written', r.workers) ?? same('reference', r.workers);
    if (base) ratio = `${(r.mbPerSec / base.mbPerSec).toFixed(2)}× the ${base.program}`;
  } else if (r.program === 'training, per iteration') {
    const tfidf = same('tf-idf job', r.workers);
    if (tfidf) ratio = `${(r.seconds / tfidf.seconds).toFixed(2)}× the tf-idf job`;
  } else if (r.program === 'unix pipeline') {
    const fastest = same('streaming', cores);
    if (fastest)
      ratio = `streaming (${plural(cores, 'worker')}) is ${(fastest.mbPerSec / r.mbPerSec).toFixed(1)}× the pipeline`;
  }
  return [
    r.bench,
    r.program,
    r.workers === null ? '-' : String(r.workers),
    r.bytes < 2 ** 20 ? `${(r.bytes / 1e3).toFixed(0)} KB` : mibOf(r.bytes),
    r.corpus === 'tiny' ? '-' : r.mbPerSec.toFixed(1),
    r.seconds.toFixed(2),
    String(r.repetitions.length),
    r.peakRssMiB === null ? '-' : `${r.peakRssMiB.toFixed(0)} MiB`,
    best ? `${(r.mbPerSec / best.mbPerSec).toFixed(2)}×` : '',
    ratio,
  ];
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`bench: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
