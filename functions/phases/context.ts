import { UserCodeError } from '../errors.js';
import type { TaskContext } from '../job.js';
import type { RunContext } from '../spec.js';
import type { StorageRouter } from '../storage/index.js';
import { normalizeUri } from '../storage/uri.js';
import type { Counters } from './env.js';

export interface MutableContext extends TaskContext {
  inputUri: string;
  readonly counters: Counters;
}

/** Side inputs read so far by this worker or container: each is read once, whatever the tasks. */
const sideInputs = new Map<string, Promise<string>>();

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
      let text = sideInputs.get(key);
      if (!text) {
        text = storage
          .for(key)
          .readAll(key)
          .then((b) => b.toString('utf8'));
        // A failed read is not cached: the task's retry reads again.
        text.catch(() => sideInputs.delete(key));
        sideInputs.set(key, text);
      }
      return text;
    },
    counters,
    inputUri: '',
    task: { phase, index, attempt },
    count(name: string, n = 1) {
      counters[name] = (counters[name] ?? 0) + n;
    },
  };
}

export const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  x !== undefined && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';

/** Runs user code; what it throws becomes a UserCodeError carrying the user's message and stack. */
export function userCall<T>(phase: string, task: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new UserCodeError(phase, task, e);
  }
}

export async function userAwait(phase: string, task: number, p: PromiseLike<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    throw new UserCodeError(phase, task, e);
  }
}
