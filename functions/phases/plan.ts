import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { InputNotFoundError, InvalidJobError, OutputExistsError, StreamingError } from '../errors.js';
import { specFromEvent } from '../events.js';
import type { Chunk } from '../format/lines.js';
import { type AnyJob, type InputFormat, isPipeline, type JobModule, stepCount, stepOf } from '../job.js';
import {
  type JobSpec,
  layout,
  newJobId,
  OUTPUT_FILE,
  type ResolvedSpec,
  type RunContext,
  resolveSpec,
  runContextOf,
} from '../spec.js';
import type { ObjectInfo, Storage, StorageRouter } from '../storage/index.js';
import { GLOB, type ItemLocation, isGzipUri, isS3Uri, normalizeUri, parseUri, toItemLocation } from '../storage/uri.js';
import { type ClaimOwner, claimOutput, claimOwner, releaseClaim } from './claim.js';
import { checkDelivery, type DuplicateDelivery } from './delivery.js';
import type { TaskEnv } from './env.js';
import { startPipeline } from './pipeline.js';
import { splitItems } from './split-items.js';
import { countsWordsOnBytes } from './word-count.js';
import { equalWorkSizes, sampledWork, type WorkPiece } from './work-estimate.js';

/** One map task's input: chunks of one or more objects. */
export interface Split {
  index: number;
  chunks: Chunk[];
  /** Input bytes (compressed size for gzip). */
  bytes: number;
}

export interface PlanResult {
  job: RunContext;
  plan: {
    mapTasks: number;
    inputObjects: number;
    inputBytes: number;
    /** Where the map manifest (the splits) is, for the Distributed Map's ItemReader. */
    splits: ItemLocation;
    /** Where both Distributed Maps' ResultWriter writes their children's results. */
    mapRuns: ItemLocation;
  };
  /** To say once, as the job starts: job properties knowingly ignored, options not applied. */
  warnings?: string[];
}

/** The execution running Plan, as the definition's first state stamps it on the input (`$$.Execution.Id`). */
function executionOf(event: unknown): string | undefined {
  const stamp = (event as { execution?: { id?: unknown } } | null)?.execution;
  return typeof stamp?.id === 'string' ? stamp.id : undefined;
}

/**
 * The Plan task: an event delivered again (delivery.ts) is not run twice; Plan returns
 * `duplicate`, having done nothing, and the state machine ends there.
 */
export async function planTask(
  env: TaskEnv,
  module: JobModule,
  event: unknown,
): Promise<PlanResult | DuplicateDelivery> {
  const output = (specFromEvent(event) as Partial<JobSpec> | undefined)?.output;
  if (typeof output === 'string') {
    const duplicate = await checkDelivery(env.storage, event, executionOf(event), output);
    if (duplicate) return duplicate;
  }
  return plan(env, module, event);
}

/**
 * Plan (DESIGN §2): normalise the trigger's event into a spec and resolve it, claim the output
 * (claim.ts: a live run's output is refused), list the inputs, cut them into splits and write
 * the map manifest. Refuses an output that holds a completed job unless `overwrite`, and clears
 * what an earlier run left in it, so parts of two runs never mix.
 */
export async function plan(env: TaskEnv, module: JobModule, event: unknown): Promise<PlanResult> {
  let raw = (specFromEvent(event) ?? {}) as JobSpec;
  const execution = executionOf(event);
  let owner: ClaimOwner | undefined;
  let created = false;
  const claim = async (o: ClaimOwner) => {
    owner = o;
    if ((await claimOutput(env.storage, o)) === 'created') created = true;
  };
  try {
    // A multi-step job started as a whole (not one step by hand) begins with its first step;
    // its final output is claimed before anything else, for the whole run.
    if (
      isPipeline(module) &&
      module.steps.length > 1 &&
      raw.step === undefined &&
      !raw.pipeline &&
      typeof raw.output === 'string'
    ) {
      const jobId = raw.jobId ?? newJobId(module.name);
      await claim({ output: normalizeUri(raw.output), jobId, ...(execution ? { execution } : {}) });
      raw = await startPipeline(env.storage, module, { ...raw, jobId });
    }
    const step = raw.step ?? 0;
    const job = stepOf(module, step);
    const spec = resolveSpec(raw, job);
    if (step === 0 && spec.pipeline?.warnings) spec.warnings.unshift(...spec.pipeline.warnings);
    const run = runContextOf(spec, job, { index: step, of: stepCount(module) });
    checkProgramFiles(env, job, spec.files);
    // Names the execution in the claim, so a refused run is told which execution to cancel.
    if (execution) run.execution = execution;
    // Before anything is written: the output becomes this run's, or the run stops here.
    await claim(claimOwner(run));
    return await planRun(env, spec, run, job);
  } catch (e) {
    // A retry claims again; a run that ends here leaves the output free.
    const ends = e instanceof StreamingError && !e.retryable;
    if (owner && (created || ends)) await releaseClaim(env.storage, owner).catch(() => {});
    throw e;
  }
}

/** Plan's work once the output is the run's: clear it, list and split the inputs, write the manifests. */
async function planRun(env: TaskEnv, spec: ResolvedSpec, run: RunContext, job: AnyJob): Promise<PlanResult> {
  await prepareOutput(env.storage, spec);
  const objects = await listInputs(env.storage, spec.input);
  // A job with a combiner sorts, writes and merges a whole table per map task: measured, the
  // tasks that shrinking splits add cost it more than the idle time they save (docs/performance.md).
  const perTaskTable = run.reducers > 0 && (job.combine !== undefined || job.combiner !== undefined);
  // Lines cost a map function time of their own, but not the word count on bytes, nor whole records.
  const perLine = run.inputFormat !== 'whole' && !countsWordsOnBytes(job, run.inputFormat, run.reducers);
  const equalWork =
    perTaskTable && perLine ? equalWorkSplitSizes(spec, objects, () => sampledWork(env.storage, objects)) : undefined;
  // Equal-work cuts are exact: no slop moves them to an object's end.
  const splits = equalWork
    ? makeSplits(objects, equalWork, run.inputFormat, 1)
    : makeSplits(objects, splitSizes(spec, objects, perTaskTable), run.inputFormat);
  const { items, listing } = splitItems(
    splits,
    layout.splitChunks(run),
    Math.min(DEFAULTS.inlineSplitBytes, splitJsonRoom(run)),
  );
  const storage = env.storage.for(run.scratch);
  await storage.write(layout.spec(run), JSON.stringify({ ...spec, job: job.name, jobStart: Date.now() }, null, 2));
  // The chunk lists before the items that name them.
  if (listing !== undefined) await storage.write(layout.splitChunks(run), listing);
  await storage.write(layout.splits(run), JSON.stringify(items));
  // Small, for clients following progress (the splits file can be megabytes).
  // `planned`: a client counts only the Map Runs that started after it (a multi-step job's earlier steps had theirs).
  const progress = { mapTasks: splits.length, reducers: run.reducers, planned: Date.now() };
  await storage.write(layout.plan(run), JSON.stringify(progress));
  // A client follows a multi-step job by its own id: this names the step running now.
  if (run.pipeline) {
    const whole = layout.plan({ scratch: run.pipeline.scratch });
    await env.storage.for(whole).write(whole, JSON.stringify({ ...progress, job: run }));
  }
  return {
    job: run,
    plan: {
      mapTasks: splits.length,
      inputObjects: objects.length,
      inputBytes: objects.reduce((n, o) => n + o.size, 0),
      splits: toItemLocation(layout.splits(run)),
      mapRuns: toItemLocation(layout.mapRuns(run)),
    },
    ...(spec.warnings.length > 0 ? { warnings: spec.warnings } : {}),
  };
}

/**
 * Refuses, before any task runs, files the stream programs need that are not there (where the
 * programs' files are known: locally; a deployment checked them when it was synthesized).
 */
function checkProgramFiles(env: TaskEnv, job: AnyJob, callerFiles: string[]): void {
  if (env.programRoot === undefined) return;
  const root = path.resolve(env.programRoot);
  const missing = [...(job.files ?? []), ...callerFiles]
    .map((f) => (f.lastIndexOf('#') > 0 ? f.slice(0, f.lastIndexOf('#')) : f))
    .filter((f) => !existsSync(path.resolve(root, f)));
  if (missing.length > 0)
    throw new InvalidJobError(
      `files: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist (paths are relative to the job file's directory, ${root}).`,
    );
}

async function prepareOutput(router: StorageRouter, spec: ResolvedSpec): Promise<void> {
  const storage = router.for(spec.output);
  if (!spec.overwrite && (await storage.stat(layout.success(spec.output)))) throw new OutputExistsError(spec.output);
  for await (const o of storage.list(spec.output)) if (OUTPUT_FILE.test(o.uri)) await storage.delete(o.uri);
}

/** Hidden by Hadoop's convention: a name starting with `_` or `.` (markers, temporaries). */
const HIDDEN_SEGMENT = /(?:^|\/)[_.]/;
const isHidden = (rel: string) => HIDDEN_SEGMENT.test(rel);

/** Every input object, sorted by URI, without duplicates. */
export async function listInputs(router: StorageRouter, inputs: string[]): Promise<ObjectInfo[]> {
  const found = new Map<string, ObjectInfo>();
  for (const input of inputs) {
    let matched = 0;
    if (GLOB.test(input)) {
      for (const info of await expandGlob(router, input)) {
        found.set(info.uri, info);
        matched++;
      }
      if (matched === 0) throw new InputNotFoundError(input);
      continue;
    }
    const storage = router.for(input);
    const single = await storage.stat(input);
    if (single) {
      found.set(single.uri, single);
      continue;
    }
    const root = input.replace(/\/+$/, '');
    const all = storage.listNow ? storage.listNow(input) : await listed(storage, input);
    if (all.length === 0 && !(await isDirectory(input))) throw new InputNotFoundError(input);
    const visible = all.filter((o) => !isHidden(o.uri.slice(root.length + 1)));
    // One folder's listing has no duplicates: 258,714 short documents went through a map of
    // their URIs for nothing (~0.2 s).
    if (inputs.length === 1) return sortedByUri(visible);
    for (const o of visible) found.set(o.uri, o);
  }
  return sortedByUri([...found.values()]);
}

/** Every object `list` gives under a prefix. */
async function listed(storage: Storage, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of storage.list(prefix)) out.push(o);
  return out;
}

/** Objects sorted by URI. */
function sortedByUri(objects: ObjectInfo[]): ObjectInfo[] {
  // A folder's listing comes sorted: sorting 250,000 URIs that share a long prefix again took ~0.3 s.
  for (let i = 1; i < objects.length; i++)
    if (objects[i - 1]!.uri > objects[i]!.uri) return objects.sort((a, b) => (a.uri < b.uri ? -1 : 1));
  return objects;
}

/** Objects matching a glob: the file system's own walk locally; on S3, a listing of the literal prefix, filtered. */
async function expandGlob(router: StorageRouter, pattern: string): Promise<ObjectInfo[]> {
  const loc = parseUri(pattern);
  // Imported when a glob is met: a quarter of the code every worker thread would otherwise load.
  if (loc.kind === 'file') {
    const { glob } = await import('tinyglobby');
    const paths = await glob(loc.path, { absolute: true, onlyFiles: true, dot: false });
    const infos = await Promise.all(paths.map((p) => router.for(normalizeUri(p)).stat(normalizeUri(p))));
    return infos.filter((i): i is ObjectInfo => i !== undefined);
  }
  const literal = loc.key.slice(0, loc.key.search(GLOB));
  const dir = literal.slice(0, literal.lastIndexOf('/') + 1);
  const { default: picomatch } = await import('picomatch');
  const matches = picomatch(loc.key, { dot: false });
  const out: ObjectInfo[] = [];
  const bucket = `s3://${loc.bucket}/`;
  for await (const o of router.for(pattern).list(bucket + dir)) if (matches(o.uri.slice(bucket.length))) out.push(o);
  return out;
}

async function isDirectory(uri: string): Promise<boolean> {
  const loc = parseUri(uri);
  if (loc.kind !== 'file') return false;
  const { stat } = await import('node:fs/promises');
  return stat(loc.path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * Room a map task's input leaves for its split's chunks: the quota, less the job's context and a
 * margin. Refuses a context that leaves too little (large params).
 */
export function splitJsonRoom(run: RunContext): number {
  const MARGIN = 1024; // Step Functions' own wrapping of an item, rounding
  const MIN_ROOM = 16 * 1024;
  const frame = Buffer.byteLength(
    JSON.stringify({ job: run, split: { index: 9_999_999, chunks: [], bytes: Number.MAX_SAFE_INTEGER } }),
  );
  const room = DEFAULTS.statePayloadBytes - frame - MARGIN;
  if (room < MIN_ROOM)
    throw new InvalidJobError(
      `The job's context takes ${(frame / 1024).toFixed(1)} KiB of the ${DEFAULTS.statePayloadBytes / 1024} KiB a task's input may hold ` +
        "(Step Functions); its params (and a multi-step job's input list) are the large part. Pass large values as a side input (ctx.sideInput) instead.",
    );
  return room;
}

/**
 * The sizes to cut the input into (see makeSplits): `splitSize` alone when no parallelism (the
 * call's, else a deployment's Map concurrency) is known or there is one worker; else the
 * shrinking schedule of `shrinkingSplitSizes`, so that a few large files still give every worker
 * work and the workers finish together on input whose bytes are not all equal work.
 * `perTaskTable`: each map task sorts, writes and merges a whole combine table (a job with a
 * combiner, the word count on bytes among them), so one equal split per worker: each more task
 * costs a table (~0.25 s of CPU for a user's word count on real text), more than the balance
 * saves (on 64 MiB of skewed text, 2 workers: 7.09 s equal, 8.10 s shrinking; the word count on
 * bytes: +15% CPU shrinking). equalWorkSplitSizes cuts those splits at equal work where it can.
 */
export function splitSizes(spec: ResolvedSpec, objects: ObjectInfo[], perTaskTable = false): number | number[] {
  const P = spec.parallelism ?? spec.mapConcurrency;
  if (P === undefined || P === 1) return spec.splitSize;
  const total = objects.reduce((n, o) => n + o.size, 0);
  if (perTaskTable) return Math.min(spec.splitSize, Math.max(DEFAULTS.minSplitSize, Math.ceil(total / P)));
  return shrinkingSplitSizes(total, P, spec.splitSize, DEFAULTS.minSplitSize);
}

/**
 * Where splitSizes makes one split per worker (`perTaskTable`, and the input between P ×
 * minSplitSize and P × splitSize), the sizes of P splits of equal estimated work instead
 * (work-estimate.ts); undefined where it does not, or the work cannot be estimated, or a split
 * would pass splitSize.
 */
export function equalWorkSplitSizes(
  spec: ResolvedSpec,
  objects: ObjectInfo[],
  work: () => WorkPiece[] | undefined,
): number[] | undefined {
  const P = spec.parallelism ?? spec.mapConcurrency;
  if (P === undefined || P === 1) return undefined;
  const equal = Math.ceil(objects.reduce((n, o) => n + o.size, 0) / P);
  if (equal < DEFAULTS.minSplitSize || equal > spec.splitSize) return undefined;
  const pieces = work();
  const sizes = pieces ? equalWorkSizes(pieces, P) : undefined;
  return sizes && Math.max(...sizes) <= spec.splitSize ? sizes : undefined;
}

/**
 * Split sizes for `workers` tasks at a time that take the next split as they finish (the local
 * pool, a Distributed Map's MaxConcurrency): factoring (Hummel, Schonberg and Flynn, 1992), a
 * form of guided self-scheduling. The splits come in rounds of `workers` splits of equal size,
 * each split a 1/(2 × workers) of the bytes left when its round begins, capped at `splitSize`
 * and at least `minSplit`: large splits first (few tasks, little to shuffle), then ever smaller
 * ones, so that a worker that ran slower bytes (short lines, more words) takes fewer of the
 * small last splits and the workers finish within about one small split of each other. Equal
 * splits (one per worker) leave the faster workers idle for the whole difference. An explicit
 * `splitSize` under `minSplit` wins. The sizes add up to at least `total`.
 */
export function shrinkingSplitSizes(total: number, workers: number, splitSize: number, minSplit: number): number[] {
  const sizes: number[] = [];
  for (let left = total; left > 0; ) {
    const size = Math.min(splitSize, Math.max(minSplit, Math.ceil(left / (2 * workers))));
    for (let i = 0; i < workers && left > 0; i++) {
      sizes.push(size);
      left -= size;
    }
  }
  return sizes;
}

/**
 * Cuts objects into splits as if the objects were one stream: a split takes byte ranges of one
 * or more objects (a large object is cut into ranges, small ones are packed, and an object may
 * end one split and begin the next). `sizes` is the size of every split (equal splits), or the
 * size of each in turn (the last one repeated: see shrinkingSplitSizes). The last range of an
 * object may make its split up to splitSlop × its size, so no tiny tail range is made. A gzip
 * object (or a `whole` record) is never cut: it is a split of its own, or packed whole when it
 * is smaller than the split (`whole`). Empty objects are skipped: they hold no records. A split
 * takes at most DEFAULTS.maxObjectsPerSplit S3 objects; local files, by bytes alone.
 */
export function makeSplits(
  objects: ObjectInfo[],
  sizes: number | readonly number[],
  format: InputFormat,
  /** An object's last range may make its split up to this factor of its size (1: cut exactly). */
  slopFactor: number = DEFAULTS.splitSlop,
): Split[] {
  const splits: Split[] = [];
  let pack: Chunk[] = [];
  let packBytes = 0;
  /** S3 objects in the pack: each costs the task a request (DEFAULTS.maxObjectsPerSplit). */
  let packRequests = 0;
  /** The size of the split being filled. */
  let splitSize = 0;
  let slop = 0;
  const next = () => {
    splitSize = typeof sizes === 'number' ? sizes : sizes[Math.min(splits.length, sizes.length - 1)]!;
    slop = Math.floor(splitSize * (slopFactor - 1));
  };
  next();
  const flush = () => {
    if (pack.length > 0) splits.push({ index: splits.length, chunks: pack, bytes: packBytes });
    pack = [];
    packBytes = 0;
    packRequests = 0;
    next();
  };
  const add = (chunk: Chunk) => {
    pack.push(chunk);
    packBytes += chunk.end - chunk.start;
    if (isS3Uri(chunk.uri)) packRequests++;
    if (packBytes >= splitSize || packRequests >= DEFAULTS.maxObjectsPerSplit) flush();
  };
  for (const o of objects) {
    if (o.size === 0) continue;
    const gzip = isGzipUri(o.uri);
    if (gzip || format === 'whole') {
      const whole: Chunk = gzip
        ? { uri: o.uri, start: 0, end: o.size, size: o.size, gzip }
        : { uri: o.uri, start: 0, end: o.size, size: o.size };
      if (gzip || o.size >= splitSize) {
        splits.push({ index: splits.length, chunks: [whole], bytes: o.size });
        next();
      } else add(whole);
      continue;
    }
    let start = 0;
    while (start < o.size) {
      const room = splitSize - packBytes;
      const rest = o.size - start;
      if (rest > room + slop && room < slop) {
        flush(); // full enough: no sliver of this object in it
        continue;
      }
      const end = rest <= room + slop ? o.size : start + room;
      add({ uri: o.uri, start, end, size: o.size });
      start = end;
    }
  }
  flush();
  // Number the splits in input order (packs are flushed late), so map-only parts follow the input.
  const first = (s: Split) => s.chunks[0]!;
  splits.sort((a, b) =>
    first(a).uri < first(b).uri ? -1 : first(a).uri > first(b).uri ? 1 : first(a).start - first(b).start,
  );
  splits.forEach((s, i) => {
    s.index = i;
  });
  return splits;
}
