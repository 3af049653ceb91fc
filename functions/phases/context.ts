import { zlib } from '../builtins.js';
import { DEFAULTS } from '../config.js';
import { SideInputNotFoundError, StreamingError, UserCodeError } from '../errors.js';
import type { TaskContext } from '../job.js';
import { layout, PART_FILE, type RunContext } from '../spec.js';
import type { StorageRouter } from '../storage/index.js';
import { normalizeUri } from '../storage/uri.js';
import type { CounterGroups, Counters, TaskEnv, TaskRef } from './env.js';

export interface MutableContext extends TaskContext {
  inputUri: string;
  readonly counters: Counters;
  readonly counterGroups: CounterGroups;
  /** The task's last status, for the manifest. */
  readonly lastStatus: string | undefined;
  /** The last lines its stream programs wrote to stderr (reporter lines aside), for the manifest. */
  readonly stderrTail: string[];
  /** Keeps a program's stderr line (the task log and the tail). */
  stderr(line: string): void;
  readonly ref: TaskRef;
}

/**
 * Side inputs this worker or container has read for the job it is running: each is read once
 * per job, whatever its tasks. A container outlives jobs, and a driver loop rewrites the same
 * file between runs (k-means centroids), so another job starts afresh.
 */
const sideInputs = new Map<string, Promise<string>>();
let sideInputsJob = '';

export function taskContext(run: RunContext, phase: 'map' | 'reduce', index: number, env: TaskEnv): MutableContext {
  const counters: Counters = {};
  const counterGroups: CounterGroups = {};
  const stderrTail: string[] = [];
  const ref: TaskRef = { jobId: run.jobId, phase, task: index, attempt: env.attempt };
  let lastStatus: string | undefined;
  return {
    params: run.params,
    sideInput(uri: string) {
      const key = normalizeUri(uri);
      if (sideInputsJob !== run.jobId) {
        sideInputs.clear();
        sideInputsJob = run.jobId;
      }
      let text = sideInputs.get(key);
      if (!text) {
        text = readSideInput(env.storage, key);
        // A failed read is not cached: the task's retry reads again.
        text.catch(() => sideInputs.delete(key));
        sideInputs.set(key, text);
      }
      return text;
    },
    async readText(uri: string) {
      const key = normalizeUri(uri);
      return (await env.storage.for(key).readAll(key)).toString('utf8');
    },
    counters,
    counterGroups,
    stderrTail,
    ref,
    inputUri: '',
    task: { phase, index, attempt: env.attempt },
    count(name: string, n = 1) {
      counters[name] = (counters[name] ?? 0) + n;
    },
    incrementCounter(group: string, counter: string, amount = 1) {
      const g = (counterGroups[group] ??= {});
      g[counter] = (g[counter] ?? 0) + amount;
    },
    get lastStatus() {
      return lastStatus;
    },
    status(message: string) {
      lastStatus = String(message);
      env.taskLog?.status(ref, lastStatus);
    },
    stderr(line: string) {
      stderrTail.push(line);
      if (stderrTail.length > DEFAULTS.stderrTailLines) stderrTail.shift();
      env.taskLog?.stderr(ref, line);
    },
  };
}

/**
 * A file's text; or, for the output location of a completed job (a model a training job
 * wrote), the text of its parts in order.
 */
async function readSideInput(router: StorageRouter, uri: string): Promise<string> {
  const storage = router.for(uri);
  if (await storage.stat(uri)) return (await storage.readAll(uri)).toString('utf8');
  if (!(await storage.stat(layout.success(uri)))) throw new SideInputNotFoundError(uri);
  const parts: string[] = [];
  for await (const o of storage.list(uri)) if (PART_FILE.test(o.uri)) parts.push(o.uri);
  const texts = await Promise.all(parts.sort().map((p) => storage.readAll(p)));
  // Parts of a job with compressed output are gzip (part-r-00000.gz).
  return texts.map((b, i) => (parts[i]!.endsWith('.gz') ? zlib().gunzipSync(b) : b).toString('utf8')).join('');
}

export const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  x !== undefined && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';

/**
 * What user code's error becomes: a UserCodeError carrying the user's message and stack; but a
 * non-retryable StreamingError a job throws on purpose (an InvalidJobError for a column its
 * params name and the input lacks) stays itself, so no retry repeats it and callers see its class.
 */
export function userError(phase: string, task: number, e: unknown): Error {
  if (e instanceof StreamingError && !e.retryable) return e;
  return new UserCodeError(phase, task, e);
}

/** Runs user code; what it throws becomes what `userError` makes of it. */
export function userCall<T>(phase: string, task: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw userError(phase, task, e);
  }
}

export async function userAwait(phase: string, task: number, p: PromiseLike<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    throw userError(phase, task, e);
  }
}
