/**
 * The passes of k-means|| (scalable k-means++, Bahmani et al. 2012, as Spark MLlib runs it),
 * driven by `initKMeans()` in jobs/kmeans.ts; each run is one pass over a CSV table, chosen by
 * `--param mode`:
 *   first    the row whose hash (of the seed and its coordinates) is smallest: the first center
 *   cost     φ = Σ d²(x, C) over the rows, C the centers so far (`--param centers=<JSON file>`)
 *   sample   every row with probability min(1, ℓ·d²(x, C)/φ) (`--param cost=φ`, `oversampling=ℓ`,
 *            `round=r`), decided by the hash of (seed, round, its coordinates)
 *   weights  how many rows each center is nearest to
 * A row's random draws depend only on the seed and its coordinates, so the centers do not depend
 * on the order of rows, files, splits or workers. Rows with a missing or non-numeric feature are
 * skipped (counter `skipped`).
 *
 * Parameters: features (required), mode (required), seed (default 0), centers, cost, round,
 * oversampling. Output (jsonl): one record, key = the mode.
 */
import { defineJob, InvalidJobError, murmurHash3, type TaskContext } from 'streaming';
import { Loaded, withLoaded } from './lib/loaded.js';
import { addTo, columnsParam, nearestCenter, numberOf, requireColumns } from './lib/numeric.js';

type Mode = 'first' | 'cost' | 'sample' | 'weights';

/** A row's uniform draw in [0, 1) for a purpose, from the seed and its coordinates. */
export function draw(seed: number, purpose: string, x: number[]): number {
  return (murmurHash3(`${purpose} ${JSON.stringify(x)}`, seed) >>> 0) / 2 ** 32;
}

function settings(ctx: TaskContext): { mode: Mode; seed: number } {
  const mode = ctx.params.mode as Mode;
  if (!['first', 'cost', 'sample', 'weights'].includes(mode))
    throw new InvalidJobError(`kmeans-init needs --param mode=first|cost|sample|weights (got "${mode}").`);
  const seed = Number(ctx.params.seed ?? 0);
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32))
    throw new InvalidJobError(`--param seed must be a whole number from 0 to 2^32 − 1 (got "${ctx.params.seed}").`);
  return { mode, seed };
}

const centers = new Loaded<number[][]>();
function centersOf(ctx: TaskContext): number[][] | Promise<number[][]> {
  const uri = ctx.params.centers;
  if (!uri) throw new InvalidJobError('kmeans-init needs --param centers=<JSON file of the centers so far>.');
  return centers.get(`${ctx.task.attempt} ${uri}`, () =>
    ctx.sideInput(uri).then((text) => JSON.parse(text) as number[][]),
  );
}

/** Values per mode, folded: first [draw, x] (the smallest draw; ties: the smaller x); cost [Σ, compensation, rows]; sample [x, …]; weights [counts]. */
type Value = [number, number[]] | [number, number, number] | number[][] | number[];

function fold(key: string, values: Iterable<Value>): Value {
  let out: Value | undefined;
  for (const v of values) {
    if (out === undefined) {
      out = v;
      continue;
    }
    if (key === 'first') {
      const [u, x] = v as [number, number[]];
      const [bu, bx] = out as [number, number[]];
      if (u < bu || (u === bu && compare(x, bx) < 0)) out = v;
    } else if (key === 'cost') {
      const o = out as [number, number, number];
      const [s, c, n] = v as [number, number, number];
      addTo(o, 0, s);
      addTo(o, 0, c);
      o[2] += n;
    } else if (key === 'sample') for (const x of v as number[][]) (out as number[][]).push(x);
    else
      (v as number[]).forEach((n, k) => {
        (out as number[])[k]! += n;
      });
  }
  return out!;
}

const compare = (a: number[], b: number[]) => {
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return a[j]! - b[j]!;
  return 0;
};

export default defineJob({
  name: 'kmeans-init',
  input: { format: 'csv' },
  map(row, emit, ctx) {
    const features = columnsParam(ctx, 'features', 'kmeans-init');
    requireColumns(row, features, ctx, 'kmeans-init');
    const { mode, seed } = settings(ctx);
    const values = features.map((f) => numberOf(row[f]));
    if (values.some((v) => v === undefined || Number.isNaN(v))) {
      ctx.count('skipped');
      return;
    }
    const x = values as number[];
    if (mode === 'first') {
      emit('first', [draw(seed, 'first', x), x] as Value);
      return;
    }
    return withLoaded(centersOf(ctx), (c) => {
      const [d2, at] = nearestCenter(c, x);
      if (mode === 'cost') emit('cost', [d2, 0, 1] as Value);
      else if (mode === 'weights') {
        const counts = new Array<number>(c.length).fill(0);
        counts[at] = 1;
        emit('weights', counts);
      } else {
        const cost = Number(ctx.params.cost);
        const l = Number(ctx.params.oversampling);
        if (!(cost > 0) || !(l > 0))
          throw new InvalidJobError('kmeans-init sample needs --param cost=<φ> and oversampling=<ℓ>.');
        if (draw(seed, `round ${ctx.params.round}`, x) < Math.min(1, (l * d2) / cost)) emit('sample', [x]);
      }
    });
  },
  combine: fold,
  reduce(key: string, values: Iterable<Value>, emit) {
    emit(key, fold(key, values));
  },
  reducers: 1,
  output: { format: 'jsonl' },
});
