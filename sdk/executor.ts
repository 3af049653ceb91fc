/**
 * The executor API (what Lithops and PyWren users reach for first): `map(fn, inputs)` and
 * `mapReduce(mapFn, inputs, reduceFn)` over a list of JSON values or of objects, on the same
 * engine and the same state machine as any job, locally or on a deployed StreamingJob.
 *
 * How a function reaches the workers (docs/executor.md): it does not travel. JavaScript cannot
 * ship a closure, so the function must be an export of a module; the local engine bundles that
 * module for its worker threads (as it bundles a job module), and a deployment bundles it into
 * its Lambda functions (`new StreamingJob(this, 'Sweep', { job: 'sweep.ts' })`). A call names
 * the function by its exported name. The module is loaded in every worker, top-level code
 * included: its driver belongs under `if (isMain(import.meta))`.
 */
import { realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidJobError, StreamingError } from '../functions/errors.js';
import { EXECUTOR_PARAMS, type ExecutorItem, executorJob } from '../functions/executor.js';
import { inStreamingTask } from '../functions/in-task.js';
import type { JobManifest } from '../functions/phases/commit.js';
import { newJobId } from '../functions/spec.js';
import { StorageRouter } from '../functions/storage/index.js';
import { normalizeUri } from '../functions/storage/uri.js';
import { type JobHandle, type JobStatus, readResults, type StartJobOptions, startJob } from './client.js';
import { ssmRegistry } from './cloud/registry.js';
import { callerFile } from './define.js';
import type { LocalRunOptions } from './local/engine.js';
import { LocalJobHandle } from './local/handle.js';
import { tempBase } from './local/temp.js';

export interface ExecutorOptions
  extends Pick<LocalRunOptions, 'workers' | 'workerHeapMiB' | 'taskAttempts' | 'retryDelayMs' | 'scratch'>,
    Pick<StartJobOptions, 'stepFunctions' | 'registry'> {
  /**
   * The module that exports the functions the calls name (a path or a file URL; locally).
   * @default the module that called executor()
   */
  module?: string | URL;
  /**
   * Run on this deployed StreamingJob (its name), whose `job` module exports the functions.
   * Inputs and results pass through its bucket (`<inputPrefix>executor/`, `<outputPrefix>executor/`)
   * and are deleted once read. @default the local engine
   */
  deployed?: string;
  /** Inputs per map task. @default locally, about four tasks per worker; deployed, 1 (one invocation each) */
  chunkSize?: number;
}

/** An object input: its URI, and its text as the function receives it. */
export interface ObjectInput {
  uri: string;
  text: string;
}

/** Object inputs: URIs of objects (s3:// or local), or of prefixes ending in `/` (every object under them). */
export interface Objects {
  objects: string | string[];
}

/** A call in flight: awaitable for its result; also followed or stopped like a job. */
export interface Future<T> extends PromiseLike<T> {
  status(): Promise<JobStatus>;
  /** The run's manifest (tasks, records, timings), once it succeeded. */
  summary(): Promise<JobManifest>;
  cancel(): Promise<void>;
  result(): Promise<T>;
}

export interface Executor {
  /** `fn` over every input, one call each, in parallel; the results in input order (objects: in URI order). */
  map<I, R>(fn: (input: I) => R | Promise<R>, inputs: readonly I[]): Future<R[]>;
  map<R>(fn: (input: ObjectInput) => R | Promise<R>, inputs: Objects): Future<R[]>;
  /** `mapFn` over every input, then `reduceFn` once over all their results (in input order). */
  mapReduce<I, M, R>(
    mapFn: (input: I) => M | Promise<M>,
    inputs: readonly I[],
    reduceFn: (results: M[]) => R | Promise<R>,
  ): Future<R>;
  mapReduce<M, R>(
    mapFn: (input: ObjectInput) => M | Promise<M>,
    inputs: Objects,
    reduceFn: (results: M[]) => R | Promise<R>,
  ): Future<R>;
}

/**
 * Whether `meta` (a module's `import.meta`) is the program's main module: false in the copies
 * of it that worker threads and Lambda functions load. The guard of a module's driver code.
 */
export function isMain(meta: { url: string }): boolean {
  const entry = process.argv[1];
  if (!entry || !meta.url.startsWith('file:')) return false;
  try {
    return realpathSync(fileURLToPath(meta.url)) === realpathSync(path.resolve(entry));
  } catch {
    return false;
  }
}

/** An executor over a module's exported functions: locally by default, or on a deployed StreamingJob. */
export function executor(options: ExecutorOptions = {}): Executor {
  refuseInTask();
  const given = options.module;
  const module =
    given === undefined
      ? callerFile([fileURLToPath(import.meta.url)])
      : given instanceof URL || given.startsWith('file:')
        ? fileURLToPath(given)
        : path.resolve(given);
  if (!module && !options.deployed)
    throw new InvalidJobError('executor() cannot tell which module exports the functions: give { module }.');
  const call = (mapFn: Fn, inputs: readonly unknown[] | Objects, reduceFn?: Fn) =>
    new Call(options, module ?? '', mapFn, inputs, reduceFn);
  return {
    map: (fn: Fn, inputs: readonly unknown[] | Objects) => call(fn, inputs),
    mapReduce: (mapFn: Fn, inputs: readonly unknown[] | Objects, reduceFn: Fn) => call(mapFn, inputs, reduceFn),
  } as Executor;
}

// biome-ignore lint/suspicious/noExplicitAny: the functions' own types are checked at the overloads above.
type Fn = (...args: any[]) => unknown;

function refuseInTask(): void {
  if (inStreamingTask())
    throw new InvalidJobError(
      'An executor call was made inside a Streaming task: the module of executor functions is loaded in every worker, top-level code included. Run the driver only in the main module: if (isMain(import.meta)) { ... }.',
    );
}

/** The exported name a call sends for a function. */
function nameOf(fn: unknown, role: string): string {
  if (typeof fn !== 'function') throw new InvalidJobError(`${role} must be a function exported by its module.`);
  if (!fn.name || fn.name === 'anonymous' || fn.name.includes(' '))
    throw new InvalidJobError(
      `${role} has no name: executor functions are found in their module by their exported name (export function name(...) or export const name = ...).`,
    );
  return fn.name;
}

class Call<T> implements Future<T> {
  /** The handle kept in an object: a local handle is itself awaitable, and await would unwrap it. */
  private readonly started: Promise<{ handle: JobHandle }>;
  private readonly done: Promise<T>;
  /** Kept: the output it is read from is deleted once the results are read. */
  private manifest: JobManifest | undefined;

  constructor(
    options: ExecutorOptions,
    module: string,
    mapFn: Fn,
    inputs: readonly unknown[] | Objects,
    reduceFn?: Fn,
  ) {
    refuseInTask();
    const params: Record<string, string> = { [EXECUTOR_PARAMS.map]: nameOf(mapFn, 'map function') };
    if (reduceFn) params[EXECUTOR_PARAMS.reduce] = nameOf(reduceFn, 'reduce function');
    const run = prepare(options, module, params, inputs, reduceFn !== undefined);
    this.started = run.then((r) => ({ handle: r.handle }));
    this.done = run.then(async (r) => {
      try {
        const manifest = await r.handle.wait();
        this.manifest = manifest;
        return (await collect(r.storage, manifest, reduceFn !== undefined)) as T;
      } finally {
        await r.cleanup();
      }
    });
    this.done.catch(() => {});
  }

  async summary(): Promise<JobManifest> {
    await this.done;
    return this.manifest!;
  }

  async status(): Promise<JobStatus> {
    return (await this.started).handle.status();
  }

  async cancel(): Promise<void> {
    await (await this.started).handle.cancel();
    await this.done.catch(() => {});
  }

  result(): Promise<T> {
    return this.done;
  }

  // biome-ignore lint/suspicious/noThenProperty: awaitable by design: `await ex.map(...)` gives the results.
  then<A = T, B = never>(
    onFulfilled?: ((r: T) => A | PromiseLike<A>) | null,
    onRejected?: ((e: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.done.then(onFulfilled, onRejected);
  }
}

interface Started {
  handle: JobHandle;
  storage: StorageRouter;
  cleanup(): Promise<void>;
}

/** Writes the inputs as the run's input file, starts the run, and says how to clean up after it. */
async function prepare(
  options: ExecutorOptions,
  module: string,
  params: Record<string, string>,
  inputs: readonly unknown[] | Objects,
  reduces: boolean,
): Promise<Started> {
  const storage = new StorageRouter();
  const items = await itemsOf(storage, inputs);
  if (items.length === 0) throw new InvalidJobError('An executor call needs at least one input.');
  const lines = items.map((item) => {
    const line = JSON.stringify(item);
    if (line === undefined) throw new InvalidJobError(`Input ${item.i} is not JSON-serialisable.`);
    return `${line}\n`;
  });
  const body = lines.join('');
  const workers = options.workers ?? os.availableParallelism();
  const chunk = Math.max(1, options.chunkSize ?? (options.deployed ? 1 : Math.ceil(items.length / (4 * workers))));
  // Splits are byte ranges: a split of the average bytes of `chunk` lines holds about `chunk` inputs.
  const splitSize = Math.max(1, Math.floor((Buffer.byteLength(body) * chunk) / items.length));
  const reducers = reduces ? 1 : 0;
  const id = newJobId('executor');

  if (options.deployed) {
    const registry = options.registry ?? ssmRegistry();
    const job = await registry(options.deployed);
    const input = `s3://${job.bucket}/${job.inputPrefix}executor/${id}.jsonl`;
    const output = `s3://${job.bucket}/${job.outputPrefix}executor/${id}/`;
    await storage.for(input).write(input, body);
    const handle = await startJob({
      job: options.deployed,
      name: id,
      input,
      output,
      reducers,
      splitSize,
      params,
      registry: async () => job,
      ...(options.stepFunctions ? { stepFunctions: options.stepFunctions } : {}),
      storage,
    });
    return {
      handle,
      storage,
      cleanup: async () => {
        await storage.for(input).delete(input);
        for await (const o of storage.for(output).list(output)) await storage.for(o.uri).delete(o.uri);
      },
    };
  }

  const base = tempBase(options.scratch);
  await fs.mkdir(base, { recursive: true });
  const dir = await fs.mkdtemp(path.join(base, 'streaming-executor-'));
  const input = path.join(dir, 'inputs.jsonl');
  await fs.writeFile(input, body);
  const handle = new LocalJobHandle(
    { source: { module, executor: true }, job: executorJob({}, module) },
    {
      input,
      output: path.join(dir, 'out'),
      reducers,
      splitSize,
      params,
      jobId: id,
      ...pick(options, ['workers', 'workerHeapMiB', 'taskAttempts', 'retryDelayMs', 'scratch']),
    },
  );
  return { handle, storage, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** The input lines: each JSON value with its index, or each object (prefixes listed) in URI order. */
async function itemsOf(storage: StorageRouter, inputs: readonly unknown[] | Objects): Promise<ExecutorItem[]> {
  if (Array.isArray(inputs)) return inputs.map((value, i) => ({ i, value }));
  const objects = (inputs as Objects).objects;
  if (objects === undefined)
    throw new InvalidJobError('Inputs are a list of JSON values, or { objects: <URIs or prefixes ending in "/"> }.');
  const uris: string[] = [];
  for (const given of [objects].flat()) {
    const uri = normalizeUri(given);
    if (!given.endsWith('/')) uris.push(uri);
    else for await (const o of storage.for(uri).list(uri)) uris.push(o.uri);
  }
  return [...new Set(uris)].sort().map((uri, i) => ({ i, uri }));
}

/** The results of a finished call, read from its output: by input index, or the reduce's one result. */
async function collect(storage: StorageRouter, manifest: JobManifest, reduced: boolean): Promise<unknown> {
  const results: unknown[] = [];
  for await (const r of readResults(storage, manifest)) {
    if (reduced) return r.value;
    results[r.key as number] = r.value;
  }
  if (reduced) throw new StreamingError('The reduce of an executor call wrote no result.');
  return results;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
