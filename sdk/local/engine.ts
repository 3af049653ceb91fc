/**
 * The local engine's entry point: `runLocal()` runs a job on this machine (DESIGN §3 "Local").
 * The run itself is orchestrate.ts; its handle is handle.ts.
 */
import { InvalidJobError } from '../../functions/errors.js';
import { inStreamingTask } from '../../functions/in-task.js';
import { assertJobModule, type JobModule, type Params } from '../../functions/job.js';
import type { JobConf } from '../../functions/jobconf.js';
import type { JobManifest } from '../../functions/phases/commit.js';
import { definedIn } from '../define.js';
import type { JobSource } from './bundle.js';
import { LocalJobHandle } from './handle.js';
import type { Progress } from './task-progress.js';

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
  /**
   * Hadoop job properties, over the job's own `jobconf` (`-D name=value` on the CLI):
   * separators and key fields of stream programs, key-field partitioning and sorting,
   * reducers, output compression, task timeout (docs/stream-programs.md). @default none
   */
  jobconf?: JobConf;
  /** Environment variables of the stream programs, over the job's `env` (`--cmdenv`, Hadoop's `-cmdenv`). @default none */
  cmdenv?: Record<string, string>;
  /**
   * More files for the stream programs, besides the job's `files` (Hadoop's `-files`): paths
   * relative to the working directory, `path#name` to rename; each appears by name in the
   * programs' task directory. @default none
   */
  files?: string[];
  /**
   * Where each task attempt's stream program stderr is kept (the manifest names each file):
   * `<logDir>/<job id>/<phase>-<task>-<attempt>.stderr`. @default `<os tmpdir>/streaming-logs`
   */
  logDir?: string;
  /**
   * Told what the job says once as it starts (job properties knowingly ignored, options not
   * applied). @default a `streaming: warning: …` line on stderr
   */
  onWarning?: (message: string) => void;
}

export interface LocalJobResult {
  jobId: string;
  output: string;
  /** Of the job, or of a multi-step job's last step. */
  manifest: JobManifest;
  /** A multi-step job's steps, in order (their outputs, in scratch, are gone unless keepScratch). */
  steps?: LocalJobResult[];
}

/**
 * Runs a job on this machine: bundles the job module, starts a pool of worker threads, and
 * executes the state machine definition, the same one the cloud runs, with
 * aws-local-stepfunctions, each task state bound to the pool.
 *
 * Returns at once a handle of the same shape as `startJob()`'s (status, wait, results, summary,
 * cancel). The handle is also a promise of the run's result: `await runLocal(...)` waits for it.
 */
export function runLocal(job: string | JobModule, options: LocalRunOptions): LocalJobHandle {
  if (inStreamingTask())
    throw new InvalidJobError(
      'runLocal() was called inside a Streaming task: the module that defines a job handed over by value (or executor functions) is loaded in every worker, top-level code included. Run the driver only in the main module: if (isMain(import.meta)) { ... }.',
    );
  if (typeof job === 'string') return new LocalJobHandle({ source: job }, options);
  assertJobModule(job, `job "${(job as { name?: unknown })?.name ?? '(no name)'}" given to runLocal()`);
  const module = definedIn(job);
  if (!module)
    throw new InvalidJobError(
      `runLocal() cannot tell which module defined job "${job.name}": give the path of its module instead.`,
    );
  return new LocalJobHandle({ source: { module, job: job.name }, job }, options);
}

/**
 * What a local run executes: a job module's path, or a module and the export to run (runLocal()
 * of a job object, executor calls), with the job at hand (the main thread then loads no copy).
 */
export interface LocalRunSource {
  source: JobSource;
  job?: JobModule;
}
