import { DEFAULTS } from '../config.js';
import { InvalidJobError, ObjectNotFoundError } from '../errors.js';
import { isPipeline, type JobModule, stepOf } from '../job.js';
import { type JobSpec, layout, type RunContext, stepOutput } from '../spec.js';
import type { IoStats } from '../storage/types.js';
import { claimOwner, holdClaim, releaseClaim } from './claim.js';
import {
  addCounterGroups,
  addCounters,
  addIo,
  type CounterGroups,
  type Counters,
  type FailedAttempt,
  ioMeter,
  mapLimit,
  type TaskEnv,
  type TaskTiming,
} from './env.js';
import { readFailedAttempts } from './failed-attempts.js';
import { emptyMapStats, type MapStats } from './map.js';
import { stepSpec } from './pipeline.js';
import type { ReduceResult } from './reduce.js';
import { readMapIndexes } from './shuffle.js';

/** `_manifest.json`: what a completed job wrote and how it went. */
export interface JobManifest {
  jobId: string;
  job: string;
  /** Of a multi-step job: this step (from 0) and the number of steps. */
  step: number;
  steps: number;
  output: string;
  format: string;
  parts: { uri: string; records: number; bytes: number }[];
  records: number;
  bytes: number;
  input: { objects: number; bytes: number; records: number };
  map: MapStats & { tasks: number };
  reduce: { tasks: number; inputRecords: number; groups: number };
  counters: Counters;
  /** Counters by group: stream programs' `reporter:counter:<group>,<counter>,<amount>` lines, `ctx.incrementCounter`. */
  counterGroups: CounterGroups;
  /** Said when the job started (job properties knowingly ignored, options not applied). */
  warnings: string[];
  timings: { start: number; end: number; seconds: number };
  /**
   * Each task's published attempt: when it ran (ms since the epoch), its input records and
   * bytes; its last status; the last lines its stream programs wrote to stderr and where all
   * of it is kept (locally: a file per attempt; in the cloud: the function's log).
   */
  tasks: {
    phase: 'map' | 'reduce';
    task: number;
    start: number;
    end: number;
    attempt: string;
    /** What ran it (TaskEnv.worker: a local worker thread), where known. */
    worker?: string;
    records: number;
    bytes: number;
    status?: string;
    stderr?: string[];
    log?: string;
  }[];
  /**
   * The attempts of map and reduce tasks that failed (and were retried, or failed the job),
   * from the records they left in scratch, in time order. Attempts that could not leave one (a
   * worker or container that died, a timeout) are not here.
   */
  failedAttempts: FailedAttempt[];
  /**
   * Storage requests and bytes, counted by the storage layer: of the published attempts of the
   * map and reduce tasks, and of Commit up to this manifest (not its scratch clean-up after,
   * nor the manifest's own bytes). Plan and the shuffle plan are not counted.
   */
  io: { map: IoStats; reduce: IoStats; commit: IoStats; total: IoStats };
  spec: unknown;
}

/** What Commit returns to the state machine (small: the full story is in `_manifest.json`). */
export interface CommitResult {
  jobId: string;
  output: string;
  parts: number;
  records: number;
  bytes: number;
  counters: Counters;
  /** Of a multi-step job before its last step: the next step's spec (the state machine loops back to Plan with it). */
  next?: JobSpec;
}

export interface CommitEvent {
  job: RunContext;
  plan: { mapTasks: number; inputObjects: number; inputBytes: number };
}

/**
 * Commit (DESIGN §2): check every task published its result, write `_manifest.json`, then
 * `_SUCCESS` last, and delete the job's scratch unless asked to keep it. It publishes only while
 * the run holds its output's claim (claim.ts), and releases the claim once the output is
 * complete (a multi-step job's, after its last step).
 */
export async function commit(
  env: TaskEnv,
  run: RunContext,
  event: CommitEvent,
  module?: JobModule,
): Promise<CommitResult> {
  const { mapTasks } = event.plan;
  const storage = env.storage.for(run.scratch);
  const io = ioMeter(env.storage);
  const owner = claimOwner(run);
  // A retried Commit whose first attempt finished (and removed the scratch it reads) redoes nothing.
  const done = await committed(env, run);
  if (done) return finish(env, run, module, done);
  await holdClaim(env.storage, owner);
  const spec = await env.storage.readJson<{ jobStart?: number; warnings?: string[] }>(layout.spec(run));
  // Only what the manifest needs of each index (not its runs: M × R entries in all).
  const maps = await readMapIndexes(
    env,
    run,
    mapTasks,
    ({ task, part, stats, counters, counterGroups, status, stderr, log, timing, io }) => ({
      task,
      part,
      stats,
      counters,
      counterGroups,
      status,
      stderr,
      log,
      timing,
      io,
    }),
  );
  const reduces = await mapLimit(
    Array.from({ length: run.reducers }, (_, r) => r),
    DEFAULTS.metadataConcurrency,
    async (r) => {
      const uri = layout.reduceResult(run, r);
      try {
        return await env.storage.readJson<ReduceResult>(uri);
      } catch (e) {
        if (e instanceof ObjectNotFoundError)
          throw new ObjectNotFoundError(`${uri} (reduce task ${r} published no result)`);
        throw e;
      }
    },
  );
  const failedAttempts = await readFailedAttempts(env, run);
  const counters: Counters = {};
  const counterGroups: CounterGroups = {};
  const mapStats: MapStats & { tasks: number } = { tasks: mapTasks, ...emptyMapStats() };
  const tasks: JobManifest['tasks'] = [];
  let first = Number.POSITIVE_INFINITY;
  for (const m of maps) {
    addCounters(counters, m.counters);
    addCounterGroups(counterGroups, m.counterGroups);
    for (const k of Object.keys(m.stats) as (keyof MapStats)[]) mapStats[k] += m.stats[k];
    tasks.push({ ...timed('map', m.task, m.timing, m.stats.inputRecords, m.stats.inputBytes), ...said(m) });
    first = Math.min(first, m.timing.start);
  }
  const reduceStats = { tasks: run.reducers, inputRecords: 0, groups: 0 };
  for (const r of reduces) {
    addCounters(counters, r.counters);
    addCounterGroups(counterGroups, r.counterGroups);
    reduceStats.inputRecords += r.stats.inputRecords;
    reduceStats.groups += r.stats.groups;
    tasks.push({ ...timed('reduce', r.partition, r.timing, r.stats.inputRecords, r.stats.inputBytes), ...said(r) });
  }
  const parts =
    run.reducers === 0
      ? maps.map((m) => m.part!).filter(Boolean)
      : reduces.map((r) => ({ uri: r.part, records: r.stats.outputRecords, bytes: r.stats.outputBytes }));
  const end = Date.now();
  const start = spec.jobStart ?? (Number.isFinite(first) ? first : end);
  const manifest: JobManifest = {
    jobId: run.jobId,
    job: run.name,
    step: run.step ?? 0,
    steps: run.steps ?? 1,
    output: run.output,
    format: run.outputFormat,
    parts,
    records: parts.reduce((n, p) => n + p.records, 0),
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
    input: { objects: event.plan.inputObjects, bytes: event.plan.inputBytes, records: mapStats.inputRecords },
    map: mapStats,
    reduce: reduceStats,
    counters,
    counterGroups,
    warnings: spec.warnings ?? [],
    timings: { start, end, seconds: (end - start) / 1000 },
    tasks,
    failedAttempts,
    io: { map: zeroIo(), reduce: zeroIo(), commit: zeroIo(), total: zeroIo() },
    spec,
  };
  for (const m of maps) addIo(manifest.io.map, m.io);
  for (const r of reduces) addIo(manifest.io.reduce, r.io);
  // Commit's own so far, and the two writes to come (the manifest's own bytes aside: it cannot count itself).
  const own = io();
  manifest.io.commit = { ...own, requests: own.requests + 2 };
  for (const part of [manifest.io.map, manifest.io.reduce, manifest.io.commit]) addIo(manifest.io.total, part);
  const out = env.storage.for(run.output);
  // Reading the indexes can take a while at scale: the claim is checked again right before publishing.
  await holdClaim(env.storage, owner);
  await out.write(layout.manifest(run.output), JSON.stringify(manifest, null, 2));
  await out.write(layout.success(run.output), '');
  if (!run.keepScratch) await storage.deletePrefix(run.scratch);
  return finish(env, run, module, manifest);
}

/** This job's manifest when its output is already committed (by an earlier attempt of Commit). */
async function committed(env: TaskEnv, run: RunContext): Promise<JobManifest | undefined> {
  const out = env.storage.for(run.output);
  if (!(await out.stat(layout.success(run.output)))) return undefined;
  try {
    const manifest = await env.storage.readJson<JobManifest>(layout.manifest(run.output));
    return manifest.jobId === run.jobId ? manifest : undefined;
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return undefined;
    throw e;
  }
}

/** What Commit returns once the output is committed; for a multi-step job, also the next step. */
async function finish(
  env: TaskEnv,
  run: RunContext,
  module: JobModule | undefined,
  manifest: JobManifest,
): Promise<CommitResult> {
  const counters = manifest.counters;
  const result: CommitResult = {
    jobId: run.jobId,
    output: run.output,
    parts: manifest.parts.length,
    records: manifest.records,
    bytes: manifest.bytes,
    counters,
  };
  const p = run.pipeline;
  if (!p || run.step === run.steps - 1) await releaseClaim(env.storage, claimOwner(run));
  if (!p) return result;
  if (!module || !isPipeline(module))
    throw new InvalidJobError(`Job "${run.name}" is a step of a multi-step job, but this function holds a single job.`);
  // The output of the step before this one is read: it goes; after the last step nothing is left between.
  if (!run.keepScratch && run.step > 0) {
    const done =
      run.step === run.steps - 1
        ? p.scratch
        : stepOutput(p, run.step - 1, run.steps, stepOf(module, run.step - 1).name);
    await env.storage.for(done).deletePrefix(done);
  }
  if (run.step + 1 < run.steps) result.next = stepSpec(module, p, run.step + 1, run.output, counters);
  return result;
}

/** What a task said besides its data (status, stderr tail, log), as far as it said anything. */
function said(t: { status?: string | undefined; stderr?: string[] | undefined; log?: string | undefined }) {
  return {
    ...(t.status !== undefined ? { status: t.status } : {}),
    ...(t.stderr !== undefined ? { stderr: t.stderr } : {}),
    ...(t.log !== undefined ? { log: t.log } : {}),
  };
}

function timed(phase: 'map' | 'reduce', task: number, t: TaskTiming, records: number, bytes: number) {
  const worker = t.worker !== undefined ? { worker: t.worker } : {};
  return { phase, task, start: t.start, end: t.end, attempt: t.attempt, ...worker, records, bytes };
}

const zeroIo = (): IoStats => ({ requests: 0, bytesRead: 0, bytesWritten: 0 });
