/**
 * `npm run bench:scale`: the control phases at cloud scale, on generated listings and indexes
 * in memory (no AWS, no disk but the shuffle's scratch file): Plan over 1,000,000 input objects
 * into ~10,000 splits, then the shuffle plan and Commit for M = 10,000 map tasks × R = 1,000
 * reducers. Prints wall time, peak memory, S3 requests and the largest state payload of each
 * against Step Functions' 256 KiB limit; then, at that scale, the deployed definition executed
 * with every task answering what its phase returns (the largest payload of every state, the
 * Maps' results included), the largest /tmp use per task, the S3 request rate per prefix at full
 * concurrency, and the requests of the SDK's status call (`--json` for the figures as JSON).
 *
 * The same functions run in test/scale.test.ts, which checks what they produce (never how fast).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../functions/config.js';
import { claimOutput, claimOwner } from '../functions/phases/claim.js';
import { type CommitResult, commit } from '../functions/phases/commit.js';
import type { MapIndex } from '../functions/phases/map.js';
import { type PlanResult, plan } from '../functions/phases/plan.js';
import type { ReduceResult } from '../functions/phases/reduce.js';
import {
  type FetchRange,
  type ReducerItem,
  readReduceManifest,
  type ShuffleResult,
  shufflePlan,
} from '../functions/phases/shuffle.js';
import { loadSplit, type MapSplit, type SplitItem } from '../functions/phases/split-items.js';
import { PHASES } from '../functions/runtime.js';
import { layout, type RunContext } from '../functions/spec.js';
import { StorageRouter } from '../functions/storage/index.js';
import type { ObjectInfo } from '../functions/storage/types.js';
import { buildDefinition } from '../infra/definition.js';
import { attachJob } from '../sdk/client.js';
import type { StepFunctionsApi } from '../sdk/cloud/stepfunctions.js';
import { defineJob } from '../sdk/define.js';
import { executeDefinition } from '../sdk/local/execute.js';
import { MemoryStorage } from './memory-storage.js';

/** Step Functions' limit on a state's input or output. */
export const STATE_PAYLOAD_LIMIT = 256 * 1024;
const MiB = 2 ** 20;

/** A reducing job (its functions never run here: the control phases only read its settings). */
const job = defineJob({ name: 'scale', map() {}, reduce() {} });

/** Peak RSS and heap while `fn` runs, sampled every 20 ms. */
async function measured<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; seconds: number; peakRssMiB: number; peakHeapMiB: number }> {
  // With --expose-gc (npm run bench:scale), what an earlier measurement left is collected first.
  (globalThis as { gc?: () => void }).gc?.();
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, 20);
  const start = process.hrtime.bigint();
  try {
    const value = await fn();
    const m = process.memoryUsage();
    return {
      value,
      seconds: Number(process.hrtime.bigint() - start) / 1e9,
      peakRssMiB: Math.max(rss, m.rss) / MiB,
      peakHeapMiB: Math.max(heap, m.heapUsed) / MiB,
    };
  } finally {
    clearInterval(timer);
  }
}

const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));

/** Deterministic object sizes averaging ~671 KB: 1,000,000 of them are ~10,000 splits of 64 MiB. */
export function objectSize(i: number): number {
  return ((Math.imul(i + 1, 2654435761) >>> 0) % 1_342_177) + 1;
}

export interface PlanFigures {
  objects: number;
  inputBytes: number;
  splits: number;
  seconds: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  listRequests: number;
  splitsJsonMiB: number;
  /** The largest Map iteration input ({job, split}) and Plan's output, in bytes. */
  maxMapItemBytes: number;
  planResultBytes: number;
}

/** Plan over `objects` generated input objects listed under one S3 prefix. */
export async function planAtScale(
  objects = 1_000_000,
  splitSize = 64 * MiB,
  sizes: (i: number) => number = objectSize,
  /** Put before each object's name (to plan over long keys). */
  keyPrefix = '',
): Promise<{
  figures: PlanFigures;
  /** The map manifest's items, as written; `splits`, the splits they stand for. */
  items: SplitItem[];
  splits: MapSplit[];
  sizes: (i: number) => number;
  result: PlanResult;
}> {
  const input = 's3://bench/input/';
  const listing = function* (): Iterable<ObjectInfo> {
    for (let i = 0; i < objects; i++)
      yield { uri: `${input}${keyPrefix}part-${String(i).padStart(7, '0')}.txt`, size: sizes(i) };
  };
  const storage = new MemoryStorage({ [input]: listing, 's3://bench/output/plan': () => [] });
  const env = { storage: new StorageRouter(() => storage), attempt: 'plan', tmpDir: os.tmpdir() };
  const spec = {
    input: [input],
    output: 's3://bench/output/plan',
    scratch: 's3://bench/scratch/',
    splitSize,
    jobId: 'plan-at-scale',
  };
  const m = await measured(() => plan(env, job, spec));
  const result: PlanResult = m.value;
  const splitsUri = layout.splits(result.job);
  const splitsJson = storage.objects.get(splitsUri)!;
  const items = JSON.parse(splitsJson.toString('utf8')) as SplitItem[];
  let maxMapItemBytes = 0;
  for (const split of items) maxMapItemBytes = Math.max(maxMapItemBytes, bytes({ job: result.job, split }));
  const splits = await Promise.all(items.map((item) => loadSplit(env.storage, item)));
  let inputBytes = 0;
  for (let i = 0; i < objects; i++) inputBytes += sizes(i);
  return {
    figures: {
      objects,
      inputBytes,
      splits: splits.length,
      seconds: m.seconds,
      peakRssMiB: m.peakRssMiB,
      peakHeapMiB: m.peakHeapMiB,
      listRequests: Math.ceil(objects / 1000),
      splitsJsonMiB: splitsJson.length / MiB,
      maxMapItemBytes,
      planResultBytes: bytes(result),
    },
    items,
    splits,
    sizes,
    result,
  };
}

/** The run a map task of the scale job would publish for reducer r: lengths vary by task and reducer. */
export function runOf(task: number, r: number): [offset: number, length: number, records: number, crc32c: number] {
  const length = r % 97 === 13 ? 0 : 4096 + ((task * 31 + r * 17) % 8192); // some ranges empty
  const offset = r * 12_288 + task; // any increasing layout will do for the plan
  return [offset, length, length >> 4, Math.imul(task + 1, r + 7) >>> 0];
}

export interface ShuffleFigures {
  mapTasks: number;
  reducers: number;
  seconds: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  requests: number;
  /** The largest reduce manifest and the sum of them all. */
  maxManifestKiB: number;
  totalManifestMiB: number;
  maxReduceItemBytes: number;
  shuffleResultBytes: number;
  /** Reduce tasks the shuffle plan grouped the R partitions into. */
  reduceTasks: number;
  /** Largest allocated size of the shuffle plan's files in its /tmp while it ran. */
  shuffleTmpMiB: number;
  /** Largest partition: what one reduce task holds on its /tmp at once (one partition at a time). */
  reduceTmpMiB: number;
  commitSeconds: number;
  commitPeakHeapMiB: number;
  commitResultBytes: number;
}

/** Shuffle plan then Commit for M map tasks × R reducers, with generated indexes and reduce results. */
export async function shuffleAtScale(
  M = 10_000,
  R = 1_000,
  sample: number[] = [0, 1, R - 1],
): Promise<{
  figures: ShuffleFigures;
  ranges: Map<number, FetchRange[]>;
  shuffled: ShuffleResult;
  items: ReducerItem[];
  committed: CommitResult;
}> {
  const run: RunContext = {
    jobId: 'shuffle-at-scale',
    name: 'scale',
    output: 's3://bench/output/shuffle',
    scratch: 's3://bench/scratch/shuffle-at-scale',
    reducers: R,
    inputFormat: 'text',
    outputFormat: 'tsv',
    sortBufferBytes: 64 * MiB,
    params: {},
    keepScratch: true,
    strictUtf8: false,
    step: 0,
    steps: 1,
  };
  const indexUri = /\/map\/(\d+)\.index\.json$/;
  const resultUri = /\/reduce\/(\d+)\.result\.json$/;
  const timing = { start: 0, end: 1, attempt: 'a' };
  const generate = (uri: string): Buffer | undefined => {
    const ix = indexUri.exec(uri);
    if (ix) {
      const task = Number(ix[1]);
      const index: MapIndex = {
        task,
        attempt: `attempt-${task}`,
        data: layout.mapData(run, task, `attempt-${task}`),
        runs: Array.from({ length: R }, (_, r) => runOf(task, r)),
        stats: { inputBytes: 1, inputRecords: 1, outputRecords: 1, shuffleRecords: 1, shuffleBytes: 1, spills: 0 },
        counters: { lines: 1 },
        timing,
      };
      return Buffer.from(JSON.stringify(index));
    }
    const rr = resultUri.exec(uri);
    if (rr) {
      const partition = Number(rr[1]);
      const result: ReduceResult = {
        partition,
        attempt: 'a',
        part: layout.reducePart(run, partition),
        stats: { inputRecords: 1, inputBytes: 1, groups: 1, outputRecords: 1, outputBytes: 1 },
        counters: {},
        timing,
      };
      return Buffer.from(JSON.stringify(result));
    }
    if (uri === layout.spec(run)) return Buffer.from(JSON.stringify({ jobStart: 0 }));
    return undefined;
  };
  const kept = new Set(sample.map((r) => layout.reduceManifest(run, r)));
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-bench-shuffle-'));
  // The shuffle plan's /tmp, seen at each of its writes (a manifest leaves once its slots are all
  // in the file; the plan never yields to a timer, so a sampler would see nothing).
  let shuffleTmp = 0;
  const storage = new MemoryStorage({}, generate, (uri) => {
    if (uri.endsWith('.manifest')) shuffleTmp = Math.max(shuffleTmp, allocatedBytes(tmpDir));
    return kept.has(uri) || !uri.includes('/reduce/');
  });
  const router = new StorageRouter(() => storage);
  const env = { storage: router, attempt: 'shuffle', tmpDir };
  const shuffled = await measured(() => shufflePlan(env, run, M)).finally(() =>
    fs.rmSync(tmpDir, { recursive: true, force: true }),
  );
  let largestPartition = 0;
  for (let r = 0; r < R; r++) {
    let b = 0;
    for (let t = 0; t < M; t++) b += runOf(t, r)[1];
    largestPartition = Math.max(largestPartition, b);
  }
  const requests = storage.stats.requests;
  const items = JSON.parse(storage.objects.get(layout.reducers(run))!.toString('utf8')) as ReducerItem[];
  const ranges = new Map<number, FetchRange[]>();
  const attempts = await router.readJson<(string | null)[]>(items[0]!.attempts);
  for (const r of sample) ranges.set(r, await readReduceManifest(router, run, r, attempts));
  let maxManifest = 0;
  let totalManifest = 0;
  for (const [uri, n] of storage.written)
    if (uri.endsWith('.manifest')) {
      maxManifest = Math.max(maxManifest, n);
      totalManifest += n;
    }
  await claimOutput(router, claimOwner(run)); // as Plan would have: Commit publishes only under the run's claim
  const committed = await measured(() =>
    commit(env, run, { job: run, plan: { mapTasks: M, inputObjects: M, inputBytes: M } }),
  );
  return {
    figures: {
      mapTasks: M,
      reducers: R,
      seconds: shuffled.seconds,
      peakRssMiB: shuffled.peakRssMiB,
      peakHeapMiB: shuffled.peakHeapMiB,
      requests,
      maxManifestKiB: maxManifest / 1024,
      totalManifestMiB: totalManifest / MiB,
      maxReduceItemBytes: Math.max(...items.map((item) => bytes({ job: run, reducer: item }))),
      shuffleResultBytes: bytes(shuffled.value),
      reduceTasks: items.length,
      shuffleTmpMiB: shuffleTmp / MiB,
      reduceTmpMiB: largestPartition / MiB,
      commitSeconds: committed.seconds,
      commitPeakHeapMiB: committed.peakHeapMiB,
      commitResultBytes: bytes(committed.value),
    },
    ranges,
    shuffled: shuffled.value,
    items,
    committed: committed.value,
  };
}

/** Bytes the files directly in `dir` take on disk (what fills a /tmp), 0 once it is gone. */
function allocatedBytes(dir: string): number {
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) {
      try {
        n += fs.statSync(path.join(dir, f)).blocks * 512;
      } catch {} // removed meanwhile
    }
  } catch {}
  return n;
}

export interface StateFigures {
  /** The largest payload of each state (input or output, a task's own included), in bytes, by state name. */
  largest: Record<string, number>;
  /** The largest object each Distributed Map's ResultWriter wrote (its children's results, in S3 not in the state). */
  mapResultObjects: Record<string, number>;
  seconds: number;
}

/**
 * The deployed definition (infra/definition.ts) executed end to end at M map tasks and the
 * shuffle's reduce tasks, every task answering with what its phase returns at that scale (Plan,
 * the shuffle plan and Commit: their real results above; a map or reduce child: its real
 * result's shape), under Step Functions' 256 KiB quota as sdk/local/execute.ts enforces it: the
 * largest payload each state saw, the Maps' results included.
 */
export async function statesAtScale(
  planned: PlanResult,
  items: SplitItem[],
  shuffle: { shuffled: ShuffleResult; items: ReducerItem[]; committed: CommitResult },
): Promise<StateFigures> {
  const arn = (phase: string) => `arn:aws:lambda:us-east-1:123456789012:function:streaming-${phase}`;
  const phaseOf = new Map(PHASES.map((p) => [arn(p), p]));
  const definition = buildDefinition({ functions: Object.fromEntries(PHASES.map((p) => [p, arn(p)])) as never });
  const largest: Record<string, number> = {};
  const mapResultObjects: Record<string, number> = {};
  const start = process.hrtime.bigint();
  const execution = await executeDefinition(
    definition,
    { input: ['s3://bench/input/'], output: planned.job.output },
    {
      invoke: async (resource, input) => {
        const e = input as { split?: SplitItem; reducer?: ReducerItem };
        switch (phaseOf.get(resource)) {
          case 'plan':
            return planned;
          case 'map':
            // As runtime.ts answers for a map task (records: a 64 MiB split of short lines).
            return { task: e.split!.index, records: 3_000_000 + e.split!.index };
          case 'shuffle':
            return shuffle.shuffled;
          case 'reduce':
            return { task: e.reducer!.task, partitions: e.reducer!.count, records: 1_000_000_000 + e.reducer!.task };
          case 'commit':
            return shuffle.committed;
          default:
            throw new Error(`${resource} was not expected to run`);
        }
      },
      readItems: async (location) => {
        const key = (location as { Key: string }).Key;
        if (key.endsWith('splits.json')) return items;
        if (key.endsWith('reducers.json')) return shuffle.items;
        throw new Error(`No items at ${key}`);
      },
      writeObject: async (location, body) => {
        const folder = location.Key.split('/').slice(0, -1).join('/');
        mapResultObjects[folder] = Math.max(mapResultObjects[folder] ?? 0, Buffer.byteLength(body));
      },
      concurrency: DEFAULTS.maxConcurrency,
      retryDelayMs: 0,
      payloadLimitBytes: STATE_PAYLOAD_LIMIT,
      onPayload: (state, size) => {
        largest[state] = Math.max(largest[state] ?? 0, size);
      },
    },
  );
  await execution.result;
  // One ResultWriter folder per Map Run: name them by the Map they belong to (first the map phase's).
  const runs = Object.values(mapResultObjects);
  return {
    largest,
    mapResultObjects: { 'map phase': runs[0] ?? 0, 'reduce phase': runs[1] ?? 0 },
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
  };
}

/** Assumed time of one small ranged GET from a Lambda function in the bucket's region. */
export const ASSUMED_GET_SECONDS = 0.1;

export interface PrefixFigures {
  /** Concurrent reduce tasks (the definition's MaxConcurrency) × each one's ranged GETs in flight. */
  inFlight: number;
  /** GETs per second the reduce phase makes at full concurrency, at ASSUMED_GET_SECONDS each. */
  getsPerSecond: number;
  /** Distinct prefixes those GETs spread over (map data objects: one folder per map task). */
  prefixes: number;
  /** Per prefix once S3 has partitioned the scratch prefix by those folders; all on one before it has. */
  perPartitionedPrefix: number;
  /** The shuffle plan's index GETs per second (metadataConcurrency in flight), all under one map/ prefix. */
  shuffleGetsPerSecond: number;
}

/**
 * Requests per prefix per second at full concurrency: the M × R ranged GETs of the reduce phase
 * dominate (each reduce task reads one range of every map task's data object).
 */
export function prefixRates(ranges: FetchRange[]): PrefixFigures {
  const inFlight = DEFAULTS.maxConcurrency * DEFAULTS.fetchConcurrency;
  const getsPerSecond = inFlight / ASSUMED_GET_SECONDS;
  // Every reduce task reads every map task's object, so one task's ranges name all the folders.
  const prefixes = new Set(ranges.map((r) => r.uri.slice(0, r.uri.lastIndexOf('/') + 1))).size;
  return {
    inFlight,
    getsPerSecond,
    prefixes,
    perPartitionedPrefix: getsPerSecond / Math.max(prefixes, 1),
    shuffleGetsPerSecond: DEFAULTS.metadataConcurrency / ASSUMED_GET_SECONDS,
  };
}

export interface StatusFigures {
  /** Requests of one status() while the reduce phase runs (counters come once, at the end). */
  status: { s3: number; stepFunctions: number };
  /** Requests of one of wait()'s polls (status without counters). */
  poll: { s3: number; stepFunctions: number };
}

/**
 * What the SDK's status call costs at M map tasks × R reducers, run against scratch as it
 * stands in the reduce phase (every map published, half the reducers): the client's own code,
 * its requests counted.
 */
export async function statusAtScale(M: number, R: number): Promise<StatusFigures> {
  const scratch = 's3://bench/scratch/status-at-scale';
  const run = { jobId: 'status-at-scale', scratch } as RunContext;
  const mapPrefix = layout.mapIndexes(run);
  const reducePrefix = layout.reduceResults(run);
  function* mapListing(): Iterable<ObjectInfo> {
    for (let t = 0; t < M; t++) {
      yield { uri: layout.mapData(run, t, `attempt-${t}`), size: 80 * MiB };
      yield { uri: layout.mapIndex(run, t), size: 30_000 };
    }
  }
  function* reduceListing(): Iterable<ObjectInfo> {
    for (let r = 0; r < R; r++) {
      yield { uri: layout.reduceManifest(run, r), size: 240_000 };
      if (r < R / 2) yield { uri: layout.reduceResult(run, r), size: 500 };
    }
  }
  const listings: Record<string, () => Iterable<ObjectInfo>> = {};
  for (const slash of ['', '/']) {
    listings[mapPrefix + slash] = mapListing;
    listings[reducePrefix + slash] = reduceListing;
  }
  const storage = new MemoryStorage(listings, (uri) =>
    uri.endsWith('.json') ? Buffer.from(JSON.stringify({ counters: { lines: 1 } })) : undefined,
  );
  await storage.write(layout.plan(run), JSON.stringify({ mapTasks: M, reducers: R }));
  let sfnCalls = 0;
  const stepFunctions = {
    describeExecution: async () => {
      sfnCalls++;
      return {
        status: 'RUNNING',
        input: JSON.stringify({ jobId: run.jobId, output: 's3://bench/output/status', scratch: 's3://bench/scratch' }),
      };
    },
    // ListMapRuns, then a DescribeMapRun per phase: the map phase done, the reduce phase halfway.
    mapRuns: async () => {
      sfnCalls += 3;
      return [
        { label: 'map', started: Date.now(), succeeded: M, total: M },
        { label: 'reduce', started: Date.now(), succeeded: Math.floor(R / 2), total: R },
      ];
    },
  } as unknown as StepFunctionsApi;
  const handle = await attachJob('arn:aws:states:us-east-1:123456789012:execution:bench:status', {
    stepFunctions,
    storage: new StorageRouter(() => storage),
  });
  // status() and wait()'s polls are one call now (counters come once, at the end, from the manifest).
  const measure = async () => {
    const [s3, sfn] = [storage.stats.requests, sfnCalls];
    await handle.status();
    return { s3: storage.stats.requests - s3, stepFunctions: sfnCalls - sfn };
  };
  return { status: await measure(), poll: await measure() };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  // Only the figures are kept: the splits and ranges would weigh on the next measurement.
  const f = (await planAtScale()).figures;
  const shuffle = await shuffleAtScale();
  const g = shuffle.figures;
  const rates = prefixRates(shuffle.ranges.get(0)!);
  shuffle.ranges.clear();
  const status = await statusAtScale(g.mapTasks, g.reducers);
  // Planned again for the states (keeping the first plan's splits would have weighed on the shuffle's figures).
  const planned = await planAtScale();
  const states = await statesAtScale(planned.result, planned.items, shuffle);
  if (json) {
    process.stdout.write(`${JSON.stringify({ plan: f, shuffle: g, states, rates, status }, null, 2)}\n`);
    return;
  }
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const limit = (n: number) => `${kib(n)} (${((n / STATE_PAYLOAD_LIMIT) * 100).toFixed(1)}% of 256 KiB)`;
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const size = (b: number) => (b >= MiB ? `${(b / MiB).toFixed(1)} MiB` : kib(b));
  const width = Math.max(...Object.keys(states.largest).map((k) => k.length));
  const lines = [
    `control phases at scale, generated in memory; Node ${process.version}, ${os.cpus().length} cores`,
    '',
    `plan      ${f.objects.toLocaleString('en')} objects (${(f.inputBytes / 1e9).toFixed(0)} GB) into ${f.splits.toLocaleString('en')} splits`,
    `          ${f.seconds.toFixed(1)} s, peak RSS ${f.peakRssMiB.toFixed(0)} MiB (heap ${f.peakHeapMiB.toFixed(0)} MiB), ${f.listRequests.toLocaleString('en')} list requests`,
    `          splits.json ${f.splitsJsonMiB.toFixed(1)} MiB; largest map item ${limit(f.maxMapItemBytes)}; plan output ${limit(f.planResultBytes)}`,
    `shuffle   M = ${g.mapTasks.toLocaleString('en')} map tasks × R = ${g.reducers.toLocaleString('en')} reducers, in ${g.reduceTasks.toLocaleString('en')} reduce tasks`,
    `          ${g.seconds.toFixed(1)} s, peak RSS ${g.peakRssMiB.toFixed(0)} MiB (heap ${g.peakHeapMiB.toFixed(0)} MiB), ${g.requests.toLocaleString('en')} S3 requests`,
    `          manifests ${g.totalManifestMiB.toFixed(0)} MiB in all, largest ${g.maxManifestKiB.toFixed(0)} KiB; largest reduce item ${limit(g.maxReduceItemBytes)}; output ${limit(g.shuffleResultBytes)}`,
    `commit    ${g.commitSeconds.toFixed(1)} s, peak heap ${g.commitPeakHeapMiB.toFixed(0)} MiB; output ${limit(g.commitResultBytes)}`,
    '',
    `largest payload of each state (the definition executed at M = ${g.mapTasks.toLocaleString('en')}, ${g.reduceTasks.toLocaleString('en')} reduce tasks; ${states.seconds.toFixed(0)} s)`,
    ...Object.entries(states.largest)
      .sort((a, b) => b[1] - a[1])
      .map(([state, size]) => `          ${state.padEnd(width)}  ${limit(size)}`),
    `          Map results (ResultWriter objects in S3, not in any state): map phase ${size(states.mapResultObjects['map phase']!)}, reduce phase ${size(states.mapResultObjects['reduce phase']!)}`,
    '',
    `/tmp      shuffle plan ${g.shuffleTmpMiB.toFixed(0)} MiB (its slot file); a reduce task ${g.reduceTmpMiB.toFixed(0)} MiB (its largest partition, one at a time)`,
    `S3 rate   reduce phase at full concurrency: ${n(rates.inFlight)} ranged GETs in flight (${DEFAULTS.maxConcurrency} tasks × ${DEFAULTS.fetchConcurrency}), ~${n(rates.getsPerSecond)} GET/s at ${ASSUMED_GET_SECONDS * 1000} ms each`,
    `          over ${n(rates.prefixes)} map-task folders: ${rates.perPartitionedPrefix.toFixed(1)} GET/s per prefix once S3 has partitioned them; ${n(rates.getsPerSecond)} GET/s on one prefix before (S3: 5,500)`,
    `          shuffle plan: ~${n(rates.shuffleGetsPerSecond)} GET/s (${DEFAULTS.metadataConcurrency} in flight) under one map/ prefix`,
    `status    status(): ${n(status.status.s3)} S3 requests + ${status.status.stepFunctions} Step Functions calls (DescribeExecution, ListMapRuns, DescribeMapRun ×2); a wait() poll: ${n(status.poll.s3)} S3 + ${status.poll.stepFunctions}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
