/**
 * What the names of one folder are, and the files' sizes, on two threads for a large folder. A
 * local listing asks `stat` of each name, a few microseconds each: 1.2-1.4 s for a folder of
 * 258,714 short documents on the bench machine, while the other cores sat idle (Plan runs
 * before any map task). Hadoop sizes a listing on several threads for the same reason
 * (`mapreduce.input.fileinputformat.list-status.num-threads`).
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { DEFAULTS } from '../config.js';

/** What statNames says of a name that is not a file (a file is its size, >= 0). */
export const DIRECTORY = -2;
/** A socket, a FIFO, a device: no input. */
export const OTHER = -3;
/** Gone by the time it was asked about: a dangling symbolic link, or a file removed meanwhile. */
export const MISSING = -4;
/** `stat` failed on the helper thread: asked again here, where its error is thrown. */
const FAILED = -1;

/** Names a thread claims at a time from the shared counter. */
const BATCH = 256;
/** Int32 slots of the control block both threads share. */
const NEXT = 0; // the first name no thread has claimed
const BUSY = 1; // 1 while the helper holds a claim it has not finished
/** How long this thread waits for the helper's last batch before asking about what is left itself. */
const HELPER_PATIENCE_MS = 10_000;

/** What a helper is given: the folder, the names joined by NULs, the results and the control block. */
export interface StatJob {
  dir: string;
  joined: string;
  shared: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

/**
 * Where a thread that is already running can be lent to help (the local engine's idle worker
 * threads): hands it a job and says whether it may take it. Unset, a large folder starts a
 * helper thread of its own.
 */
let lender: ((job: StatJob) => boolean) | undefined;

/** Sets (or clears) where statNames may borrow a running thread (sdk/local/worker-main.ts). */
export function lendStatThreads(lend: ((job: StatJob) => boolean) | undefined): void {
  lender = lend;
}

/** A file's size, or what the name is instead (symbolic links followed); throws what `stat` throws but ENOENT. */
function statName(path: string): number {
  const st = fs.statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return MISSING;
  return st.isFile() ? st.size : st.isDirectory() ? DIRECTORY : OTHER;
}

/** What statNames says of each name, asked on this thread alone. */
function statEach(dir: string, names: readonly string[]): Float64Array {
  const out = new Float64Array(names.length);
  for (let j = 0; j < names.length; j++) out[j] = statName(dir + names[j]!);
  return out;
}

/**
 * A lent thread's part of a job: HELPER's loop, in this module (test/storage.test.ts holds both,
 * and this thread's own, to the same answers).
 */
export function helpStat({ dir, joined, shared, control }: StatJob): void {
  const names = joined.split('\0');
  const out = new Float64Array(shared);
  const ctl = new Int32Array(control);
  for (;;) {
    Atomics.store(ctl, BUSY, 1);
    const i = Atomics.add(ctl, NEXT, BATCH);
    const end = Math.min(i + BATCH, names.length);
    for (let j = i; j < end; j++) {
      try {
        out[j] = statName(dir + names[j]!);
      } catch {
        out[j] = FAILED;
      }
    }
    Atomics.store(ctl, BUSY, 0);
    Atomics.notify(ctl, BUSY);
    if (end <= i) break;
  }
}

/**
 * The helper thread, run from source (`eval`): nothing to find on disk, whichever bundle this
 * module is in. It claims batches as this thread does, and marks itself busy before each claim,
 * so that once this thread's claim passes the end, the mark is all there is to wait for. Its
 * rule for a name is statName's, written again: source run by `eval` cannot import this module
 * (test/storage.test.ts holds the two threads to the same answers).
 */
const HELPER = `
const { workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const { dir, joined, shared, control } = workerData;
const names = joined.split('\\0');
const out = new Float64Array(shared);
const ctl = new Int32Array(control);
for (;;) {
  Atomics.store(ctl, ${BUSY}, 1);
  const i = Atomics.add(ctl, ${NEXT}, ${BATCH});
  const end = Math.min(i + ${BATCH}, names.length);
  for (let j = i; j < end; j++) {
    try {
      const st = statSync(dir + names[j], { throwIfNoEntry: false });
      out[j] = st === undefined ? ${MISSING} : st.isFile() ? st.size : st.isDirectory() ? ${DIRECTORY} : ${OTHER};
    } catch {
      out[j] = ${FAILED};
    }
  }
  Atomics.store(ctl, ${BUSY}, 0);
  Atomics.notify(ctl, ${BUSY});
  if (end <= i) break;
}
`;

/**
 * For each name of the folder `dir` (which ends with a separator): the file's size, or DIRECTORY,
 * OTHER or MISSING. From `parallelFrom` names on, a helper thread asks about some of them
 * meanwhile (from `lentFrom` on where a running thread can be lent: see lendStatThreads); a name
 * `stat` fails on (a symbolic link loop, no permission) fails the call with that error either way.
 */
export function statNames(
  dir: string,
  names: readonly string[],
  parallelFrom: number = DEFAULTS.parallelStatFiles,
  /** The helper asks about every name, this thread about none (tests: the helper's part must be right). */
  helperOnly = false,
  lentFrom: number = DEFAULTS.lentStatFiles,
): Float64Array {
  const n = names.length;
  const lend = n >= lentFrom ? lender : undefined;
  if (n < parallelFrom && !lend) return statEach(dir, names);
  const shared = new SharedArrayBuffer(8 * n);
  const out = new Float64Array(shared).fill(Number.NaN);
  const control = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const ctl = new Int32Array(control);
  const job: StatJob = { dir, joined: names.join('\0'), shared, control };
  // A lent thread that never comes claims nothing: this thread asks about every name, and the
  // helper's mark stays clear.
  let helper: Worker | undefined;
  if (!lend?.(job)) {
    if (n < parallelFrom) return statEach(dir, names);
    try {
      helper = new Worker(HELPER, { eval: true, workerData: job });
    } catch {
      return statEach(dir, names); // no thread to be had (a process at its limit): this one asks about all
    }
    helper.unref();
    // A helper that fails to start leaves its share to this thread (the NaNs below).
    helper.on('error', () => {});
  }
  try {
    for (let i = 0; !helperOnly && (i = Atomics.add(ctl, NEXT, BATCH)) < n; ) {
      const end = Math.min(i + BATCH, n);
      for (let j = i; j < end; j++) out[j] = statName(dir + names[j]!);
    }
    // Every name claimed (NEXT read first: a claim before it is the last one the helper can
    // have made), and the helper's claim done.
    for (const deadline = Date.now() + HELPER_PATIENCE_MS; Date.now() < deadline; ) {
      const claimed = Atomics.load(ctl, NEXT) >= n;
      const busy = Atomics.load(ctl, BUSY);
      if (claimed && busy === 0) break;
      Atomics.wait(ctl, BUSY, busy, 10);
    }
  } finally {
    void helper?.terminate();
  }
  // A copy: a helper past its deadline writes nowhere that matters. What it failed on, or never
  // got to, is asked here, where a failure throws.
  const result = out.slice();
  for (let j = 0; j < n; j++)
    if (result[j] === FAILED || Number.isNaN(result[j])) result[j] = statName(dir + names[j]!);
  return result;
}
