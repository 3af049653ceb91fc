/**
 * How a local run goes (DESIGN §3 "Local"): bundle the job module, start a pool of worker
 * threads, and execute the state machine definition, the same one the cloud runs, with
 * aws-local-stepfunctions, each task state bound to the pool. Cancellation aborts the
 * execution and runs Abort; a failure is turned into the error the user should see.
 */
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../../functions/config.js';
import { type ErrorCause, JobCancelledError, JobFailedError, StreamingError } from '../../functions/errors.js';
import { assertJobModule, stepCount } from '../../functions/job.js';
import { abort, type FailedMarker } from '../../functions/phases/abort.js';
import type { CommitResult, JobManifest } from '../../functions/phases/commit.js';
import type { PlanResult } from '../../functions/phases/plan.js';
import type { ShuffleResult } from '../../functions/phases/shuffle.js';
import { PHASES, type Phase } from '../../functions/runtime.js';
import { type JobSpec, layout, type RunContext } from '../../functions/spec.js';
import { StorageRouter } from '../../functions/storage/index.js';
import { type ItemLocation, normalizeUri } from '../../functions/storage/uri.js';
import { buildDefinition } from '../../infra/definition.js';
import { bundleJob, pinBundle, sourceModule } from './bundle.js';
import type { LocalJobResult, LocalRunOptions, LocalRunSource } from './engine.js';
import { executeDefinition, loadInterpreter } from './execute.js';
import { readItems, writeObject } from './items.js';
import { WorkerPool } from './pool.js';
import { type Progress, ProgressTracker } from './task-progress.js';
import { makeRunTempDir, removeRunTempDir } from './temp.js';

/** The Lambda ARN the local definition names for a phase; the engine binds each to the worker pool. */
export function localFunctionArn(phase: Phase): string {
  return `arn:aws:lambda:local:000000000000:function:streaming-${phase}`;
}

/** Runs the job to its end: its result, or the error that ended it. */
export async function executeJob(
  run: LocalRunSource,
  options: LocalRunOptions & { jobId: string },
  onProgress: (p: Progress) => void,
): Promise<LocalJobResult> {
  let pool: WorkerPool | undefined;
  let tmpDir: string | undefined;
  let orphansRemoved: Promise<void> | undefined;
  try {
    const workers = options.workers ?? os.availableParallelism();
    if (!Number.isInteger(workers) || workers < 1)
      throw new StreamingError(`workers must be a whole number >= 1 (got ${workers})`);
    const heapMiB = options.workerHeapMiB ?? DEFAULTS.workerHeapMiB;
    const sortMiB = (options.sortBufferBytes ?? DEFAULTS.sortBufferBytes) / 2 ** 20;
    if (!(heapMiB >= 2 * sortMiB + 64))
      throw new StreamingError(
        `The worker heap (workerHeapMiB, --worker-memory) is ${heapMiB} MiB; it must be at least twice the sort buffer ` +
          `(sortBufferBytes, --sort-buffer: ${sortMiB} MiB) plus 64 MiB, i.e. ${Math.ceil(2 * sortMiB + 64)} MiB: raise it or lower the sort buffer.`,
      );
    const jobPath = sourceModule(run.source);
    const progress = new ProgressTracker(onProgress);
    // The threads start first: their start-up overlaps with making the run's folder and finding
    // or building the bundle, which they load once it is pinned there.
    pool = new WorkerPool(workers, heapMiB, progress.onTaskEvent, {
      // A stream program's relative paths mean what they mean beside the job file, wherever the CLI runs.
      programRoot: path.dirname(path.resolve(jobPath)),
      logDir: options.logDir ?? path.join(os.tmpdir(), 'streaming-logs'),
      jobModule: jobPath,
    });
    const made = await makeRunTempDir(options.scratch);
    tmpDir = made.dir;
    orphansRemoved = made.orphansRemoved;
    const bundle = await bundleJob(run.source);
    pool.load(await pinBundle(bundle, tmpDir), tmpDir);
    // A job handed over by value is at hand; a job module is loaded by the workers alone, and
    // the first to load it says whether it holds a job, and how many steps (pool.loaded).
    // Meanwhile this thread loads the state machine interpreter.
    if (run.job)
      assertJobModule(
        run.job,
        `job module ${jobPath} (its default export must be defineJob({...}) or definePipeline({...}))`,
      );
    const [steps] = await Promise.all([run.job ? stepCount(run.job) : pool.loaded, loadInterpreter()]);
    progress.setSteps(steps);
    const storage = new StorageRouter();
    const output = normalizeUri(options.output);
    const input = Array.isArray(options.input) ? options.input : [options.input];
    return await runDefinition(pool, storage, options, { input, output, jobId: options.jobId }, progress);
  } finally {
    // Terminated workers ran no `finally`: whatever local files they left go with the folder.
    await pool?.close();
    if (tmpDir) await removeRunTempDir(tmpDir);
    await orphansRemoved;
  }
}

/** The run's options that go into the job spec as they are, when the caller gave them. */
const SPEC_OPTIONS = [
  'reducers',
  'splitSize',
  'sortBufferBytes',
  'params',
  'overwrite',
  'scratch',
  'keepScratch',
  'step',
  'strictUtf8',
  'jobconf',
  'cmdenv',
] as const satisfies readonly (keyof LocalRunOptions & keyof JobSpec)[];

/** The options among `keys` that the caller set (an option given as undefined is not set). */
function givenOptions<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Runs a job (every step of a multi-step one: the definition loops from Commit back to Plan)
 * through the state machine definition on the pool.
 */
async function runDefinition(
  pool: WorkerPool,
  storage: StorageRouter,
  options: LocalRunOptions,
  target: { input: string[]; output: string; jobId: string },
  progress: ProgressTracker,
): Promise<LocalJobResult> {
  /** The manifest of each step, read as it commits (a step's output is gone once the next has read it). */
  const manifests: JobManifest[] = [];
  const workers = pool.size;
  const arns = Object.fromEntries(PHASES.map((p) => [p, localFunctionArn(p)])) as Record<Phase, string>;
  const phaseOf = new Map<string, Phase>(PHASES.map((p) => [arns[p], p]));
  const definition = buildDefinition({
    functions: arns,
    taskTimeoutSeconds: DEFAULTS.localTaskTimeoutSeconds,
    ...(options.taskAttempts !== undefined ? { taskAttempts: options.taskAttempts } : {}),
  });
  let run: RunContext | undefined;
  const said = new Set<string>();
  const warn = options.onWarning ?? ((m: string) => process.stderr.write(`streaming: warning: ${m}\n`));
  const invoke = async (resource: string, input: unknown) => {
    const phase = phaseOf.get(resource);
    if (!phase) throw new Error(`The local engine cannot run the task resource ${resource}`);
    const pending = pool.run(phase, input);
    // The run's last task has started: the other threads can go while it runs.
    if (phase === 'commit' && run && run.step === run.steps - 1) pool.retireIdle();
    const result = await pending;
    if (phase === 'plan') {
      run = (result as PlanResult).job;
      // Each step plans; what the job says is said once.
      for (const w of (result as PlanResult).warnings ?? [])
        if (!said.has(w)) {
          said.add(w);
          warn(w);
        }
      progress.planned(run.step, run.steps, (result as PlanResult).plan.mapTasks);
    }
    if (phase === 'commit')
      manifests.push(await storage.readJson<JobManifest>(layout.manifest((result as CommitResult).output)));
    if (phase === 'shuffle') progress.reducersKnown((result as ShuffleResult).tasks);
    if (phase === 'map' && run?.reducers === 0) progress.reducersKnown(0);
    return result;
  };

  const { output } = target;
  const spec = {
    ...target,
    parallelism: workers,
    ...givenOptions(options, SPEC_OPTIONS),
    // The caller's files are theirs: relative to where they run, not to the job file.
    ...(options.files ? { files: options.files.map(absoluteFileEntry) } : {}),
  };
  const execution = await executeDefinition(definition, spec, {
    invoke,
    readItems: (loc) => readItems(storage, loc as ItemLocation),
    writeObject: (loc, body) => writeObject(storage, loc, body),
    concurrency: workers,
    retryDelayMs: options.retryDelayMs ?? 100,
  });

  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    execution.abort();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = (await execution.result) as unknown as CommitResult;
    const manifest = manifests[manifests.length - 1]!;
    if (manifests.length === 1) return { jobId: result.jobId, output: result.output, manifest };
    const steps = manifests.map((m) => ({ jobId: m.jobId, output: m.output, manifest: m }));
    return { jobId: target.jobId, output: result.output, manifest, steps };
  } catch (e) {
    if (cancelled) {
      await pool.close();
      if (run) {
        const env = { storage, attempt: 'cancel', tmpDir: pool.tmpDir ?? os.tmpdir() };
        await abort(env, {
          job: run,
          error: {
            Error: 'JobCancelledError',
            Cause: JSON.stringify({ errorType: 'JobCancelledError', errorMessage: 'The job was cancelled.' }),
          },
        });
      }
      throw new JobCancelledError(`The job was cancelled; ${output} holds no result (see _FAILED).`);
    }
    throw await failure(e, storage, output, run?.pipeline?.jobId ?? run?.jobId ?? target.jobId);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** A `path` or `path#name` files entry with its path made absolute. */
function absoluteFileEntry(entry: string): string {
  const hash = entry.lastIndexOf('#');
  return hash > 0 ? `${path.resolve(entry.slice(0, hash))}${entry.slice(hash)}` : path.resolve(entry);
}

/** The error a failed execution means to the user: the cause Abort recorded, or the one the state machine saw. */
async function failure(e: unknown, storage: StorageRouter, output: string, jobId: string | undefined): Promise<Error> {
  const raw = (e as { cause?: unknown }).cause ?? e;
  const err = raw instanceof Error ? raw : new Error(String(raw));
  let cause: Partial<ErrorCause> = {};
  try {
    cause = JSON.parse(err.message) as ErrorCause;
  } catch {
    cause = { errorType: err.name, errorMessage: err.message };
  }
  let marker: FailedMarker | undefined;
  if (jobId) {
    try {
      const m = await storage.readJson<FailedMarker>(layout.failed(output));
      if (m.jobId === jobId) marker = m;
    } catch {}
  }
  const type = marker?.error ?? cause.errorType ?? err.name;
  const message = marker?.message ?? cause.errorMessage ?? err.message;
  const stack = (marker?.stack ?? cause.stackTrace)?.join('\n');
  return new JobFailedError(message, type, output, stack, marker !== undefined);
}
