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
 * `trainKMeans()` (below) runs iterations until no centroid moves more than a tolerance.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineJob, InvalidJobError, iterate, type LocalRunOptions, runLocal, type TaskContext } from 'streaming';
import { HEADER_KEY, headerOf } from './lib/model.js';
import { columnsParam, numberOf, requireColumns } from './lib/numeric.js';

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
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    centroids.forEach((c, k) => {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (x[j]! - c[j]!) ** 2;
      if (dist < bestDistance) {
        bestDistance = dist;
        best = k;
      }
    });
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
  /** The starting centroids. */
  centroids: number[][];
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
  const fs = await import('node:fs/promises');
  const jobPath = options.job ?? ownFile();
  await fs.mkdir(options.output, { recursive: true });
  const initial = path.join(options.output, 'initial-centroids.json');
  await fs.writeFile(initial, JSON.stringify(options.centroids));
  const history: number[][][] = [options.centroids];
  let from = initial;
  const result = await iterate({
    initial: options.centroids,
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
      const text = (await Promise.all(manifest.parts.map((p) => fs.readFile(fileURLToPath(p.uri), 'utf8')))).join('');
      const next = parseCentroids(text, output);
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
