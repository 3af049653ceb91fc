import { SideInputNotFoundError, StreamingError, UserCodeError } from '../errors.js';
import type { TaskContext } from '../job.js';
import { layout, PART_FILE, type RunContext } from '../spec.js';
import type { StorageRouter } from '../storage/index.js';
import { normalizeUri } from '../storage/uri.js';
import type { Counters } from './env.js';

export interface MutableContext extends TaskContext {
  inputUri: string;
  readonly counters: Counters;
}

/**
 * Side inputs this worker or container has read for the job it is running: each is read once
 * per job, whatever its tasks. A container outlives jobs, and a driver loop rewrites the same
 * file between runs (k-means centroids), so another job starts afresh.
 */
const sideInputs = new Map<string, Promise<string>>();
let sideInputsJob = '';

export function taskContext(
  run: RunContext,
  phase: 'map' | 'reduce',
  index: number,
  attempt: string,
  storage: StorageRouter,
): MutableContext {
  const counters: Counters = {};
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
        text = readSideInput(storage, key);
        // A failed read is not cached: the task's retry reads again.
        text.catch(() => sideInputs.delete(key));
        sideInputs.set(key, text);
      }
      return text;
    },
    async readText(uri: string) {
      const key = normalizeUri(uri);
      return (await storage.for(key).readAll(key)).toString('utf8');
    },
    counters,
    inputUri: '',
    task: { phase, index, attempt },
    count(name: string, n = 1) {
      counters[name] = (counters[name] ?? 0) + n;
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
  return texts.map((b) => b.toString('utf8')).join('');
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
