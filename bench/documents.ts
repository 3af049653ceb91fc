/**
 * The document benchmarks: a built-in job over the JSON-lines corpus beside a hand-written Node
 * program doing the same work (bench/baselines/), each with 1 worker and one per core, in A-B-B-A
 * order (the round repeated as asked, each row the median of its repetitions), and Streaming once more with one worker per core on the first half of the corpus (to
 * compare peak RSS). Outputs are compared line for line, in any order (both spread lines over part files
 * their own way): every output must hold the same multiset of lines as the baseline's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Corpus, halfCorpus } from './corpus.js';
import {
  alternate,
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

export interface DocumentBench {
  bench: string;
  /** The built-in job, relative to the project. */
  job: string;
  /** The hand-written program, relative to the project: `--workers N --output DIR <input>`. */
  baseline: string;
}

export const DOCUMENT_BENCHES: DocumentBench[] = [
  { bench: 'inverted index', job: 'jobs/inverted-index.ts', baseline: 'bench/baselines/inverted-index.mjs' },
  { bench: 'tf-idf', job: 'jobs/tfidf.ts', baseline: 'bench/baselines/tfidf.mjs' },
];

const HAND_WRITTEN = 'hand-written';

export function benchDocuments(
  runner: Runner,
  spec: DocumentBench,
  corpus: Corpus,
  out: (name: string) => string,
  cores: number,
  repeat: number,
): Section {
  const slug = spec.bench.replace(/\W+/g, '-');
  // Warm-up, not measured: the job's bundle into Streaming's bundle cache.
  runner.exec(process.execPath, streamingArgs(spec.job, warmUpSample(corpus, out), out(`${slug}-warm-up`), 1));

  const counts = [...new Set([1, cores])];
  const repetitions: Run[] = [];
  const dir = (program: string, w: number) => out(`${slug}-${program}-${w}`);
  const half = halfCorpus(corpus);
  for (let round = 0; round < repeat; round++) {
    alternate(
      counts,
      round,
      (w) => repetitions.push(runStreaming(runner, spec.bench, spec.job, corpus, 'big', dir('streaming', w), w)),
      (w) => repetitions.push(baseline(runner, spec, corpus, dir(HAND_WRITTEN, w), w)),
    );
    // Once more on the first half of the corpus: does peak memory follow the input?
    repetitions.push(runStreaming(runner, spec.bench, spec.job, half, 'half', dir('streaming-half', cores), cores));
  }
  const runs = medians(repetitions);

  const yardstick = dir(HAND_WRITTEN, cores);
  const expected = linesDigest(yardstick);
  const checks: Check[] = [];
  for (const w of counts) {
    checks.push(
      compare(
        spec.bench,
        `streaming (${plural(w, 'worker')}) vs ${HAND_WRITTEN} (${plural(cores, 'worker')})`,
        expected,
        dir('streaming', w),
      ),
    );
    if (w !== cores)
      checks.push(
        compare(
          spec.bench,
          `${HAND_WRITTEN} (${plural(w, 'worker')}) vs ${HAND_WRITTEN} (${plural(cores, 'worker')})`,
          expected,
          dir(HAND_WRITTEN, w),
        ),
      );
  }

  const find = (program: string, workers: number) =>
    runs.find((r) => r.program === program && r.workers === workers && r.corpus === 'big');
  const ratios: Record<string, number> = {};
  for (const w of counts) {
    const s = find('streaming', w);
    const b = find(HAND_WRITTEN, w);
    if (s && b) ratios[`streaming/${HAND_WRITTEN}, ${plural(w, 'worker')}`] = s.mbPerSec / b.mbPerSec;
  }
  return { bench: spec.bench, runs, checks, ratios, notes: [] };
}

function baseline(runner: Runner, spec: DocumentBench, corpus: Corpus, outDir: string, workers: number): Run {
  fs.rmSync(outDir, { recursive: true, force: true });
  warmPageCache(corpus.dir);
  const e = runner.exec(process.execPath, [
    path.join(ROOT, spec.baseline),
    '--workers',
    String(workers),
    '--output',
    outDir,
    corpus.dir,
  ]);
  return row(spec.bench, HAND_WRITTEN, workers, 'big', corpus.bytes, e, e.timeRssMiB, null);
}

/** The first ~2 MB of whole lines of the corpus's first file, for the warm-up run. */
function warmUpSample(corpus: Corpus, out: (name: string) => string): string {
  const file = out('documents-warm-up.jsonl');
  const fd = fs.openSync(corpus.files[0]!, 'r');
  const buf = Buffer.alloc(2 << 20);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  const end = buf.subarray(0, n).lastIndexOf(10) + 1;
  fs.writeFileSync(file, buf.subarray(0, end > 0 ? end : n));
  return file;
}

interface Digest {
  lines: number;
  bytes: number;
  /** Sum, modulo 2^64, of the first 8 bytes of each line's SHA-1: the same for any order of the lines. */
  sum: bigint;
}

/** The digest of the lines of a directory's part files (`part-…`). */
function linesDigest(dir: string): Digest {
  const d: Digest = { lines: 0, bytes: 0, sum: 0n };
  const buf = Buffer.allocUnsafe(16 << 20);
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('part-'))) {
    const fd = fs.openSync(path.join(dir, f), 'r');
    let held = 0;
    let chunk = buf;
    for (;;) {
      if (held === chunk.length) chunk = Buffer.concat([chunk, Buffer.allocUnsafe(chunk.length)]);
      const n = fs.readSync(fd, chunk, held, chunk.length - held, null);
      const filled = held + n;
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0 && nl < filled; nl = chunk.indexOf(10, start)) {
        add(d, chunk.subarray(start, nl));
        start = nl + 1;
      }
      if (n === 0) {
        if (start < filled) add(d, chunk.subarray(start, filled)); // a last line without its newline
        break;
      }
      chunk.copy(chunk, 0, start, filled);
      held = filled - start;
    }
    fs.closeSync(fd);
  }
  return d;
}

function add(d: Digest, line: Buffer): void {
  d.lines++;
  d.bytes += line.length;
  d.sum = (d.sum + createHash('sha1').update(line).digest().readBigUInt64BE(0)) & 0xffffffffffffffffn;
}

function compare(bench: string, compared: string, expected: Digest, dir: string): Check {
  const got = linesDigest(dir);
  const agree = got.lines === expected.lines && got.bytes === expected.bytes && got.sum === expected.sum;
  return {
    bench,
    compared,
    agree,
    summary: `${got.lines} lines, ${got.bytes} bytes`,
    differences: agree
      ? []
      : [
          `expected ${expected.lines} lines and ${expected.bytes} bytes, got ${got.lines} and ${got.bytes}` +
            (got.lines === expected.lines && got.bytes === expected.bytes ? ', with different contents' : ''),
        ],
  };
}
