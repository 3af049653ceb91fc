/**
 * What every benchmark of `npm run bench` shares: timing a child process (wall clock, spawn to
 * exit, with GNU time's peak RSS when there), waiting for a quiet machine, and the rows of the
 * report.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'sdk', 'cli.js');
const TIME = '/usr/bin/time';

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
export const mibOf = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/** One measured run. Absent figures are null, so that the JSON report keeps every key. */
export interface Run {
  /** Which benchmark: 'word count', 'inverted index', 'tf-idf'. */
  bench: string;
  /** 'streaming', or the baseline's name. */
  program: string;
  /** Worker threads asked for; null for the pipeline (its five processes run concurrently). */
  workers: number | null;
  /** The corpus, its first half, its skewed form (corpus.ts) or the start-up benchmark's one small file. */
  corpus: 'big' | 'half' | 'skewed' | 'short' | 'tiny';
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
  /** Wall clock of every repetition, in the order run; `seconds` is their median (see medians()). */
  repetitions: number[];
}

/** An output compared with a baseline's. */
export interface Check {
  bench: string;
  compared: string;
  agree: boolean;
  /** What was compared, in a few words ("95,012 words, 48,226,119 tokens"). */
  summary: string;
  /** What differs, first differences first (at most 20 lines); empty when they agree. */
  differences: string[];
}

/** What one benchmark adds to the report. */
export interface Section {
  bench: string;
  runs: Run[];
  checks: Check[];
  /** Named ratios: Streaming's MB/s over a baseline's. */
  ratios: Record<string, number>;
  notes: string[];
}

/**
 * Other processes (a test run, a build) skew wall-clock figures. Before each measurement the bench
 * waits, up to QUIET_WAIT_MS, for the machine's CPUs to be less than QUIET busy; a run during
 * which other processes used more than QUIET of the CPUs is flagged.
 */
export const QUIET = 0.15;
const QUIET_WAIT_MS = 30_000;

export interface Exec {
  seconds: number;
  stdout: string;
  timeRssMiB: number | null;
  otherCpu: number | null;
}

export class Runner {
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

/**
 * Reads every file under `input` (a file or a folder) once, untimed, so that the run that
 * follows finds its input in the page cache whatever ran before it. Every timed run calls it:
 * a machine that pages out what was not read lately (this one runs DAMON's proactive reclaim)
 * otherwise made a row's run pay for the disk when its corpus had rested (the short-documents
 * run after the Unix pipeline measured 0.69x the hand-written run right after it, on the same
 * files), which one warm-up per section did not prevent.
 */
export function warmPageCache(input: string): void {
  const buf = Buffer.allocUnsafe(4 * 2 ** 20);
  const visit = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    else if (st.isFile()) {
      const fd = fs.openSync(p, 'r');
      try {
        while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
      } finally {
        fs.closeSync(fd);
      }
    }
  };
  visit(input);
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

export function row(
  bench: string,
  program: string,
  workers: number | null,
  corpus: Run['corpus'],
  bytes: number,
  e: Exec,
  peakRssMiB: number | null,
  selfReported: Record<string, unknown> | null,
): Run {
  const r: Run = {
    bench,
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
    repetitions: [e.seconds],
  };
  log(`  ${describe(r)}: ${e.seconds.toFixed(2)} s, ${r.mbPerSec.toFixed(1)} MB/s`);
  return r;
}

/**
 * Runs `streaming(w)` and `baseline(w)` for each worker count of round `round` in A-B, B-A, …
 * order (streaming first at the first count, the baseline first at the next), and the other
 * way round in the next round: each pair's order alternates round by round, so that drift in
 * the machine's speed, and whatever one run leaves behind for the next, touch both alike.
 */
export function alternate(
  counts: number[],
  round: number,
  streaming: (w: number) => void,
  baseline: (w: number) => void,
): void {
  counts.forEach((w, i) => {
    const [first, second] = (i + round) % 2 === 0 ? [streaming, baseline] : [baseline, streaming];
    first(w);
    second(w);
  });
}

/**
 * One row per measurement (benchmark, program, workers, corpus) out of its repetitions, in the
 * order first run: the repetition with the median time (the slower middle one of an even
 * count), with every repetition's time, the highest peak RSS and the most CPU other processes
 * took during any of them.
 */
export function medians(runs: Run[]): Run[] {
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const key = `${r.bench}|${r.program}|${r.workers}|${r.corpus}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const sorted = [...g].sort((a, b) => a.seconds - b.seconds);
    const median = sorted[Math.floor(g.length / 2)]!;
    const most = (f: (r: Run) => number | null) => {
      const xs = g.map(f).filter((x): x is number => x !== null);
      return xs.length ? Math.max(...xs) : null;
    };
    return {
      ...median,
      peakRssMiB: most((r) => r.peakRssMiB),
      timePeakRssMiB: most((r) => r.timePeakRssMiB),
      otherCpu: most((r) => r.otherCpu),
      repetitions: g.flatMap((r) => r.repetitions),
    };
  });
}

export function describe(r: Pick<Run, 'bench' | 'program' | 'workers' | 'bytes'>): string {
  return `${r.bench}: ${r.program}${r.workers === null ? '' : `, ${plural(r.workers, 'worker')}`}, ${mibOf(r.bytes)}`;
}

/**
 * Runs `streaming run <job>` over `input`. Its peak RSS is the CLI's own report (the whole
 * process, worker threads included: "  memory  peak RSS 161 MiB"), else GNU time's.
 */
export function runStreaming(
  runner: Runner,
  bench: string,
  job: string,
  input: { dir: string; bytes: number },
  which: Run['corpus'],
  out: string,
  workers: number,
): Run {
  warmPageCache(input.dir);
  const e = runner.exec(process.execPath, streamingArgs(job, input.dir, out, workers));
  const rss = [...e.stdout.matchAll(/peak RSS (\d+) MiB/g)].map((m) => Number(m[1]));
  const took = /succeeded in ([\d.]+) s\n(?![\s\S]*succeeded in)/.exec(e.stdout)?.[1];
  // "workers map 5.21 s, idle 0.04 s / 0.31 s per worker; …" (the last job's, with 2+ workers).
  const idle = [...e.stdout.matchAll(/workers map [\d.]+ s, idle ([^;\n]*) per worker/g)].pop()?.[1];
  const self = {
    peakRssMiB: rss.length ? Math.max(...rss) : null,
    seconds: took === undefined ? null : Number(took),
    mapIdleSeconds: idle === undefined ? null : [...idle.matchAll(/([\d.]+) s/g)].map((m) => Number(m[1])),
    summary: e.stdout.trim(),
  };
  return row(bench, 'streaming', workers, which, input.bytes, e, self.peakRssMiB ?? e.timeRssMiB, self);
}

export function streamingArgs(job: string, input: string, out: string, workers: number): string[] {
  return [CLI, 'run', job, '--input', input, '--output', out, '--overwrite', '--quiet', '--workers', String(workers)];
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const right = rows[0]!.map((h) => ['workers', 'input', 'MB/s', 'seconds', 'runs', 'peak RSS', 'vs best'].includes(h));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
