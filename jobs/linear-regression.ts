/**
 * Ordinary least squares with an intercept, y = b0 + b1·x1 + … + bp·xp. The map side sums
 * the moments (n, Σx, Σy, Σx·xᵀ, Σx·y, Σy²) with compensated sums; one reduce call gets them
 * all and solves the normal equations of the centred data (better conditioned than XᵀX
 * itself) by Gaussian elimination with partial pivoting. Rows with a missing or non-numeric
 * target or feature are dropped (counter `dropped`).
 *
 * Parameters: target (required), features (required, comma-separated): CSV columns.
 * Input: CSV with a header. Output (jsonl), one line:
 *   {"key": "model", "value": {"intercept": b0, "coefficients": {"<feature>": b, …},
 *    "n": <rows used>, "r2": <R²>, "rmse": <root mean squared residual>}}
 *
 *   streaming run jobs/linear-regression.ts --input cars.csv --output model/ \
 *     --param target=Miles_per_Gallon --param features=Horsepower,Weight_in_lbs
 */
import { defineJob, type TaskContext } from 'streaming';
import { addTo, columnsParam, numberOf, valueAt } from './lib/numeric.js';

/**
 * [n, then compensated sums (value, compensation) of: Σx_j (p), Σy, Σx_j·x_k (j ≤ k), Σx_j·y (p), Σy²].
 */
type Moments = number[];

function layout(p: number) {
  const sx = 1;
  const sy = sx + 2 * p;
  const sxx = sy + 2;
  const sxy = sxx + p * (p + 1);
  const syy = sxy + 2 * p;
  return { sx, sy, sxx, sxy, syy, length: syy + 2 };
}

/** Index of x_j·x_k (j ≤ k) in the packed upper triangle. */
const tri = (p: number, j: number, k: number) => j * p - (j * (j - 1)) / 2 + (k - j);

function settings(ctx: TaskContext): { target: string; features: string[] } {
  const target = ctx.params.target?.trim();
  if (!target) throw new TypeError('linear-regression needs --param target=<column>.');
  return { target, features: columnsParam(ctx, 'features', 'linear-regression') };
}

export default defineJob({
  name: 'linear-regression',
  input: { format: 'csv' },
  map(row, emit, ctx) {
    const { target, features } = settings(ctx);
    const y = numberOf(row[target]);
    const x = features.map((f) => numberOf(row[f]));
    if (y === undefined || Number.isNaN(y) || x.some((v) => v === undefined || Number.isNaN(v))) {
      ctx.count('dropped');
      return;
    }
    const p = features.length;
    const at = layout(p);
    const m: Moments = new Array(at.length).fill(0);
    m[0] = 1;
    for (let j = 0; j < p; j++) {
      const xj = x[j]!;
      m[at.sx + 2 * j] = xj;
      m[at.sxy + 2 * j] = xj * y;
      for (let k = j; k < p; k++) m[at.sxx + 2 * tri(p, j, k)] = xj * x[k]!;
    }
    m[at.sy] = y;
    m[at.syy] = y * y;
    emit('model', m);
  },
  combine: (_key: string, all: Iterable<Moments>) => addMoments(all),
  reduce(key: string, all: Iterable<Moments>, emit, ctx) {
    const { features } = settings(ctx);
    emit(key, solve(addMoments(all), features));
  },
  reducers: 1,
  output: { format: 'jsonl' },
});

/** Adds moments into the first (compensated, so the order of rows hardly matters). */
function addMoments(all: Iterable<Moments>): Moments {
  let out: Moments | undefined;
  for (const m of all) {
    if (out === undefined) out = m;
    else {
      out[0]! += m[0]!;
      for (let i = 1; i < m.length; i += 2) {
        addTo(out, i, m[i]!);
        addTo(out, i, m[i + 1]!);
      }
    }
  }
  return out ?? [];
}

export interface LinearModel {
  intercept: number;
  coefficients: Record<string, number>;
  n: number;
  r2: number;
  rmse: number;
}

/** Solves the centred normal equations from the moments. */
export function solve(m: Moments, features: string[]): LinearModel {
  const p = features.length;
  const at = layout(p);
  const n = m[0]!;
  if (n <= p)
    throw new RangeError(`linear-regression has ${n} usable rows for ${p} features and an intercept: too few.`);
  const mx = features.map((_, j) => valueAt(m, at.sx + 2 * j) / n);
  const my = valueAt(m, at.sy) / n;
  // Centred cross-products: Σ(x_j − x̄_j)(x_k − x̄_k) = Σx_j·x_k − n·x̄_j·x̄_k, and so on.
  const a = features.map((_, j) =>
    features.map((_, k) => {
      const [lo, hi] = j <= k ? [j, k] : [k, j];
      return valueAt(m, at.sxx + 2 * tri(p, lo, hi)) - n * mx[j]! * mx[k]!;
    }),
  );
  const b = features.map((_, j) => valueAt(m, at.sxy + 2 * j) - n * mx[j]! * my);
  const syy = valueAt(m, at.syy) - n * my * my;
  const beta = gauss(a, [...b], features);
  let explained = 0;
  for (let j = 0; j < p; j++) explained += beta[j]! * b[j]!;
  const sse = Math.max(0, syy - explained);
  return {
    intercept: my - beta.reduce((s, bj, j) => s + bj * mx[j]!, 0),
    coefficients: Object.fromEntries(features.map((f, j) => [f, beta[j]!])),
    n,
    r2: syy > 0 ? explained / syy : 1,
    rmse: Math.sqrt(sse / n),
  };
}

/** Gaussian elimination with partial pivoting; a (near-)singular system names the culprit. */
function gauss(a: number[][], b: number[], features: string[]): number[] {
  const p = b.length;
  const scale = Math.max(...a.map((row, i) => Math.abs(row[i]!)));
  for (let c = 0; c < p; c++) {
    let pivot = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r;
    if (!(Math.abs(a[pivot]![c]!) > 1e-12 * scale))
      throw new RangeError(
        `linear-regression cannot solve: feature "${features[c]}" is constant or a combination of the others. Drop it from --param features.`,
      );
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    [b[c], b[pivot]] = [b[pivot]!, b[c]!];
    for (let r = c + 1; r < p; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let k = c; k < p; k++) a[r]![k]! -= f * a[c]![k]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = new Array<number>(p).fill(0);
  for (let r = p - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < p; k++) s -= a[r]![k]! * x[k]!;
    x[r] = s / a[r]![r]!;
  }
  return x;
}
