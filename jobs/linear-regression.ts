/**
 * Ordinary least squares with an intercept, y = b0 + b1·x1 + … + bp·xp. The map side sums
 * the moments (n, Σx, Σy, Σx·xᵀ, Σx·y, Σy²) with compensated sums; one reduce call gets them
 * all and solves the normal equations of the centred data, scaled to unit diagonal (the
 * correlation matrix: far better conditioned than XᵀX, and blind to the features' units), by
 * Cholesky decomposition. Rows with a missing or non-numeric target or feature are dropped
 * (counter `dropped`, and `dropped` in the model).
 *
 * A feature that is constant, or whose R² against the features before it exceeds 1 − 1e-10
 * (a variance inflation factor above 1e10: collinear), fails the job with its name.
 *
 * Parameters: target (required), features (required, comma-separated): CSV columns.
 * Input: CSV with a header. Output (jsonl), one line:
 *   {"key": "model", "value": {"intercept": b0, "coefficients": {"<feature>": b, …},
 *    "n": <rows used>, "dropped": <rows dropped>, "r2": <R²>, "rmse": <√(SSE/n)>}}
 *
 *   streaming run jobs/linear-regression.ts --input cars.csv --output model/ \
 *     --param target=Miles_per_Gallon --param features=Horsepower,Weight_in_lbs
 */
import { defineJob, type TaskContext } from 'streaming';
import { addTo, columnsParam, numberOf, valueAt } from './lib/numeric.js';

/**
 * [n, rows dropped, then compensated sums (value, compensation) of: Σx_j (p), Σy, Σx_j·x_k
 * (j ≤ k), Σx_j·y (p), Σy²].
 */
type Moments = number[];

function layout(p: number) {
  const sx = 2;
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
    const p = features.length;
    const at = layout(p);
    const m: Moments = new Array(at.length).fill(0);
    if (y === undefined || Number.isNaN(y) || x.some((v) => v === undefined || Number.isNaN(v))) {
      ctx.count('dropped');
      m[1] = 1;
      emit('model', m);
      return;
    }
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
      out[1]! += m[1]!;
      for (let i = 2; i < m.length; i += 2) {
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
  dropped: number;
  r2: number;
  rmse: number;
}

/** Solves the centred, unit-diagonal normal equations from the moments. */
export function solve(m: Moments, features: string[]): LinearModel {
  const p = features.length;
  const at = layout(p);
  const n = m[0]!;
  if (n <= p)
    throw new RangeError(`linear-regression has ${n} usable rows for ${p} features and an intercept: too few.`);
  const mx = features.map((_, j) => valueAt(m, at.sx + 2 * j) / n);
  const my = valueAt(m, at.sy) / n;
  const sxx = (j: number, k: number) => valueAt(m, at.sxx + 2 * (j <= k ? tri(p, j, k) : tri(p, k, j)));
  // Centred cross-products: Σ(x_j − x̄_j)(x_k − x̄_k) = Σx_j·x_k − n·x̄_j·x̄_k, and so on.
  const a = features.map((_, j) => features.map((_, k) => sxx(j, k) - n * mx[j]! * mx[k]!));
  const b = features.map((_, j) => valueAt(m, at.sxy + 2 * j) - n * mx[j]! * my);
  const syy = valueAt(m, at.syy) - n * my * my;
  // A constant feature: no spread left beside rounding of its raw second moment.
  const scale = features.map((f, j) => {
    const ajj = a[j]![j]!;
    if (!(ajj > 1e-12 * sxx(j, j)))
      throw new RangeError(
        `linear-regression cannot solve: feature "${f}" is constant over the rows used. Drop it from --param features.`,
      );
    return Math.sqrt(ajj);
  });
  // Correlation scale: c_jk = a_jk / (s_j·s_k), so every feature's units weigh alike.
  const c = a.map((row, j) => row.map((v, k) => v / (scale[j]! * scale[k]!)));
  const gamma = cholesky(
    c,
    b.map((v, j) => v / scale[j]!),
    features,
  );
  const beta = gamma.map((g, j) => g / scale[j]!);
  let explained = 0;
  for (let j = 0; j < p; j++) explained += beta[j]! * b[j]!;
  const sse = Math.max(0, syy - explained);
  return {
    intercept: my - beta.reduce((s, bj, j) => s + bj * mx[j]!, 0),
    coefficients: Object.fromEntries(features.map((f, j) => [f, beta[j]!])),
    n,
    dropped: m[1]!,
    r2: syy > 0 ? explained / syy : 1,
    rmse: Math.sqrt(sse / n),
  };
}

/**
 * Solves C·x = r for a correlation matrix C by Cholesky (C = L·Lᵀ). L_jj² is 1 − R² of
 * feature j regressed on features 0 … j−1, so a tiny one names a collinear feature.
 */
function cholesky(c: number[][], r: number[], features: string[]): number[] {
  const p = r.length;
  const l = c.map(() => new Array<number>(p).fill(0));
  for (let j = 0; j < p; j++) {
    let d = c[j]![j]!;
    for (let k = 0; k < j; k++) d -= l[j]![k]! ** 2;
    if (!(d > 1e-10))
      throw new RangeError(
        `linear-regression cannot solve: feature "${features[j]}" is a linear combination of ${features
          .slice(0, j)
          .map((f) => `"${f}"`)
          .join(', ')} (R² > 1 − 1e-10). Drop one of them from --param features.`,
      );
    const ljj = Math.sqrt(d);
    l[j]![j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = c[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = s / ljj;
    }
  }
  // L·z = r, then Lᵀ·x = z.
  const z = new Array<number>(p).fill(0);
  for (let i = 0; i < p; i++) {
    let s = r[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * z[k]!;
    z[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(p).fill(0);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < p; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}
