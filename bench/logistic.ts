/**
 * Logistic regression training (issue 17): the driver runs a job per evaluation of the objective,
 * so an iteration should cost little more than one scan of the data. Over SpamAssassin's
 * training messages with their labels (docs/examples/text-datasets.mjs), repeated to the corpus
 * size (at most MAX_MIB: the driver makes a dozen passes per worker count): hashed features
 * (hashing-vectorizer, 2^18 columns), then the driver, L-BFGS, 10 iterations, with 1 worker and
 * one per core, beside a run of the tf-idf job (jobs/tfidf.ts: two scans, counts then vectors) over the same messages.
 *
 * Rows: `tf-idf job` and `hashing-vectorizer` (wall clock of `streaming run`, spawn to
 * exit); `training, per iteration` (the driver's passes' seconds, its first scan and line
 * searches included, over the iterations it made) and `training, per pass` (the same over its
 * passes), both as the driver reports them. The check: the models trained with 1 and N workers
 * have the same objective (to 1e-9 relative).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type Check,
  type Exec,
  log,
  plural,
  ROOT,
  type Run,
  type Runner,
  row,
  type Section,
  streamingArgs,
  warmPageCache,
} from './harness.js';

export const MAX_MIB = 256;
const BENCH = 'logistic regression';
const FILES = 8;
const ITERATIONS = 10;
const FEATURES = 2 ** 18;
const DATA = path.join(ROOT, 'bench', '.data');

interface Labelled {
  dir: string;
  bytes: number;
}

/** SpamAssassin's training messages as JSON lines {id, label, text}, interleaved and repeated to `mib` MiB in FILES files (ids made unique). */
async function labelledCorpus(mib: number): Promise<Labelled> {
  const dir = path.join(DATA, `spam-${mib}MiB`);
  const done = `${dir}.done`;
  if (fs.existsSync(done)) return { dir, bytes: Number(fs.readFileSync(done, 'utf8')) };
  log(`building the ${mib} MiB labelled spam corpus in ${path.relative(ROOT, dir)}/ …`);
  const { spamAssassin } = (await import(
    pathToFileURL(path.join(ROOT, 'docs', 'examples', 'text-datasets.mjs')).href
  )) as {
    spamAssassin(): { train: { id: string; label: string; text: string }[] };
  };
  const files = spamAssassin().train;
  // Interleaved (the file lists ham, then spam): any prefix holds both. 7919 is prime and larger
  // than the count, so k ↦ 7919·k mod n visits every message once.
  const train = files.map((_, k) => files[(k * 7919) % files.length]!);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const share = Math.ceil((mib * 2 ** 20) / FILES);
  let bytes = 0;
  let copy = 0;
  let i = 0;
  for (let f = 0; f < FILES; f++) {
    const fd = fs.openSync(path.join(dir, `part-${f}.jsonl`), 'w');
    for (let written = 0; written < share; ) {
      const d = train[i]!;
      written += fs.writeSync(fd, `${JSON.stringify({ id: `${copy}/${d.id}`, label: d.label, text: d.text })}\n`);
      if (++i === train.length) [i, copy] = [0, copy + 1];
    }
    bytes += fs.fstatSync(fd).size;
    fs.closeSync(fd);
  }
  fs.writeFileSync(done, String(bytes));
  return { dir, bytes };
}

const sizeOf = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('part-'))
    .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);

export async function benchLogistic(
  runner: Runner,
  mib: number,
  out: (name: string) => string,
  cores: number,
): Promise<Section> {
  const docs = await labelledCorpus(Math.min(mib, MAX_MIB));
  const counts = [...new Set([1, cores])];
  const runs: Run[] = [];
  const vectors = out('spam-hashed');
  warmPageCache(docs.dir);
  const hashing = runner.exec(process.execPath, [
    ...streamingArgs('jobs/hashing-vectorizer.ts', docs.dir, vectors, cores),
    '--param',
    `nFeatures=${FEATURES}`,
  ]);
  runs.push(row(BENCH, 'hashing-vectorizer', cores, 'big', docs.bytes, hashing, hashing.timeRssMiB, null));
  const vectorBytes = sizeOf(vectors);
  const objectives: Record<number, number> = {};
  for (const w of counts) {
    warmPageCache(docs.dir);
    const tfidf = runner.exec(process.execPath, streamingArgs('jobs/tfidf.ts', docs.dir, out(`spam-tfidf-${w}`), w));
    runs.push(row(BENCH, 'tf-idf job', w, 'big', docs.bytes, tfidf, tfidf.timeRssMiB, null));
    fs.rmSync(out(`spam-tfidf-${w}`), { recursive: true, force: true });
    const model = out(`spam-model-${w}`);
    warmPageCache(vectors);
    const e = runner.exec(process.execPath, [
      path.join(ROOT, 'dist', 'jobs', 'logistic-regression.js'),
      '--input',
      vectors,
      '--output',
      model,
      '--workers',
      String(w),
      '--param',
      'solver=lbfgs',
      '--param',
      `maxIterations=${ITERATIONS}`,
    ]);
    const m = /after (\d+) iterations[\s\S]*?(\d+) passes over the data in ([\d.]+) s/.exec(e.stdout);
    if (!m) throw new Error(`the logistic regression driver's report was not understood:\n${e.stdout}`);
    const [iterations, passes, seconds] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const self = { iterations, passes, passSeconds: seconds, driverSeconds: e.seconds, summary: e.stdout.trim() };
    const per = (n: number): Exec => ({ ...e, seconds: seconds / n });
    runs.push(row(BENCH, 'training, per iteration', w, 'big', vectorBytes, per(iterations), e.timeRssMiB, self));
    runs.push(row(BENCH, 'training, per pass', w, 'big', vectorBytes, per(passes), null, self));
    const header = JSON.parse(fs.readFileSync(path.join(model, 'part-r-00000'), 'utf8').split('\n')[0]!) as {
      value: { objective: number };
    };
    objectives[w] = header.value.objective;
  }
  const checks: Check[] = [];
  const ratios: Record<string, number> = {};
  for (const w of counts) {
    const pass = runs.find((r) => r.program === 'tf-idf job' && r.workers === w)!;
    const iteration = runs.find((r) => r.program === 'training, per iteration' && r.workers === w)!;
    ratios[`training iteration/tf-idf job, ${plural(w, 'worker')}`] = iteration.seconds / pass.seconds;
    if (w !== cores) {
      const [a, b] = [objectives[w]!, objectives[cores]!];
      checks.push({
        bench: BENCH,
        compared: `model (${plural(w, 'worker')}) vs model (${plural(cores, 'worker')})`,
        agree: Math.abs(a - b) <= 1e-9 * Math.abs(b),
        summary: `objective ${a} vs ${b}`,
        differences: Math.abs(a - b) <= 1e-9 * Math.abs(b) ? [] : [`objectives differ by ${Math.abs(a - b)}`],
      });
    }
  }
  const notes = [
    `${BENCH}: ${(docs.bytes / 2 ** 20).toFixed(0)} MiB of labelled SpamAssassin messages, hashed to ${FEATURES} columns (${(vectorBytes / 2 ** 20).toFixed(0)} MiB of vectors); L-BFGS, ${ITERATIONS} iterations; training rows: the driver's pass seconds (its scan and line searches included) per iteration and per pass, MB/s over the vectors`,
  ];
  return { bench: BENCH, runs, checks, ratios, notes };
}
