/**
 * Workers that optimize their hot code on their own thread, when the pool has a worker per core.
 *
 * V8 hands hot functions to TurboFan on background threads and runs the slow code until the
 * fast code is in. A pool with a worker per core leaves those threads no core of their own: a
 * task's loops that run once per task (a map task's table sort and write, a reducer's merge)
 * run slowly while their compile waits for a core. Compiled on the worker's own thread instead
 * (V8's --no-concurrent-recompilation), the built-in word count over 64 MiB of short documents
 * on 2 workers and 2 cores took 0.91-0.94 of the time, a user's word count 0.91-0.94
 * (docs/performance.md). With a core to spare (1 worker on 2 cores), background compiles are
 * faster, and are kept.
 *
 * V8 reads the flag as a thread's isolate starts, and it is process-wide: it is set just before
 * a worker is made and put back once that worker is online, so the process's other threads
 * (the caller's own workers) start as they would have. A process started with the flag, or
 * with V8 single-threaded, is left as it is.
 */
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';

/** Whether a pool of `workers` threads leaves V8's compiler threads no core (see above). */
export function compilesInline(workers: number): boolean {
  return workers >= os.availableParallelism();
}

/** Whether the process was started choosing where V8 compiles: that choice is kept. */
const CHOSEN = process.execArgv.some((a) =>
  /^--(?:no[-_])?(?:concurrent[-_]recompilation|single[-_]threaded)$/.test(a),
);

/** Workers made with the flag set that are not online yet. */
let starting = 0;

/** `make()`'s worker, which compiles its hot code on its own thread (see above). */
export function startCompilingInline<W extends Worker>(make: () => W): W {
  if (CHOSEN) return make();
  if (starting++ === 0) setFlagsFromString('--no-concurrent-recompilation');
  let worker: W;
  try {
    worker = make();
  } catch (e) {
    started();
    throw e;
  }
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    started();
  };
  // A worker that fails before it is online still exits.
  worker.once('online', once);
  worker.once('exit', once);
  return worker;
}

function started(): void {
  if (--starting === 0) setFlagsFromString('--concurrent-recompilation');
}
