import { assertJobModule, type JobModule, stepOf } from './job.js';
import { type AbortState, abort } from './phases/abort.js';
import { claimOwner, holdClaim } from './phases/claim.js';
import { type CommitEvent, commit } from './phases/commit.js';
import type { TaskEnv } from './phases/env.js';
import { recordFailedAttempt } from './phases/failed-attempts.js';
import { runMap } from './phases/map.js';
import { planTask } from './phases/plan.js';
import { runReduce } from './phases/reduce.js';
import { type ReducerItem, shufflePlan } from './phases/shuffle.js';
import { loadSplit, type SplitItem } from './phases/split-items.js';
import type { RunContext } from './spec.js';

/** The phases a state machine task can run; each task resource is bound to one. */
export const PHASES = ['plan', 'map', 'shuffle', 'reduce', 'commit', 'abort'] as const;
export type Phase = (typeof PHASES)[number];

type AnyEvent = Record<string, unknown> & { job?: RunContext };

/**
 * Runs one task of a phase. The one entry point of worker threads and Lambda handlers alike:
 * they parse their transport, call this, and return its result. Abort runs without the job
 * module (`module` may be undefined for it): a module that cannot load must still be aborted.
 */
export async function runPhase(
  phase: Phase,
  event: unknown,
  env: TaskEnv,
  module: JobModule | undefined,
): Promise<unknown> {
  const e = (event ?? {}) as AnyEvent;
  if (phase === 'abort') return abort(env, e as AbortState);
  assertJobModule(module, 'job module');
  const run = () => {
    if (!e.job)
      throw new Error(`The ${phase} task got no "job" in its input: the state machine definition is not Streaming's.`);
    return e.job;
  };
  if (phase === 'plan') return planTask(env, module, event);
  const job = stepOf(module, run().step ?? 0);
  switch (phase) {
    case 'map': {
      const item = e.split as SplitItem;
      // A run that lost its output (cancelled, or taken over) stops here, leaving nothing in scratch.
      await holdClaim(env.storage, claimOwner(run()));
      const index = await recordingFailure(env, run(), phase, item.index, async () =>
        runMap(env, job, run(), await loadSplit(env.storage, item)),
      );
      return { task: index.task, records: index.stats.inputRecords };
    }
    case 'shuffle':
      return shufflePlan(env, run(), (e.plan as { mapTasks: number }).mapTasks);
    case 'reduce': {
      const item = e.reducer as ReducerItem;
      await holdClaim(env.storage, claimOwner(run()));
      // A failed attempt is recorded under the task's first partition (the report draws partitions).
      const results = await recordingFailure(env, run(), phase, item.first, () => runReduce(env, job, run(), item));
      return {
        task: item.task,
        partitions: results.length,
        records: results.reduce((n, r) => n + r.stats.outputRecords, 0),
      };
    }
    case 'commit':
      return commit(env, run(), e as unknown as CommitEvent, module);
  }
}

/**
 * Runs a map or reduce task; when it throws, leaves a record of the failed attempt in scratch
 * before rethrowing, so the job's report can draw retries and Abort can name the real error.
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
    await recordFailedAttempt(env, run, phase, task, start, e);
    throw e;
  }
}
