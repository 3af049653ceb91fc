import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULTS } from '../../functions/config.js';
import { type ErrorCause, JobCancelledError, JobFailedError, StreamingError } from '../../functions/errors.js';
import { assertJobModule, type Params, stepCount } from '../../functions/job.js';
import type { CommitResult, FailedMarker, JobManifest } from '../../functions/phases/commit.js';
import { abort } from '../../functions/phases/commit.js';
import type { PlanResult } from '../../functions/phases/plan.js';
import type { ShuffleResult } from '../../functions/phases/shuffle.js';
import { PHASES, type Phase } from '../../functions/runtime.js';
import { layout, newJobId, type RunContext } from '../../functions/spec.js';
import { StorageRouter } from '../../functions/storage/index.js';
import { fromItemLocation, type ItemLocation, normalizeUri } from '../../functions/storage/uri.js';
import { buildDefinition } from '../../infra/definition.js';
import { type JobHandle, type JobStatus, type OutputRecord, readResults } from '../client.js';
import { bundleJob, pinBundle } from './bundle.js';
import { executeDefinition } from './execute.js';
import { type TaskEvent, WorkerPool } from './pool.js';
import { makeRunTempDir, removeRunTempDir } from './temp.js';

export interface LocalRunOptions {
  /** Input files, directories or globs. */
  input: string | string[];
  /** Output directory. */
  output: string;
  /** @default the job's reducers, else DEFAULTS.reducers */
  reducers?: number;
  /** Bytes per map split. @default DEFAULTS.splitSize */
  splitSize?: number;
  /** Map-side sort/combine buffer per task. @default DEFAULTS.sortBufferBytes */
  sortBufferBytes?: number;
  params?: Params;
  /** Replace an output that holds a completed job. @default false */
  overwrite?: boolean;
  /** Scratch directory. @default the OS temporary directory */
  scratch?: string;
  /** @default false */
  keepScratch?: boolean;
  /** Worker threads. @default os.availableParallelism() */
  workers?: number;
  /** Heap limit of each worker in MiB (memory is bounded by settings, not by the input). @default DEFAULTS.workerHeapMiB */
  workerHeapMiB?: number;
  /** Attempts per task, the first included. @default DEFAULTS.taskAttempts */
  taskAttempts?: number;
  /**
   * Wait before a retry, in ms. Locally a retry need not back off from a loaded service, so
   * the definition's intervals are replaced by this. @default 100
   */
  retryDelayMs?: number;
  onProgress?: (p: Progress) => void;
  /** Aborting cancels the job: no _SUCCESS, `_FAILED` says cancelled, scratch removed. */
  signal?: AbortSignal;
  /** @default `<job file name>-<time>-<random>` */
  jobId?: string;
  /** Runs only this step (from 0) of a multi-step job, as a job of its own. @default every step, in order */
  step?: number;
  /** Fail on invalid UTF-8 in the input instead of reading it as U+FFFD. @default false */
  strictUtf8?: boolean;
}

export interface PhaseProgress {
  total: number | undefined;
  done: number;
  running: number;
  failedAttempts: number;
}

export interface Progress {
  phase: Phase;
  /** Of a multi-step job: the running step (from 0) and the number of steps (1 for a single job). */
  step: number;
  steps: number;
  map: PhaseProgress;
  reduce: PhaseProgress;
}

export interface LocalJobResult {
  jobId: string;
  output: string;
  /** Of the job, or of a multi-step job's last step. */
  manifest: JobManifest;
  /** A multi-step job's steps, in order (their outputs, in scratch, are gone unless keepScratch). */
  steps?: LocalJobResult[];
}

const LOCAL_ARN = (p: string) => `arn:aws:lambda:local:000000000000:function:streaming-${p}`;

/**
 * Runs a job on this machine (DESIGN §3 "Local"): bundles the job module, starts a pool of
 * worker threads, and executes the state machine definition, the same one the cloud runs, with
 * aws-local-stepfunctions, each task state bound to the pool.
 *
 * Returns at once a handle of the same shape as `startJob()`'s (status, wait, results, summary,
 * cancel). The handle is also a promise of the run's result: `await runLocal(...)` waits for it.
 */
export function runLocal(jobPath: string, options: LocalRunOptions): LocalJobHandle {
  return new LocalJobHandle(jobPath, options);
}

type LocalState = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A local run, followed like a cloud job (see JobHandle in sdk/client.ts). */
export class LocalJobHandle implements JobHandle, PromiseLike<LocalJobResult> {
  readonly id: string;
  readonly output: string;
  private readonly controller = new AbortController();
  private readonly done: Promise<LocalJobResult>;
  private progress: Progress = { phase: 'plan', step: 0, steps: 1, map: blank(), reduce: blank() };
  private state: LocalState = 'RUNNING';
  private readonly listeners = new Set<(p: Progress) => void>();

  constructor(jobPath: string, options: LocalRunOptions) {
    this.id = options.jobId ?? newJobId(path.basename(jobPath).replace(/\.[cm]?[jt]s$/, '') || 'job');
    this.output = normalizeUri(options.output);
    options.signal?.addEventListener('abort', () => this.controller.abort(), { once: true });
    this.done = execute(jobPath, { ...options, jobId: this.id, signal: this.controller.signal }, (p) => {
      this.progress = p;
      options.onProgress?.(p);
      for (const l of this.listeners) l(p);
    });
    this.done.then(
      () => {
        this.state = 'SUCCEEDED';
      },
      (e) => {
        this.state = e instanceof JobCancelledError ? 'CANCELLED' : 'FAILED';
      },
    );
  }

  // biome-ignore lint/suspicious/noThenProperty: awaitable by design: `await runLocal(...)` gives the run's result.
  then<A = LocalJobResult, B = never>(
    onFulfilled?: ((r: LocalJobResult) => A | PromiseLike<A>) | null,
    onRejected?: ((e: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.done.then(onFulfilled, onRejected);
  }

  async status(): Promise<JobStatus> {
    const p = this.progress;
    const phase =
      this.state !== 'RUNNING' ? 'done' : p.phase === 'shuffle' ? 'reduce' : p.phase === 'abort' ? 'done' : p.phase;
    return {
      id: this.id,
      state: this.state,
      phase,
      map: { done: p.map.done, total: p.map.total },
      reduce: { done: p.reduce.done, total: p.reduce.total },
    };
  }

  async wait(options: { onProgress?: (s: JobStatus) => void; signal?: AbortSignal } = {}): Promise<JobManifest> {
    const listener = () => void this.status().then((s) => options.onProgress?.(s));
    this.listeners.add(listener);
    try {
      const stop = new Promise<never>((_, reject) =>
        options.signal?.addEventListener(
          'abort',
          () => reject(new JobCancelledError('Stopped waiting (the job goes on; cancel() stops it).')),
          { once: true },
        ),
      );
      const r = await Promise.race([this.done, stop]);
      options.onProgress?.(await this.status());
      return r.manifest;
    } finally {
      this.listeners.delete(listener);
    }
  }

  async summary(): Promise<JobManifest> {
    return (await this.done).manifest;
  }

  async *results(): AsyncIterable<OutputRecord> {
    yield* readResults(new StorageRouter(), await this.summary());
  }

  async cancel(): Promise<void> {
    this.controller.abort();
    await this.done.catch(() => {});
  }
}

async function execute(
  jobPath: string,
  options: LocalRunOptions & { jobId: string },
  onProgress: (p: Progress) => void,
): Promise<LocalJobResult> {
  let pool: WorkerPool | undefined;
  let tmpDir: string | undefined;
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
    const bundle = await bundleJob(jobPath);
    tmpDir = await makeRunTempDir(options.scratch);
    const track = { progress: { phase: 'plan', step: 0, steps: 1, map: blank(), reduce: blank() } as Progress };
    const report = () => onProgress(structuredClone(track.progress));
    // The workers start loading the bundle now, while this thread loads it and the interpreter.
    pool = new WorkerPool(await pinBundle(bundle, tmpDir), workers, heapMiB, tmpDir, (e: TaskEvent) => {
      const progress = track.progress;
      progress.phase = e.phase;
      const p = e.phase === 'map' ? progress.map : e.phase === 'reduce' ? progress.reduce : undefined;
      if (p) {
        if (e.type === 'start') p.running++;
        else {
          p.running--;
          if (e.error) p.failedAttempts++;
          else p.done++;
        }
      }
      report();
    });
    const module = (await import(pathToFileURL(bundle).href)).default as unknown;
    assertJobModule(
      module,
      `job module ${jobPath} (its default export must be defineJob({...}) or definePipeline({...}))`,
    );
    track.progress.steps = stepCount(module);
    const storage = new StorageRouter();
    const output = normalizeUri(options.output);
    const input = Array.isArray(options.input) ? options.input : [options.input];
    return await runJob(pool, storage, options, { input, output, jobId: options.jobId }, track, report);
  } finally {
    // Terminated workers ran no `finally`: whatever local files they left go with the folder.
    await pool?.close();
    if (tmpDir) await removeRunTempDir(tmpDir);
  }
}

/**
 * Runs a job (every step of a multi-step one: the definition loops from Commit back to Plan)
 * through the state machine definition on the pool.
 */
async function runJob(
  pool: WorkerPool,
  storage: StorageRouter,
  options: LocalRunOptions,
  target: { input: string[]; output: string; jobId: string },
  track: { progress: Progress },
  report: () => void,
): Promise<LocalJobResult> {
  /** The manifest of each step, read as it commits (a step's output is gone once the next has read it). */
  const manifests: JobManifest[] = [];
  const workers = pool.size;
  const arns = Object.fromEntries(PHASES.map((p) => [p, LOCAL_ARN(p)])) as Record<Phase, string>;
  const phaseOf = new Map<string, Phase>(PHASES.map((p) => [arns[p], p]));
  const definition = buildDefinition({
    functions: arns,
    taskTimeoutSeconds: DEFAULTS.localTaskTimeoutSeconds,
    ...(options.taskAttempts !== undefined ? { taskAttempts: options.taskAttempts } : {}),
  });
  let run: RunContext | undefined;
  const invoke = async (resource: string, input: unknown) => {
    const phase = phaseOf.get(resource);
    if (!phase) throw new Error(`The local engine cannot run the task resource ${resource}`);
    const result = await pool.run(phase, input);
    if (phase === 'plan') {
      run = (result as PlanResult).job;
      if (run.step !== track.progress.step) {
        track.progress = { phase: 'plan', step: run.step, steps: run.steps, map: blank(), reduce: blank() };
        report();
      }
      track.progress.map.total = (result as PlanResult).plan.mapTasks;
    }
    if (phase === 'commit')
      manifests.push(await storage.readJson<JobManifest>(layout.manifest((result as CommitResult).output)));
    if (phase === 'shuffle') track.progress.reduce.total = (result as ShuffleResult).partitions;
    if (phase === 'map' && run?.reducers === 0) track.progress.reduce.total = 0;
    return result;
  };

  const { output } = target;
  const spec = {
    ...target,
    parallelism: workers,
    ...pick(options, [
      'reducers',
      'splitSize',
      'sortBufferBytes',
      'params',
      'overwrite',
      'scratch',
      'keepScratch',
      'step',
      'strictUtf8',
    ]),
  };
  const execution = await executeDefinition(definition, spec, {
    invoke,
    readItems: (loc) => readItems(storage, loc as ItemLocation),
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
        const env = { storage, attempt: 'cancel', tmpDir: pool.tmpDir };
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
    throw await failure(e, storage, output, run?.pipeline?.jobId ?? run?.jobId);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** What the local bridge's item-reading task does in place of an ItemReader. */
export async function readItems(storage: StorageRouter, location: ItemLocation): Promise<unknown> {
  const uri = fromItemLocation(location);
  return storage.readJson(uri);
}

function blank(): PhaseProgress {
  return { total: undefined, done: 0, running: 0, failedAttempts: 0 };
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
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
