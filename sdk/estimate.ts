/**
 * What a cloud job will cost, before running it (`streaming estimate`, `estimateCost()`): S3
 * requests, Lambda GB-seconds and invocations, Step Functions state transitions, in dollars from
 * PRICES. The request counts follow what each phase does (functions/phases); the durations
 * follow the throughputs given. Every job's `_manifest.json` reports the requests and bytes it
 * really made (`io`), to check the estimate against.
 */
import { DEFAULTS } from '../functions/config.js';
import { StreamingError } from '../functions/errors.js';

/**
 * US East (N. Virginia) list prices, USD, as published by AWS in 2026 (S3 Standard, Lambda on
 * arm64, Step Functions Standard workflows). Free tiers are not subtracted.
 */
export const PRICES = {
  /** S3 PUT, COPY, POST and LIST requests, per request ($0.005 per 1,000). */
  s3Write: 0.005 / 1000,
  /** S3 GET and other read requests, per request ($0.0004 per 1,000). */
  s3Read: 0.0004 / 1000,
  /** Lambda on arm64, per GB-second. */
  lambdaGbSecond: 0.0000133334,
  /** Lambda, per invocation ($0.20 per million). */
  lambdaRequest: 0.2 / 1e6,
  /** Step Functions Standard, per state transition ($0.025 per 1,000). */
  stateTransition: 0.025 / 1000,
} as const;

/** What the estimate assumes when not told (the memory sizes are the deployment's, in DEFAULTS). */
export const ESTIMATE_DEFAULTS = {
  shuffleRatio: 0.3,
  outputRatio: 0.1,
  mapBytesPerSecond: 40e6,
  reduceBytesPerSecond: 40e6,
} as const;

/** The multipart part size of the S3 writer (functions/storage/s3.ts). */
const PART_BYTES = 8 * 2 ** 20;

export interface EstimateOptions {
  /** Bytes of input. */
  inputBytes: number;
  /** @default DEFAULTS.splitSize */
  splitSize?: number;
  /** @default DEFAULTS.reducers */
  reducers?: number;
  /** Memory of the map and reduce functions, MiB. @default DEFAULTS.memoryMiB.map (one vCPU) */
  memoryMiB?: number;
  /** Memory of plan, shuffle and commit, MiB. @default DEFAULTS.memoryMiB.control */
  controlMemoryMiB?: number;
  /** Input objects (listing pages, one GET each at least). @default one per split */
  objects?: number;
  /** Shuffled bytes per input byte (after the combiner): ~0.02 for word count, ~1 for a join. @default 0.3 */
  shuffleRatio?: number;
  /** Output bytes per input byte. @default 0.1 */
  outputRatio?: number;
  /** Bytes a map task processes per second at 1769 MiB; it scales with memory (CPU share). @default 40e6 */
  mapBytesPerSecond?: number;
  /** Shuffled bytes a reduce task merges per second at 1769 MiB. @default 40e6 */
  reduceBytesPerSecond?: number;
}

export interface CostLine {
  item: string;
  quantity: number;
  unit: string;
  dollars: number;
}

export interface Estimate {
  mapTasks: number;
  reducers: number;
  s3: { writes: number; reads: number };
  lambda: { invocations: number; gbSeconds: number; mapSeconds: number; reduceSeconds: number };
  stateTransitions: number;
  lines: CostLine[];
  dollars: number;
}

export function estimateCost(o: EstimateOptions): Estimate {
  const splitSize = o.splitSize ?? DEFAULTS.splitSize;
  const R = o.reducers ?? DEFAULTS.reducers;
  const mem = o.memoryMiB ?? DEFAULTS.memoryMiB.map;
  const controlMem = o.controlMemoryMiB ?? DEFAULTS.memoryMiB.control;
  const problems: string[] = [];
  if (!(o.inputBytes > 0)) problems.push('inputBytes must be > 0');
  if (!(splitSize > 0)) problems.push('splitSize must be > 0');
  if (!(Number.isInteger(R) && R >= 0)) problems.push('reducers must be a whole number >= 0');
  if (!(mem >= 128 && mem <= 10240)) problems.push('memory must be 128-10240 MiB (Lambda limits)');
  if (problems.length > 0) throw new StreamingError(`Cannot estimate: ${problems.join('; ')}.`);

  const M = Math.ceil(o.inputBytes / splitSize);
  const objects = o.objects ?? M;
  const shuffle = o.inputBytes * (o.shuffleRatio ?? ESTIMATE_DEFAULTS.shuffleRatio);
  const output = o.inputBytes * (o.outputRatio ?? ESTIMATE_DEFAULTS.outputRatio);
  const parts = (bytes: number) => Math.max(1, Math.ceil(bytes / PART_BYTES));
  // A multipart upload: create, parts, complete (one PUT when it fits one part).
  const upload = (bytes: number) => (parts(bytes) === 1 ? 1 : parts(bytes) + 2);
  const perMapShuffle = shuffle / M;
  const perReduceIn = R > 0 ? shuffle / R : 0;
  const perPartOut = R > 0 ? output / R : output / M;

  // LISTs are priced as writes; on S3 an existence check (`stat`) is a one-key LIST.
  const s3 = { writes: 0, reads: 0 };
  // Plan: check the output (its _SUCCESS, then a listing), list the inputs, write spec, splits and plan.
  s3.writes += 2 + Math.ceil(objects / 1000) + 3;
  // Splits of many objects (past ~110 bytes of JSON each in an item) have their chunk lists in
  // one more object, which each of their map tasks reads a range of (split-items.ts).
  const listed = objects / M > DEFAULTS.inlineSplitBytes / 110 ? M : 0;
  if (listed > 0) s3.writes += 1;
  s3.reads += listed;
  // Each Distributed Map's ItemReader GETs its item list (splits; reducers), and its
  // ResultWriter PUTs the children's results and a manifest under scratch.
  const maps = R > 0 ? 2 : 1;
  s3.reads += maps;
  s3.writes += 2 * maps;
  // The output's claim (functions/phases/claim.ts): Plan creates it; Plan, every map and reduce
  // task (a renewal, a PUT, at most once per 10 min), the shuffle plan and Commit (twice) read it;
  // its release is a DELETE (free).
  s3.writes += 1;
  s3.reads += M + R + 3;
  // Map: a ranged GET of its split (plus one past its end to finish the last line), its data
  // object (or, map-only, its part) and its index.
  s3.reads += M * 2 + Math.max(0, objects - M);
  s3.writes += M * ((R > 0 ? upload(perMapShuffle) : upload(perPartOut)) + 1);
  if (R > 0) {
    // Shuffle plan: the M indexes in, R manifests + attempts + reducers list out.
    s3.reads += M;
    s3.writes += R + 2;
    // Reduce: its manifest and the attempts, a ranged GET per map task, its part and result.
    s3.reads += R * (2 + M);
    s3.writes += R * (upload(perPartOut) + 1);
  }
  // Commit: spec, M indexes, R results; its own _SUCCESS check and the failed attempts' listing;
  // manifest and _SUCCESS; listing the scratch to delete it (DeleteObjects is free, as DELETE is).
  s3.reads += 1 + M + R;
  s3.writes += 2 + 2 + Math.ceil((3 * M + 2 * R + 5) / 1000);

  const cpu = mem / 1769;
  const mapSeconds = splitSize / ((o.mapBytesPerSecond ?? ESTIMATE_DEFAULTS.mapBytesPerSecond) * cpu) + 0.5;
  const reduceSeconds =
    R > 0 ? perReduceIn / ((o.reduceBytesPerSecond ?? ESTIMATE_DEFAULTS.reduceBytesPerSecond) * cpu) + 0.5 : 0;
  const controlSeconds = 2 + M * 0.002 + R * 0.002; // plan, shuffle, commit: mostly S3 round trips
  const gbSeconds = (M * mapSeconds + R * reduceSeconds) * (mem / 1024) + 3 * controlSeconds * (controlMem / 1024);
  const invocations = M + R + (R > 0 ? 4 : 3);
  // The parent runs ~10 states; each child execution of a Distributed Map enters and leaves its one Task.
  const stateTransitions = 10 + 2 * M + 2 * R;

  const lines: CostLine[] = [
    { item: 'S3 PUT/LIST requests', quantity: s3.writes, unit: 'requests', dollars: s3.writes * PRICES.s3Write },
    { item: 'S3 GET requests', quantity: s3.reads, unit: 'requests', dollars: s3.reads * PRICES.s3Read },
    { item: 'Lambda compute', quantity: gbSeconds, unit: 'GB-s', dollars: gbSeconds * PRICES.lambdaGbSecond },
    {
      item: 'Lambda invocations',
      quantity: invocations,
      unit: 'requests',
      dollars: invocations * PRICES.lambdaRequest,
    },
    {
      item: 'Step Functions',
      quantity: stateTransitions,
      unit: 'transitions',
      dollars: stateTransitions * PRICES.stateTransition,
    },
  ];
  return {
    mapTasks: M,
    reducers: R,
    s3,
    lambda: { invocations, gbSeconds, mapSeconds, reduceSeconds },
    stateTransitions,
    lines,
    dollars: lines.reduce((s, l) => s + l.dollars, 0),
  };
}

/** The estimate as the CLI prints it. */
export function formatEstimate(e: Estimate, o: EstimateOptions): string {
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const rows = e.lines.map(
    (l) =>
      `  ${l.item.padEnd(22)} ${n(l.quantity).padStart(14)} ${l.unit.padEnd(12)} $${l.dollars.toFixed(4).padStart(10)}`,
  );
  return [
    `${(o.inputBytes / 1e9).toFixed(1)} GB in ${n(e.mapTasks)} map tasks of ${((o.splitSize ?? DEFAULTS.splitSize) / 2 ** 20).toFixed(0)} MiB, ${e.reducers} reducers, ${o.memoryMiB ?? DEFAULTS.memoryMiB.map} MiB functions`,
    `  map task ~${e.lambda.mapSeconds.toFixed(1)} s, reduce task ~${e.lambda.reduceSeconds.toFixed(1)} s (at the throughputs assumed)`,
    ...rows,
    `  ${'total'.padEnd(22)} ${''.padStart(14)} ${''.padEnd(12)} $${e.dollars.toFixed(4).padStart(10)}`,
    'US East list prices (sdk/estimate.ts PRICES), free tiers not subtracted; check a run against its _manifest.json io.',
  ].join('\n');
}
