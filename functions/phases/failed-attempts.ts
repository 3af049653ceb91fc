/**
 * Records of failed map and reduce attempts, left in scratch by the attempt as it fails: the
 * report draws them (Commit puts them in the manifest) and Abort takes the job's real error
 * from them when Step Functions reports only that a Distributed Map failed.
 */
import { DEFAULTS } from '../config.js';
import { ObjectNotFoundError } from '../errors.js';
import { layout, type RunContext } from '../spec.js';
import { type FailedAttempt, mapLimit, type TaskEnv } from './env.js';

/** Lines of the stack a record keeps (enough for the user's frames, small enough to list many). */
const STACK_LINES = 30;

/**
 * Leaves the record of a failed attempt. Writing it never hides the task's own error: if the
 * write fails too, the record is lost and the caller rethrows the task's error as it was.
 */
export async function recordFailedAttempt(
  env: TaskEnv,
  run: RunContext,
  phase: 'map' | 'reduce',
  task: number,
  start: number,
  error: unknown,
): Promise<void> {
  const err = error instanceof Error ? error : new Error(String(error));
  const record: FailedAttempt = {
    phase,
    task,
    attempt: env.attempt,
    start,
    end: Date.now(),
    error: {
      name: err.name,
      message: err.message.slice(0, 500),
      ...(err.stack ? { stack: err.stack.split('\n').slice(0, STACK_LINES) } : {}),
    },
  };
  try {
    const uri = layout.failedAttempt(run, phase, task, env.attempt);
    await env.storage.for(uri).write(uri, JSON.stringify(record));
  } catch {
    // The task's error is what matters; its record is only for the report and Abort.
  }
}

/** The records failed attempts left in scratch, in time order. */
export async function readFailedAttempts(env: TaskEnv, run: RunContext): Promise<FailedAttempt[]> {
  const uris: string[] = [];
  const prefix = layout.failedAttempts(run);
  for await (const o of env.storage.for(prefix).list(prefix)) uris.push(o.uri);
  const records = await mapLimit(uris, DEFAULTS.metadataConcurrency, async (uri) => {
    try {
      return await env.storage.readJson<FailedAttempt>(uri);
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return undefined; // removed under us: nothing to draw
      throw e;
    }
  });
  return records.filter((r): r is FailedAttempt => r !== undefined).sort((a, b) => a.start - b.start);
}
