import { assertJobModule, type JobModule, stepOf } from './job.js';
import { abort, type CaughtError, type CommitEvent, commit } from './phases/commit.js';
import type { TaskEnv } from './phases/env.js';
import { runMap } from './phases/map.js';
import { plan, type Split } from './phases/plan.js';
import { runReduce } from './phases/reduce.js';
import { type ReducerItem, shufflePlan } from './phases/shuffle.js';
import type { RunContext } from './spec.js';

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
      const index = await runMap(env, job, run(), e.split as Split);
      return { task: index.task, records: index.stats.inputRecords };
    }
    case 'shuffle':
      return shufflePlan(env, run(), (e.plan as { mapTasks: number }).mapTasks);
    case 'reduce': {
      const result = await runReduce(env, job, run(), e.reducer as ReducerItem);
      return { partition: result.partition, records: result.stats.outputRecords };
    }
    case 'commit':
      return commit(env, run(), e as unknown as CommitEvent, module);
  }
}
