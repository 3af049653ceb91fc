/**
 * `npm run bench:scale`: the control phases at cloud scale, on generated listings and indexes
 * in memory (no AWS, no disk but the shuffle's scratch file): Plan over 1,000,000 input objects
 * into ~10,000 splits, then the shuffle plan and Commit for M = 10,000 map tasks × R = 1,000
 * reducers. Prints wall time, peak memory, S3 requests and the largest state payload of each
 * against Step Functions' 256 KiB limit (`--json` for the figures as JSON).
 *
 * The same functions run in test/scale.test.ts, which checks what they produce (never how fast).
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { claimOutput, claimOwner } from '../functions/phases/claim.js';
import { commit } from '../functions/phases/commit.js';
import type { MapIndex } from '../functions/phases/map.js';
import { type PlanResult, plan, type Split } from '../functions/phases/plan.js';
import type { ReduceResult } from '../functions/phases/reduce.js';
import { type FetchRange, type ReducerItem, readReduceManifest, shufflePlan } from '../functions/phases/shuffle.js';
import { layout, type RunContext } from '../functions/spec.js';
import { StorageRouter } from '../functions/storage/index.js';
import type { ObjectInfo } from '../functions/storage/types.js';
import { defineJob } from '../sdk/define.js';
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
): Promise<{ figures: PlanFigures; splits: Split[]; sizes: (i: number) => number }> {
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
  const splits = JSON.parse(splitsJson.toString('utf8')) as Split[];
  let maxMapItemBytes = 0;
  for (const split of splits) maxMapItemBytes = Math.max(maxMapItemBytes, bytes({ job: result.job, split }));
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
    splits,
    sizes,
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
  commitSeconds: number;
  commitPeakHeapMiB: number;
  commitResultBytes: number;
}

/** Shuffle plan then Commit for M map tasks × R reducers, with generated indexes and reduce results. */
export async function shuffleAtScale(
  M = 10_000,
  R = 1_000,
  sample: number[] = [0, 1, R - 1],
): Promise<{ figures: ShuffleFigures; ranges: Map<number, FetchRange[]> }> {
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
  const storage = new MemoryStorage({}, generate, (uri) => kept.has(uri) || !uri.includes('/reduce/'));
  const router = new StorageRouter(() => storage);
  const env = { storage: router, attempt: 'shuffle', tmpDir: os.tmpdir() };
  const shuffled = await measured(() => shufflePlan(env, run, M));
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
      commitSeconds: committed.seconds,
      commitPeakHeapMiB: committed.peakHeapMiB,
      commitResultBytes: bytes(committed.value),
    },
    ranges,
  };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  // Only the figures are kept: the splits and ranges would weigh on the next measurement.
  const f = (await planAtScale()).figures;
  const g = (await shuffleAtScale()).figures;
  if (json) {
    process.stdout.write(`${JSON.stringify({ plan: f, shuffle: g }, null, 2)}\n`);
    return;
  }
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const limit = (n: number) => `${kib(n)} (${((n / STATE_PAYLOAD_LIMIT) * 100).toFixed(1)}% of 256 KiB)`;
  const lines = [
    `control phases at scale, generated in memory; Node ${process.version}, ${os.cpus().length} cores`,
    '',
    `plan      ${f.objects.toLocaleString('en')} objects (${(f.inputBytes / 1e9).toFixed(0)} GB) into ${f.splits.toLocaleString('en')} splits`,
    `          ${f.seconds.toFixed(1)} s, peak RSS ${f.peakRssMiB.toFixed(0)} MiB (heap ${f.peakHeapMiB.toFixed(0)} MiB), ${f.listRequests.toLocaleString('en')} list requests`,
    `          splits.json ${f.splitsJsonMiB.toFixed(1)} MiB; largest map item ${limit(f.maxMapItemBytes)}; plan output ${limit(f.planResultBytes)}`,
    `shuffle   M = ${g.mapTasks.toLocaleString('en')} map tasks × R = ${g.reducers.toLocaleString('en')} reducers`,
    `          ${g.seconds.toFixed(1)} s, peak RSS ${g.peakRssMiB.toFixed(0)} MiB (heap ${g.peakHeapMiB.toFixed(0)} MiB), ${g.requests.toLocaleString('en')} S3 requests`,
    `          manifests ${g.totalManifestMiB.toFixed(0)} MiB in all, largest ${g.maxManifestKiB.toFixed(0)} KiB; largest reduce item ${limit(g.maxReduceItemBytes)}; output ${limit(g.shuffleResultBytes)}`,
    `commit    ${g.commitSeconds.toFixed(1)} s, peak heap ${g.commitPeakHeapMiB.toFixed(0)} MiB; output ${limit(g.commitResultBytes)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
