/**
 * Abort (DESIGN §2): the state every failure is caught into. It writes `_FAILED` with the job's
 * real error, removes the parts so nothing half-written looks complete, and deletes scratch.
 *
 * It never needs the job module (a module that throws on load must still get its `_FAILED`), and
 * it reads the real error from the failed-attempt records before it deletes scratch: on AWS a
 * Distributed Map whose child failed reports only `States.ExceedToleratedFailureThreshold`.
 */
import { randomBytes } from 'node:crypto';
import { type ErrorCause, OutputClaimedError } from '../errors.js';
import { specFromEvent } from '../events.js';
import { type JobSpec, layout, OUTPUT_FILE, type PipelineContext, type RunContext } from '../spec.js';
import { GLOB, isWithin, normalizeUri } from '../storage/uri.js';
import { type ClaimOwner, claimOutput, claimOwner, releaseClaim } from './claim.js';
import type { FailedAttempt, TaskEnv } from './env.js';
import { readFailedAttempts } from './failed-attempts.js';

/** What the state machine's Catch puts at `$.error`. */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

/** `_FAILED`: why a job failed. */
export interface FailedMarker {
  jobId?: string;
  /** The error's class name (`UserCodeError`, `InputNotFoundError`, …). */
  error: string;
  message: string;
  stack?: string[];
  time: string;
  /** The task whose failure this is, when Abort took the error from its failed-attempt record. */
  task?: { phase: 'map' | 'reduce'; index: number; attempt: string };
  /** What the state machine reported, when that was not the task's own error (a Distributed Map's summary). */
  surfacedAs?: { error: string; message: string };
}

/**
 * What the Catch hands Abort: the failed state's input with the error at `error`. After Plan ran,
 * the input holds the run (`job`); when Plan itself failed, it is what started the execution (a
 * job spec or a trigger's event; a multi-step job's next spec after an earlier step).
 */
export type AbortState = { job?: RunContext; error?: CaughtError } & Record<string, unknown>;

/** The most distinct failed tasks Abort checks for a published result (one listing each). */
const TASKS_CHECKED = 50;

/** Parses a Step Functions error Cause (Lambda's JSON, or plain text). */
export function parseCause(caught: CaughtError): FailedMarker {
  const cause = lambdaCause(caught);
  const marker: FailedMarker = {
    error: cause?.errorType ?? caught.Error,
    message: cause?.errorMessage ?? caught.Cause ?? caught.Error,
    time: new Date().toISOString(),
  };
  // The Node.js runtime reports the stack as `trace`; the local engine (and other runtimes) as `stackTrace`.
  const stack = cause?.trace ?? cause?.stackTrace;
  if (stack) marker.stack = stack;
  return marker;
}

type LambdaCause = Partial<ErrorCause> & { trace?: string[] };

/** The task's own error as Lambda (or a local worker) reported it, if the Cause is that. */
function lambdaCause(caught: CaughtError): LambdaCause | undefined {
  try {
    const c = JSON.parse(caught.Cause ?? '') as LambdaCause | null;
    return c && typeof c === 'object' && (c.errorType !== undefined || c.errorMessage !== undefined) ? c : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Abort: write `_FAILED` with the cause and remove parts, so nothing half-written looks complete,
 * while the run holds its output (never another run's); release the claim; delete scratch unless kept.
 */
export async function abort(env: TaskEnv, state: AbortState): Promise<FailedMarker> {
  const caught = state.error ?? { Error: 'Unknown' };
  let marker = parseCause(caught);
  const run = state.job;
  if (!run) return abortUnplanned(env, state, marker);
  if (!lambdaCause(caught)) {
    const real = await firstRealError(env, run);
    if (real)
      marker = {
        error: real.error.name,
        message: real.error.message,
        ...(real.error.stack ? { stack: real.error.stack } : {}),
        time: marker.time,
        task: { phase: real.phase, index: real.task, attempt: real.attempt },
        surfacedAs: { error: caught.Error, message: marker.message },
      };
  }
  // A multi-step job fails as a whole: the marker goes where its last step would write.
  const owner = claimOwner(run);
  marker.jobId = owner.jobId;
  if (await holdsOutput(env, owner)) {
    await markFailed(env, owner.output, marker);
    await releaseClaim(env.storage, owner);
  }
  if (!run.keepScratch) {
    await env.storage.for(run.scratch).deletePrefix(run.scratch);
    if (run.pipeline) await env.storage.for(run.pipeline.scratch).deletePrefix(run.pipeline.scratch);
  }
  return marker;
}

/**
 * Abort after Plan failed (a bad option, a missing input, a job module that cannot load): the
 * output the run was to write is marked `_FAILED` as any failed run's is, unless it is not the
 * run's to mark (another run holds it, or it holds a completed job: OutputClaimedError and
 * OutputExistsError leave it exactly as it was).
 */
async function abortUnplanned(env: TaskEnv, state: AbortState, marker: FailedMarker): Promise<FailedMarker> {
  const owner = ownerOf(state);
  if (!owner) return marker;
  if (owner.jobId) marker.jobId = owner.jobId;
  const claimer = { output: owner.output, jobId: owner.jobId ?? `aborted-plan-${randomBytes(4).toString('hex')}` };
  if (await holdsOutput(env, claimer)) {
    await markFailed(env, owner.output, marker);
    await releaseClaim(env.storage, claimer);
  }
  const p = state.pipeline as PipelineContext | undefined;
  if (p && !p.options.keepScratch) await env.storage.for(p.scratch).deletePrefix(p.scratch);
  return marker;
}

/** Where the failed Plan's run was to write, and its id when the spec names one. */
function ownerOf(state: AbortState): { output: string; jobId?: string } | undefined {
  const p = state.pipeline as PipelineContext | undefined;
  if (p) return { output: p.output, jobId: p.jobId };
  let spec: Partial<JobSpec>;
  try {
    spec = (specFromEvent(state) ?? {}) as Partial<JobSpec>;
  } catch {
    return undefined; // an event this deployment cannot place: no output to mark
  }
  if (typeof spec.output !== 'string' || spec.output === '') return undefined;
  try {
    const output = normalizeUri(spec.output);
    // An output inside an input (refused by Plan) is not written to: it would land in the input.
    const inputs = [spec.input ?? []].flat().filter((i): i is string => typeof i === 'string' && !GLOB.test(i));
    if (inputs.some((i) => isWithin(output, normalizeUri(i)))) return undefined;
    return { output, ...(typeof spec.jobId === 'string' ? { jobId: spec.jobId } : {}) };
  } catch {
    return undefined;
  }
}

/** Removes the run's parts (nothing half-written may look complete) and writes `_FAILED`. */
async function markFailed(env: TaskEnv, output: string, marker: FailedMarker): Promise<void> {
  const out = env.storage.for(output);
  for await (const o of out.list(output)) if (OUTPUT_FILE.test(o.uri)) await out.delete(o.uri);
  await out.write(layout.failed(output), JSON.stringify(marker, null, 2));
}

/**
 * Whether the output is this run's to mark failed: it holds the claim, or can take it (it was
 * released, or left by a dead run) and the output holds no other run's completed job. An output
 * another run holds or completed is left alone.
 */
async function holdsOutput(env: TaskEnv, owner: ClaimOwner): Promise<boolean> {
  try {
    if ((await claimOutput(env.storage, owner)) === 'held') return true;
  } catch (e) {
    if (e instanceof OutputClaimedError) return false;
    throw e;
  }
  const success = layout.success(owner.output);
  if (!(await env.storage.for(success).stat(success))) return true;
  const manifest: { jobId?: string } = await env.storage
    .readJson<{ jobId?: string }>(layout.manifest(owner.output))
    .catch(() => ({}));
  if (manifest.jobId === owner.jobId || manifest.jobId?.startsWith(`${owner.jobId}-`)) return true;
  await releaseClaim(env.storage, owner);
  return false;
}

/**
 * The error that failed the job, from the failed-attempt records: the first failure of a task
 * that never published a result (the one whose retries ran out), else the first failure of all.
 */
async function firstRealError(env: TaskEnv, run: RunContext): Promise<FailedAttempt | undefined> {
  const records = await readFailedAttempts(env, run);
  const checked = new Set<string>();
  for (const r of records) {
    const key = `${r.phase}:${r.task}`;
    if (checked.has(key)) continue;
    if (checked.size === TASKS_CHECKED) break;
    checked.add(key);
    const published = r.phase === 'map' ? layout.mapIndex(run, r.task) : layout.reduceResult(run, r.task);
    if (!(await env.storage.for(published).stat(published))) return r;
  }
  return records[0];
}
