/**
 * One Lloyd iteration of k-means: each row goes to its nearest centroid (squared Euclidean
 * distance; a tie goes to the lowest index), and each centroid moves to the mean of its rows.
 * A centroid that gets no row stays where it was. Rows with a missing or non-numeric feature
 * are skipped (counter `skipped`).
 *
 * Parameters:
 *   features   (required) comma-separated CSV columns: the coordinates
 *   centroids  (required) the current centroids: a JSON file `[[x, y, …], …]`, or the output
 *              location of the previous iteration (this job's own output), read as a side input
 * Input: CSV with a header. Output: a kmeans model (jsonl) — the new centroids, which the next
 * iteration reads and jobs/predict-csv.ts applies:
 *   {"key": ["model"], "value": {"type": "kmeans", "version": 1, "features": […], "k": <centroids>}}
 *   {"key": ["centroid", <index>], "value": {"centroid": [x, y, …], "count": <rows>, "sse": <Σ squared distance to the old centroid>}}
 *
 *   streaming run jobs/kmeans.ts --input iris.csv --output it-1/ --param features=a,b,c,d --param centroids=init.json
 *   streaming run jobs/kmeans.ts --input iris.csv --output it-2/ --param features=a,b,c,d --param centroids=it-1/
 *
 * `trainKMeans()` (below) runs iterations until no centroid moves more than a tolerance,
 * from given centroids or from k-means|| (`initKMeans()`, the passes of jobs/kmeans-init.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineJob, InvalidJobError, iterate, type LocalRunOptions, runLocal, type TaskContext } from 'streaming';
import { outputText, random, sibling } from './lib/drivers.js';
import { HEADER_KEY, headerOf } from './lib/model.js';
import { columnsParam, nearestCenter, numberOf, requireColumns } from './lib/numeric.js';

/** [rows, Σx_0, …, Σx_d-1, Σ squared distance] of one cluster. */
type ClusterSum = number[];

/** Parses centroids: a JSON array of points, or this job's output (a kmeans model). */
export function parseCentroids(text: string, where: string): number[][] {
  const trimmed = text.trim();
  let points: unknown;
  if (trimmed.startsWith('[')) points = JSON.parse(trimmed);
  else {
    const byIndex: number[][] = [];
    for (const line of trimmed.split('\n')) {
      if (line === '') continue;
      const { key, value } = JSON.parse(line) as { key: unknown; value?: { centroid?: number[] } };
      if (Array.isArray(key) && key[0] === 'model') continue;
      const k = Array.isArray(key) && key[0] === 'centroid' ? key[1] : undefined;
      if (!Number.isInteger(k) || (k as number) < 0 || (k as number) >= 1e6 || byIndex[k as number])
        throw new InvalidJobError(
          `${where}: a kmeans output has each cluster (["centroid", 0], ["centroid", 1], …) once; got key ${JSON.stringify(key)}.`,
        );
      byIndex[k as number] = value?.centroid as number[];
    }
    points = byIndex;
  }
  const ok =
    Array.isArray(points) &&
    points.length > 0 &&
    // A hole (a cluster index missing from an output) is not skipped: Array.from turns it into undefined.
    Array.from(points).every(
      (p) => Array.isArray(p) && p.length === (points as unknown[][])[0]!.length && p.every(Number.isFinite),
    );
  if (!ok)
    throw new InvalidJobError(
      `${where} holds no centroids: give a JSON array of points [[x, y, …], …] of one dimension, or a kmeans output.`,
    );
  return points as number[][];
}

let cached: { text: string; centroids: number[][] } | undefined;

async function centroidsOf(ctx: TaskContext, dims: number): Promise<number[][]> {
  const uri = ctx.params.centroids;
  if (!uri) throw new InvalidJobError('kmeans needs --param centroids=<JSON file or previous kmeans output>.');
  const text = await ctx.sideInput(uri);
  if (cached?.text !== text) cached = { text, centroids: parseCentroids(text, uri) };
  if (cached.centroids[0]!.length !== dims)
    throw new InvalidJobError(
      `The centroids in ${uri} have ${cached.centroids[0]!.length} coordinates; features has ${dims}.`,
    );
  return cached.centroids;
}

/** The map task (attempt) that has emitted its empty partials: every cluster reaches a reducer. */
let seeded = '';

const job = defineJob({
  name: 'kmeans',
  input: { format: 'csv' },
  async map(row, emit, ctx) {
    const features = columnsParam(ctx, 'features', 'kmeans');
    requireColumns(row, features, ctx, 'kmeans');
    const centroids = await centroidsOf(ctx, features.length);
    const d = features.length;
    if (seeded !== ctx.task.attempt) {
      // An empty partial per cluster from each task, so a cluster with no rows still has a reduce call.
      seeded = ctx.task.attempt;
      for (let k = 0; k < centroids.length; k++) emit(k, new Array(d + 2).fill(0));
    }
    const x = features.map((f) => numberOf(row[f]));
    if (x.some((v) => v === undefined || Number.isNaN(v))) {
      ctx.count('skipped');
      return;
    }
    const [bestDistance, best] = nearestCenter(centroids, x as number[]);
    emit(best, [1, ...(x as number[]), bestDistance]);
  },
  combine: (_k: number, partials: Iterable<ClusterSum>) => sumInto(partials),
  async reduce(k: number, partials: Iterable<ClusterSum>, emit, ctx) {
    const total = sumInto(partials);
    const d = total.length - 2;
    const rows = total[0]!;
    const previous = (await centroidsOf(ctx, d))[k]!;
    const centroid = rows > 0 ? total.slice(1, d + 1).map((s) => s / rows) : previous;
    if (k === 0)
      emit(
        HEADER_KEY,
        headerOf('kmeans', {
          features: columnsParam(ctx, 'features', 'kmeans'),
          k: (await centroidsOf(ctx, d)).length,
        }),
      );
    emit(['centroid', k], { centroid, count: rows, sse: total[d + 1]! });
  },
  reducers: 1,
  output: { format: 'jsonl' },
});
export default job;

/** Adds the partials into the first (combine may reuse its first value). */
function sumInto(partials: Iterable<ClusterSum>): ClusterSum {
  let out: ClusterSum | undefined;
  for (const p of partials) {
    if (out === undefined) out = p;
    else for (let i = 0; i < p.length; i++) out[i]! += p[i]!;
  }
  return out ?? [];
}

export interface TrainKMeansOptions {
  input: string | string[];
  /** Each iteration writes `<output>/iteration-<n>/`; the last holds the final centroids. */
  output: string;
  /** The starting centroids; without them, k-means|| chooses `k` (`initKMeans()`). */
  centroids?: number[][];
  /** The number of clusters, when `centroids` is not given. */
  k?: number;
  /** k-means||'s seed, rounds and oversampling, when `centroids` is not given (`InitKMeansOptions`). */
  init?: Pick<InitKMeansOptions, 'seed' | 'rounds' | 'oversampling'>;
  features: string[];
  /** Stop when no centroid moves farther than this (Euclidean). @default 1e-6 */
  tolerance?: number;
  /** @default 100 */
  maxIterations?: number;
  /** Options for each run (workers, splitSize, …). */
  run?: Partial<LocalRunOptions>;
  /**
   * The kmeans job module each iteration runs. Needed only when this module is bundled into a
   * program (then it is no longer a file of its own). @default this module's file (kmeans.ts or .js)
   */
  job?: string;
  /** The kmeans-init job module, as `job` (k-means|| only). */
  initJob?: string;
}

/**
 * Lloyd's algorithm on the local engine: one kmeans run per iteration, each reading the
 * centroids the previous one wrote, until no centroid moves more than `tolerance`.
 */
export async function trainKMeans(options: TrainKMeansOptions): Promise<{
  centroids: number[][];
  iterations: number;
  converged: boolean;
  history: number[][][];
}> {
  const jobPath = options.job ?? ownFile();
  await fs.mkdir(options.output, { recursive: true });
  let start = options.centroids;
  if (start === undefined) {
    if (options.k === undefined) throw new InvalidJobError('trainKMeans needs centroids (the starting points) or k.');
    start = (
      await initKMeans({
        ...options.init,
        input: options.input,
        k: options.k,
        features: options.features,
        workDir: path.join(options.output, 'init'),
        ...(options.run ? { run: options.run } : {}),
        ...(options.initJob ? { job: options.initJob } : {}),
      })
    ).centers;
  } else if (options.k !== undefined && options.k !== start.length)
    throw new InvalidJobError(`trainKMeans got k=${options.k} and ${start.length} centroids: give one or the other.`);
  const initial = path.join(options.output, 'initial-centroids.json');
  await fs.writeFile(initial, JSON.stringify(start));
  const history: number[][][] = [start];
  let from = initial;
  const result = await iterate({
    initial: start,
    maxIterations: options.maxIterations ?? 100,
    step: async (_state, i) => {
      const output = path.join(options.output, `iteration-${i}`);
      const { manifest } = await runLocal(jobPath, {
        ...options.run,
        input: options.input,
        output,
        overwrite: true,
        params: { ...options.run?.params, features: options.features.join(','), centroids: from },
      });
      from = output;
      const next = parseCentroids(await outputText(manifest), output);
      history.push(next);
      return next;
    },
    converged: (prev, next) => maxShift(prev, next) <= (options.tolerance ?? 1e-6),
  });
  return { centroids: result.state, iterations: result.iterations, converged: result.converged, history };
}

/**
 * This module's file. Bundled into a program, `import.meta.url` is the program's file, which
 * must not become the job (its workers would run the program): then `job` must be given.
 */
function ownFile(): string {
  const file = fileURLToPath(import.meta.url);
  if (!/^kmeans\.[cm]?[jt]s$/.test(path.basename(file)))
    throw new InvalidJobError(
      `trainKMeans runs from ${file}, not from the kmeans module (bundled into a program?): give it job: "<path of jobs/kmeans.ts>".`,
    );
  return file;
}

/** The farthest any centroid moved. */
export function maxShift(a: number[][], b: number[][]): number {
  return Math.max(...a.map((c, k) => Math.hypot(...c.map((x, j) => x - b[k]![j]!))));
}

export interface InitKMeansOptions {
  input: string | string[];
  k: number;
  /** The CSV columns: the coordinates. */
  features: string[];
  /** Another seed, other centers; the same seed, the same centers, whatever the workers and splits. @default 0 */
  seed?: number;
  /** Sampling rounds (more while there are fewer than k candidates). @default 2 (Spark's initializationSteps) */
  rounds?: number;
  /** ℓ, the expected rows sampled per round. @default 2k (Spark's) */
  oversampling?: number;
  /** Where the passes write (their centers and outputs). @default a new temporary directory */
  workDir?: string;
  run?: Partial<LocalRunOptions>;
  /** The kmeans-init job module. Needed only when this module is bundled into a program. @default kmeans-init beside this module */
  job?: string;
}

export interface InitKMeansResult {
  centers: number[][];
  /** The distinct rows sampled, from which the centers were chosen, and the rows nearest each. */
  candidates: number[][];
  weights: number[];
  /** Passes over the data. */
  passes: number;
}

/**
 * k-means|| (scalable k-means++, Bahmani et al. 2012, as Spark MLlib's `initKMeansParallel`):
 * a first center, then `rounds` passes that each sample every row with probability
 * min(1, ℓ·d²(x, C)/φ), φ = Σ d²(x, C) (a pass of its own before each); then a pass counts the
 * rows nearest each distinct candidate, and k-means++ on the weighted candidates, in memory,
 * followed by weighted Lloyd iterations (at most 30, as Spark), picks the k centers. 2 + 2 ×
 * rounds passes. Each row's draws depend on the seed and its coordinates only, the candidates
 * are sorted, and the in-memory part uses a seeded generator: the centers depend on neither
 * workers nor splits nor the order of rows. (Equal rows share their draws: a repeated row is as
 * likely to be the first center, or sampled, as a single one.)
 */
export async function initKMeans(o: InitKMeansOptions): Promise<InitKMeansResult> {
  const k = o.k;
  if (!(Number.isInteger(k) && k >= 1)) throw new InvalidJobError(`k must be a whole number >= 1 (got ${k}).`);
  const seed = o.seed ?? 0;
  const rounds = o.rounds ?? 2;
  if (!(Number.isInteger(rounds) && rounds >= 1))
    throw new InvalidJobError(`rounds must be a whole number >= 1 (got ${o.rounds}).`);
  const oversampling = o.oversampling ?? 2 * k;
  if (!(oversampling > 0)) throw new InvalidJobError(`oversampling must be > 0 (got ${o.oversampling}).`);
  const jobPath = o.job ?? sibling(import.meta.url, 'kmeans', 'kmeans-init', 'initJob');
  const work = o.workDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'streaming-kmeans-init-')));
  await fs.mkdir(work, { recursive: true });
  let passes = 0;
  const pass = async <T>(mode: string, params: Record<string, string> = {}): Promise<T | undefined> => {
    const output = path.join(work, `pass-${passes++}-${mode}`);
    const { manifest } = await runLocal(jobPath, {
      ...o.run,
      input: o.input,
      output,
      overwrite: true,
      params: { ...o.run?.params, ...params, features: o.features.join(','), mode, seed: String(seed) },
    });
    const line = (await outputText(manifest)).split('\n').find((l) => l !== '');
    return line === undefined ? undefined : (JSON.parse(line) as { value: T }).value;
  };
  const centersFile = async (centers: number[][]) => {
    const file = path.join(work, `centers-${passes}.json`);
    await fs.writeFile(file, JSON.stringify(centers));
    return file;
  };

  const first = await pass<[number, number[]]>('first');
  if (first === undefined)
    throw new InvalidJobError(`${o.input}: no row has a number in each of ${o.features.join(', ')}.`);
  let candidates = [first[1]];
  for (let round = 0; round < rounds || (candidates.length < k && round < rounds + 20); round++) {
    const centers = await centersFile(candidates);
    const [sum, compensation] = (await pass<[number, number, number]>('cost', { centers }))!;
    const cost = sum + compensation;
    if (cost === 0) break; // every row is a candidate
    const sampled = await pass<number[][]>('sample', {
      centers,
      cost: String(cost),
      oversampling: String(oversampling),
      round: String(round),
    });
    candidates = distinctSorted([...candidates, ...(sampled ?? [])]);
  }
  if (candidates.length < k)
    throw new InvalidJobError(
      `k-means|| found ${candidates.length} distinct rows for k=${k} clusters (the data has fewer distinct rows than k); choose a smaller k.`,
    );
  const weights = (await pass<number[]>('weights', { centers: await centersFile(candidates) }))!;
  const centers = candidates.length === k ? candidates : weightedKMeans(candidates, weights, k, seed);
  return { centers, candidates, weights, passes };
}

/** The distinct points, in lexicographic order (the same list however they arrived). */
function distinctSorted(points: number[][]): number[][] {
  const seen = new Map<string, number[]>();
  for (const p of points) seen.set(JSON.stringify(p), p);
  return [...seen.values()].sort((a, b) => {
    for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return a[j]! - b[j]!;
    return 0;
  });
}

/**
 * k-means++ on weighted points, then weighted Lloyd iterations until no point changes cluster
 * (at most 30): Spark's `LocalKMeans.kMeansPlusPlus`, with a seeded generator. A cluster that
 * loses all its points keeps its center.
 */
export function weightedKMeans(points: number[][], weights: number[], k: number, seed: number): number[][] {
  const next = random(seed);
  /** The index whose cumulative score first reaches a uniform share of the total. */
  const pick = (scores: number[]): number => {
    const total = scores.reduce((a, b) => a + b, 0);
    const r = next() * total;
    let sum = 0;
    for (let i = 0; i < scores.length; i++) {
      sum += scores[i]!;
      if (sum > r && scores[i]! > 0) return i;
    }
    return scores.findLastIndex((s) => s > 0);
  };
  const centers = [points[pick(weights)]!];
  const cost = points.map((p) => nearestCenter(centers, p)[0]);
  while (centers.length < k) {
    const c = points[pick(cost.map((d, i) => d * weights[i]!))]!;
    centers.push(c);
    points.forEach((p, i) => {
      cost[i] = Math.min(cost[i]!, nearestCenter([c], p)[0]);
    });
  }
  let assignment = points.map(() => -1);
  for (let iteration = 0; iteration < 30; iteration++) {
    const now = points.map((p) => nearestCenter(centers, p)[1]);
    if (now.every((c, i) => c === assignment[i])) break;
    assignment = now;
    centers.forEach((center, c) => {
      let w = 0;
      const sum = center.map(() => 0);
      points.forEach((p, i) => {
        if (now[i] !== c) return;
        w += weights[i]!;
        p.forEach((v, j) => {
          sum[j]! += weights[i]! * v;
        });
      });
      if (w > 0) centers[c] = sum.map((s) => s / w);
    });
  }
  return centers;
}
