/**
 * Lambda handlers, one per phase (DESIGN §3): thin — validate the event, run the phase through
 * `runPhase` (the same entry the local workers use), return its result. Every log line is
 * structured JSON carrying the job id, phase, task and attempt (the Lambda request id).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { InvalidJobError, StreamingError, toErrorCause } from '../errors.js';
import { assertJobModule, type JobModule } from '../job.js';
import { PROGRAMS_DIR } from '../phases/programs.js';
import { PHASES, type Phase, runPhase } from '../runtime.js';
import { StorageRouter } from '../storage/index.js';

export type PhaseHandler = (
  event: unknown,
  context: Pick<Context, 'awsRequestId'> & Partial<Pick<Context, 'getRemainingTimeInMillis'>>,
) => Promise<unknown>;

/** Keys of user parameters whose values never reach a log. */
const SENSITIVE = /secret|password|token|credential|key/i;

function taskOf(phase: Phase, event: Record<string, unknown>): number | undefined {
  if (phase === 'map') return (event.split as { index?: number } | undefined)?.index;
  if (phase === 'reduce') return (event.reducer as { task?: number } | undefined)?.task;
  return undefined;
}

/**
 * The six phase handlers for one job module, or for a loader of it (`() => import(...)`), which
 * runs when a phase first needs the module: a module that throws while loading fails that task
 * with InvalidJobError (not the container's start, which would fail every handler), and Abort,
 * which never loads it, still writes `_FAILED`. Storage is shared across invocations of a container.
 */
export function createHandlers(
  job: JobModule | (() => Promise<unknown>),
  storage = new StorageRouter(),
): Record<Phase, PhaseHandler> {
  const logger = new Logger({ serviceName: 'streaming' });
  let loaded: Promise<JobModule> | undefined;
  const loadJob = () =>
    (loaded ??= (async () => {
      let module: unknown;
      try {
        module = typeof job === 'function' ? await job() : job;
      } catch (e) {
        if (e instanceof StreamingError) throw e; // the module's own check (defineJob's), already explained
        const err = e instanceof Error ? e : new Error(String(e));
        throw new InvalidJobError(
          `The job module threw while loading: ${err.message}. A job module must import without throwing: fix its top-level code.`,
          { cause: err },
        );
      }
      assertJobModule(module, 'job module bundled into this function');
      logger.appendKeys({ jobName: module.name });
      return module;
    })());
  if (typeof job !== 'function') void loadJob().catch(() => {}); // checked now; a bad module fails each task
  const handlers = {} as Record<Phase, PhaseHandler>;
  // The map and reduce bundles hold the stream programs' files (infra/job-programs.ts).
  const bundled = path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), PROGRAMS_DIR);
  const programRoot = existsSync(bundled) ? bundled : undefined;
  for (const phase of PHASES) {
    handlers[phase] = async (event, context) => {
      if (event === null || typeof event !== 'object')
        throw new TypeError(`The ${phase} handler needs a JSON object event.`);
      const e = event as Record<string, unknown>;
      const jobId = (e.job as { jobId?: string } | undefined)?.jobId ?? (e.jobId as string | undefined);
      const log = logger.createChild({
        persistentKeys: { jobId, phase, task: taskOf(phase, e), attempt: context.awsRequestId },
      });
      const started = Date.now();
      log.info('task started', phase === 'plan' ? { spec: redact(e) } : {});
      try {
        const module = phase === 'abort' ? undefined : await loadJob();
        const result = await runPhase(
          phase,
          event,
          {
            storage,
            attempt: context.awsRequestId,
            tmpDir: os.tmpdir(),
            ...(programRoot ? { programRoot } : {}),
            // What stream programs say goes to the function's log, a JSON line each.
            taskLog: {
              stderr: (_t, line) => log.info('program stderr', { line }),
              status: (_t, message) => log.info('task status', { status: message }),
              close: () => undefined,
            },
            // When Lambda stops the function: long tasks stop first, with advice (env.ts deadlineGuard).
            ...(context.getRemainingTimeInMillis ? { deadline: Date.now() + context.getRemainingTimeInMillis() } : {}),
          },
          module,
        );
        const duplicate = (result as { duplicate?: { message: string } } | undefined)?.duplicate;
        if (duplicate) log.warn(`duplicate delivery, nothing done: ${duplicate.message}`, { duplicate });
        log.info('task finished', { ms: Date.now() - started });
        return result;
      } catch (err) {
        log.error('task failed', { ms: Date.now() - started, error: toErrorCause(err) });
        throw err;
      }
    };
  }
  return handlers;
}

/** The spec as logged: parameters whose names look secret are replaced. */
export function redact(spec: Record<string, unknown>): Record<string, unknown> {
  const params = spec.params as Record<string, string> | undefined;
  if (!params) return spec;
  return {
    ...spec,
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, SENSITIVE.test(k) ? '***' : v])),
  };
}
