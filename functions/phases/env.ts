import fs from 'node:fs';
import type { StorageRouter } from '../storage/index.js';
import type { IoStats } from '../storage/types.js';

/** What a task runs with, wherever it runs (a worker thread or a Lambda container). */
export interface TaskEnv {
  readonly storage: StorageRouter;
  /** Unique per attempt: retried or duplicated attempts never write the same scratch object. */
  readonly attempt: string;
  /** Local disk for spills and fetched ranges (os.tmpdir(); /tmp on Lambda). */
  readonly tmpDir: string;
  /**
   * Where the job's stream program files are: the job file's directory locally (so a command's
   * relative paths mean what they mean beside the job file); the bundle's copy in the cloud.
   * @default the working directory
   */
  readonly programRoot?: string;
  /** Where what tasks say goes as they run: stream programs' stderr and every task's status. @default nowhere */
  readonly taskLog?: TaskLog;
  /** When the task's function will be stopped (ms since the epoch): Lambda's timeout; none locally. */
  readonly deadline?: number;
  /**
   * What runs the task: a local worker thread. Task timings carry it, so a job's manifest shows
   * each worker's idle time (Lambda scales its environments: none is named). @default unknown
   */
  readonly worker?: string;
}

/** A task of the map or reduce phase, as the task log names it. */
export interface TaskRef {
  readonly jobId: string;
  readonly phase: 'map' | 'reduce';
  readonly task: number;
  readonly attempt: string;
}

/**
 * What tasks say besides their data: locally a log file per attempt and the progress display;
 * in the cloud the function's log.
 */
export interface TaskLog {
  /** A line a stream program wrote to stderr (not a reporter line). */
  stderr(task: TaskRef, line: string): void;
  /** The task's status changed (`reporter:status:…`, `ctx.status(…)`). */
  status(task: TaskRef, message: string): void;
  /** Flushes what the attempt wrote; returns where it can be read afterwards, if anywhere. */
  close(task: TaskRef): string | undefined;
}

/**
 * A check a long task calls as it goes (per record, per block): once the task nears the end of
 * the time its function may run, it throws `overdue(elapsedMs, allowedMs)`, a clear error while
 * there is still time to report it, instead of the function being stopped mid-write (and the
 * task retried to be stopped again). It keeps a tenth of the time (1 to 30 s) for that.
 */
export function deadlineGuard(env: TaskEnv, overdue: (elapsedMs: number, allowedMs: number) => Error): () => void {
  if (env.deadline === undefined) return () => {};
  const start = Date.now();
  const allowed = env.deadline - start;
  const stopAt = env.deadline - Math.min(30_000, Math.max(1_000, allowed / 10));
  return () => {
    const now = Date.now();
    if (now >= stopAt) throw overdue(now - start, allowed);
  };
}

/** The size and the free space of the file system holding `dir` (on Lambda, /tmp: the ephemeral storage). */
export function tmpSpace(dir: string): { total: number; free: number } {
  const s = fs.statfsSync(dir);
  return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

/** When a task ran, for the manifest's timeline. */
export interface TaskTiming {
  start: number;
  end: number;
  attempt: string;
  /** TaskEnv.worker, where known. */
  worker?: string;
}

/** The timing of an attempt that began at `start` and ends now. */
export function taskTiming(env: TaskEnv, start: number): TaskTiming {
  return { start, end: Date.now(), attempt: env.attempt, ...(env.worker !== undefined ? { worker: env.worker } : {}) };
}

/** A failed attempt of a map or reduce task, as its record in scratch holds it (Commit adds them to the manifest). */
export interface FailedAttempt {
  phase: 'map' | 'reduce';
  task: number;
  attempt: string;
  start: number;
  end: number;
  /** The error's class name, message (up to 500 characters) and the first lines of its stack. */
  error: { name: string; message: string; stack?: string[] };
}

export type Counters = Record<string, number>;

/** Counters by group (Hadoop's `reporter:counter:<group>,<counter>,<amount>`, `ctx.incrementCounter`). */
export type CounterGroups = Record<string, Counters>;

export function addCounters(into: Counters, from: Counters | undefined): Counters {
  if (from) for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

export function addCounterGroups(into: CounterGroups, from: CounterGroups | undefined): CounterGroups {
  if (from) for (const [g, counters] of Object.entries(from)) addCounters((into[g] ??= {}), counters);
  return into;
}

/**
 * Runs `fn` over items with at most `limit` in flight; results keep the items' order. After a
 * failure no new item starts, and it rejects only once every started call has settled, so no
 * straggler still writes to a file or handle its caller is about to close.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return out;
}

/**
 * Counts one task's storage requests and bytes: the router's totals now, subtracted later.
 * A worker thread or a Lambda container runs one task at a time, so the difference is the
 * task's own. Given the record the task publishes last (its index or result), the count takes
 * in that one write too and sets the record's `io`: the record carries the figures, so its size
 * depends on them, and they are settled together (the digits change at most a couple of times).
 */
export function ioMeter(storage: StorageRouter): (publishing?: { io?: IoStats }) => IoStats {
  const start = storage.stats();
  return (publishing) => {
    const now = storage.stats();
    const io: IoStats = {
      requests: now.requests - start.requests + (publishing === undefined ? 0 : 1),
      bytesRead: now.bytesRead - start.bytesRead,
      bytesWritten: now.bytesWritten - start.bytesWritten,
    };
    if (publishing) {
      const written = io.bytesWritten;
      publishing.io = io;
      for (let size = -1; size !== io.bytesWritten - written; ) {
        size = io.bytesWritten - written;
        io.bytesWritten = written + Buffer.byteLength(JSON.stringify(publishing));
      }
    }
    return io;
  };
}

export function addIo(into: IoStats, from: IoStats | undefined): IoStats {
  if (from) {
    into.requests += from.requests;
    into.bytesRead += from.bytesRead;
    into.bytesWritten += from.bytesWritten;
  }
  return into;
}
