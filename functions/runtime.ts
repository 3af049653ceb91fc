import { assertJobModule, type JobModule, stepOf } from './job.js';
import { abort, type CaughtError, type CommitEvent, commit } from './phases/commit.js';
import type { FailedAttempt, TaskEnv } from './phases/env.js';
import { runMap } from './phases/map.js';
import { plan, type Split } from './phases/plan.js';
import { runReduce } from './phases/reduce.js';
import { type ReducerItem, shufflePlan } from './phases/shuffle.js';
import { layout, type RunContext } from './spec.js';

/** The phases a state machine task can run; each task resource is bound to one. */
export const PHASES = ['plan', 'map', 'shuffle', 'reduce', 'commit', 'abort'] as const;
export type Phase = (typeof PHASES)[number];

type AnyEvent = Record<string, unknown> & { job?: RunContext };

/**
 * Runs one task of a phase. The one entry point of worker threads and Lambda handlers alike:
 * they parse their transport, call this, and return its result.
 */
export async function runPhase(phase: Phase, event: unknown, env: TaskEnv, module: JobModule): Promise<unknown> {
  assertJobModule(module, 'job module');
  const e = (event ?? {}) as AnyEvent;
  const run = () => {
    if (!e.job)
      throw new Error(`The ${phase} task got no "job" in its input: the state machine definition is not Streaming's.`);
    return e.job;
  };
  if (phase === 'plan') return plan(env, module, event);
  if (phase === 'abort') return abort(env, e as { job?: RunContext; error?: CaughtError });
  const job = stepOf(module, run().step ?? 0);
  switch (phase) {
    case 'map': {
      const split = e.split as Split;
      const index = await recordingFailure(env, run(), phase, split.index, () => runMap(env, job, run(), split));
      return { task: index.task, records: index.stats.inputRecords };
    }
    case 'shuffle':
      return shufflePlan(env, run(), (e.plan as { mapTasks: number }).mapTasks);
    case 'reduce': {
      const item = e.reducer as ReducerItem;
      const result = await recordingFailure(env, run(), phase, item.partition, () => runReduce(env, job, run(), item));
      return { partition: result.partition, records: result.stats.outputRecords };
    }
    case 'commit':
      return commit(env, run(), e as unknown as CommitEvent, module);
  }
}

/**
 * Runs a map or reduce task; when it throws, leaves a record of the failed attempt in scratch
 * before rethrowing, so the job's report can draw retries. Writing the record never hides the
 * task's own error: if the write fails too, the record is lost and the error goes on as it was.
 */
async function recordingFailure<T>(
  env: TaskEnv,
  run: RunContext,
  phase: 'map' | 'reduce',
  task: number,
  fn: () => Promise<T>,
): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const record: FailedAttempt = {
      phase,
      task,
      attempt: env.attempt,
      start,
      end: Date.now(),
      error: { name: err.name, message: err.message.slice(0, 500) },
    };
    try {
      const uri = layout.failedAttempt(run, phase, task, env.attempt);
      await env.storage.for(uri).write(uri, JSON.stringify(record));
    } catch {
      // The task's error is what matters; its record is only for the report.
    }
    throw e;
  }
}
