/**
 * `npm run bench`: word count over a real-text corpus, Streaming beside its baselines, all run
 * in this one invocation on this machine:
 *   - Streaming's local engine (`streaming run jobs/wordcount.ts`) with 1 worker and one per core,
 *   - the hand-written reference `../shared/reference/wordcount-baseline.mjs` (same workers),
 *   - `LC_ALL=C tr | tr | sort | uniq -c`.
 * Every figure is the wall time of a whole process, spawn to exit; MB/s = corpus bytes / 1e6 /
 * seconds. Peak RSS is the whole process (Streaming's worker threads share it): Streaming
 * reports its own, the others are read with /usr/bin/time when it is installed.
 *
 *   npm run bench [-- --size-mib 256] [--quick] [--json]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'sdk', 'cli.js');
const REFERENCE = path.resolve(ROOT, '..', 'shared', 'reference', 'wordcount-baseline.mjs');
const BOOK = path.join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data', 'data.txt');
const FILES = 16;

interface Row {
  program: string;
  workers: number | string;
  corpusMiB: number;
  seconds: number;
  mbPerSec: number;
  peakRssMiB: number | undefined;
  ratio?: string;
}

function args() {
  const a = process.argv.slice(2);
  const quick = a.includes('--quick');
  const at = a.indexOf('--size-mib');
  const size = at >= 0 ? Number(a[at + 1]) : quick ? 64 : 256;
  if (!(size >= 2)) throw new Error('--size-mib takes a number of MiB >= 2');
  return { size, json: a.includes('--json') };
}

/** A directory of FILES text files totalling `mib` MiB of Moby-Dick, cut at line ends; cached. */
function corpus(mib: number): { dir: string; bytes: number } {
  const dir = path.join(ROOT, 'bench', '.data', `moby-${mib}MiB`);
  const per = Math.floor((mib * 2 ** 20) / FILES);
  const done = path.join(dir, '.complete');
  if (!fs.existsSync(done)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const book = fs.readFileSync(BOOK);
    for (let f = 0; f < FILES; f++) {
      const out = fs.openSync(path.join(dir, `part-${String(f).padStart(2, '0')}.txt`), 'w');
      let written = 0;
      while (written < per) {
        const want = Math.min(book.length, per - written);
        const cut = want === book.length ? want : book.lastIndexOf(10, want - 1) + 1 || want;
        fs.writeSync(out, book, 0, cut);
        written += cut;
      }
      fs.closeSync(out);
    }
    fs.writeFileSync(done, '');
  }
  const bytes = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
  return { dir, bytes };
}

const hasTime = fs.existsSync('/usr/bin/time');

/** Runs a command, timing the whole process; reads peak RSS with /usr/bin/time when available. */
function timed(cmd: string, argv: string[]): { seconds: number; stdout: string; rssMiB: number | undefined } {
  const rssFile = path.join(os.tmpdir(), `streaming-bench-rss-${process.pid}`);
  const [c, a] = hasTime ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c, a as string[], { encoding: 'utf8', maxBuffer: 64 << 20, cwd: ROOT });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const rssMiB = hasTime ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : undefined;
  return { seconds, stdout: r.stdout, rssMiB };
}

function streaming(dir: string, out: string, workers: number) {
  const r = timed(process.execPath, [
    CLI,
    'run',
    'jobs/wordcount.ts',
    '--input',
    dir,
    '--output',
    out,
    '--overwrite',
    '--quiet',
    '--workers',
    String(workers),
  ]);
  const own = /peak RSS (\d+) MiB/.exec(r.stdout);
  return { ...r, rssMiB: r.rssMiB ?? (own ? Number(own[1]) : undefined) };
}

function reference(dir: string, workers: number, output?: string) {
  return timed(process.execPath, [
    REFERENCE,
    '--workers',
    String(workers),
    '--json',
    ...(output ? ['--output', output] : []),
    dir,
  ]);
}

function unixPipeline(dir: string) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => path.join(dir, f));
  const script = `cat ${files.map((f) => `'${f}'`).join(' ')} | tr -cs 'A-Za-z0-9_' '\\n' | tr A-Z a-z | sort | uniq -c > /dev/null`;
  return timed('/usr/bin/env', ['LC_ALL=C', 'sh', '-c', script]);
}

function readCounts(files: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of files)
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const tab = line.lastIndexOf('\t');
      m.set(line.slice(0, tab), (m.get(line.slice(0, tab)) ?? 0) + Number(line.slice(tab + 1)));
    }
  return m;
}

function main(): void {
  const { size, json } = args();
  const cores = os.availableParallelism();
  const big = corpus(size);
  const small = corpus(Math.max(2, size / 2));
  const mb = big.bytes / 1e6;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-bench-'));
  const rows: Row[] = [];
  const row = (
    program: string,
    workers: number | string,
    corpusBytes: number,
    r: { seconds: number; rssMiB: number | undefined },
  ): Row => {
    const x: Row = {
      program,
      workers,
      corpusMiB: Math.round(corpusBytes / 2 ** 20),
      seconds: r.seconds,
      mbPerSec: corpusBytes / 1e6 / r.seconds,
      peakRssMiB: r.rssMiB,
    };
    rows.push(x);
    return x;
  };
  const haveReference = fs.existsSync(REFERENCE);
  if (!haveReference)
    console.error(`The reference ${REFERENCE} is absent (a clone without ../shared): its rows are skipped.`);

  const workerCounts = [...new Set([1, cores])];
  const refOut = path.join(tmp, 'reference.tsv');
  for (const w of workerCounts) {
    // Alternate the programs, so drift in the machine's speed touches both alike.
    const s = row('streaming', w, big.bytes, streaming(big.dir, path.join(tmp, `out-${w}`), w));
    if (haveReference) {
      const r = row('reference', w, big.bytes, reference(big.dir, w, w === cores ? refOut : undefined));
      s.ratio = `${((s.mbPerSec / r.mbPerSec) * 100).toFixed(0)}% of reference`;
    }
  }
  const smallRun = row('streaming', cores, small.bytes, streaming(small.dir, path.join(tmp, 'out-small'), cores));
  smallRun.ratio = 'RSS at half the input';
  const unix = row('tr|sort|uniq -c', 'pipeline', big.bytes, unixPipeline(big.dir));
  const best = rows
    .filter((r) => r.program === 'streaming' && r.corpusMiB === Math.round(big.bytes / 2 ** 20))
    .reduce((a, b) => (a.mbPerSec > b.mbPerSec ? a : b));
  unix.ratio = `streaming is ${(best.mbPerSec / unix.mbPerSec).toFixed(1)}× this`;

  let agree = 'not checked (no reference)';
  if (haveReference) {
    const ours = readCounts(
      fs
        .readdirSync(path.join(tmp, `out-${cores}`))
        .filter((f) => f.startsWith('part-'))
        .map((f) => path.join(tmp, `out-${cores}`, f)),
    );
    const theirs = readCounts([refOut]);
    for (const [w, c] of theirs)
      if (ours.get(w) !== c) {
        console.error(`Outputs disagree: "${w}" reference ${c}, streaming ${ours.get(w)}`);
        process.exit(1);
      }
    if (ours.size !== theirs.size) {
      console.error(`Outputs disagree: ${ours.size} words from streaming, ${theirs.size} from the reference`);
      process.exit(1);
    }
    agree = `outputs agree (${ours.size} words)`;
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  if (json) {
    console.log(
      JSON.stringify(
        { machine: { cores, node: process.version }, corpusBytes: big.bytes, rows, check: agree },
        null,
        2,
      ),
    );
    return;
  }
  console.log(
    `word count, ${mb.toFixed(0)} MB of Moby-Dick text in ${FILES} files, ${cores} cores, Node ${process.version}`,
  );
  console.log(
    `${'program'.padEnd(18)}${'workers'.padEnd(10)}${'input'.padStart(8)}${'MB/s'.padStart(9)}${'seconds'.padStart(9)}${'peak RSS'.padStart(10)}  ratio`,
  );
  for (const r of rows)
    console.log(
      `${r.program.padEnd(18)}${String(r.workers).padEnd(10)}${`${r.corpusMiB}MiB`.padStart(8)}${r.mbPerSec.toFixed(1).padStart(9)}${r.seconds.toFixed(2).padStart(9)}${(r.peakRssMiB === undefined ? '-' : `${r.peakRssMiB.toFixed(0)}MiB`).padStart(10)}  ${r.ratio ?? ''}`,
    );
  console.log(agree);
}

main();
