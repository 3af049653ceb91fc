/**
 * Ordinary least squares with an intercept, y = b0 + b1·x1 + … + bp·xp. The map side keeps
 * the means and centred co-moments of (x, y), merged by Chan et al.'s update (stable whatever
 * the means); one reduce call gets them all and solves the normal equations of the centred
 * data, scaled to unit diagonal (the
 * correlation matrix: far better conditioned than XᵀX, and blind to the features' units), by
 * Cholesky decomposition. Rows with a missing or non-numeric target or feature are dropped
 * (counter `dropped`, and `dropped` in the model).
 *
 * A feature that is constant, or whose R² against the features before it exceeds 1 − 1e-10
 * (a variance inflation factor above 1e10: collinear), fails the job with its name.
 *
 * Parameters: target (required), features (required, comma-separated): CSV columns.
 * Input: CSV with a header. Output: the model (jsonl), one line, which jobs/predict-csv.ts applies:
 *   {"key": ["model"], "value": {"type": "linear-regression", "version": 1, "target", "features",
 *    "intercept": b0, "coefficients": {"<feature>": b, …}, "n": <rows used>, "dropped": <rows
 *    dropped>, "r2": <R²>, "rmse": <√(SSE/n)>}}
 *
 *   streaming run jobs/linear-regression.ts --input cars.csv --output model/ \
 *     --param target=Miles_per_Gallon --param features=Horsepower,Weight_in_lbs
 */
import { defineJob, InvalidJobError, type TaskContext } from 'streaming';
import { HEADER_KEY, headerOf } from './lib/model.js';
import { columnsParam, numberOf, requireColumns } from './lib/numeric.js';

/**
 * [n, rows dropped, a pivot K of z = (x_1 … x_p, y) (q = p + 1 values: the partial's first
 * row), the mean's offset from it m = z̄ − K (q values), then the co-moments
 * C_jk = Σ(z_j − z̄_j)(z_k − z̄_k), upper triangle j ≤ k]. Each row is a partial of its own
 * (n = 1, K = z, m = 0, C = 0); partials merge by Chan et al.'s update, so the sums are
 * centred from the start, and the mean is held as pivot + small offset, so the difference of
 * two means is exact to the rounding of the spread, not of the mean (raw Σx·xᵀ minus n·x̄·x̄ᵀ
 * would lose half the digits of a column near 1e7 with a spread near 10; a mean held as one
 * double, about 2e-9 per merge).
 */
type Moments = number[];

const PIVOT = 2;
/** Index of C_jk (j ≤ k) among the q(q + 1)/2 co-moments of q = p + 1 variables. */
const tri = (q: number, j: number, k: number) => j * q - (j * (j - 1)) / 2 + (k - j);

function settings(ctx: TaskContext): { target: string; features: string[] } {
  const target = ctx.params.target?.trim();
  if (!target) throw new InvalidJobError('linear-regression needs --param target=<column>.');
  return { target, features: columnsParam(ctx, 'features', 'linear-regression') };
}

export default defineJob({
  name: 'linear-regression',
  input: { format: 'csv' },
  map(row, emit, ctx) {
    const { target, features } = settings(ctx);
    requireColumns(row, [...features, target], ctx, 'linear-regression');
    const z = [...features, target].map((f) => numberOf(row[f]));
    const q = z.length;
    if (z.some((v) => v === undefined || Number.isNaN(v))) {
      ctx.count('dropped');
      emit('model', [0, 1]);
      return;
    }
    const m: Moments = new Array(PIVOT + 2 * q + (q * (q + 1)) / 2).fill(0);
    m[0] = 1;
    for (let j = 0; j < q; j++) m[PIVOT + j] = z[j]!;
    emit('model', m);
  },
  combine: (_key: string, all: Iterable<Moments>) => mergeMoments(all),
  reduce(_key: string, all: Iterable<Moments>, emit, ctx) {
    const { target, features } = settings(ctx);
    emit(HEADER_KEY, headerOf('linear-regression', { target, features, ...solve(mergeMoments(all), features) }));
  },
  reducers: 1,
  output: { format: 'jsonl' },
});

/** q, from a partial's length 2 + 2q + q(q + 1)/2. */
const variables = (m: Moments) => Math.round((Math.sqrt(8 * (m.length - PIVOT) + 25) - 5) / 2);

/**
 * Merges partials into the first with at least one row (Chan et al.): with δ = z̄_b − z̄_a
 * (= K_b − K_a + m_b − m_a) and n = n_a + n_b, z̄ = z̄_a + δ·n_b/n (K_a stays, m_a moves) and
 * C = C_a + C_b + δ·δᵀ·n_a·n_b/n. A partial of dropped rows only ([0, k]) adds to the count.
 */
function mergeMoments(all: Iterable<Moments>): Moments {
  let out: Moments | undefined;
  let dropped = 0;
  const delta: number[] = [];
  for (const b of all) {
    dropped += b[1]!;
    if (b[0] === 0) continue;
    if (out === undefined) {
      out = b;
      dropped -= b[1]!;
      continue;
    }
    const na = out[0]!;
    const nb = b[0]!;
    const n = na + nb;
    const q = variables(out);
    const offset = PIVOT + q;
    for (let j = 0; j < q; j++) {
      delta[j] = b[PIVOT + j]! - out[PIVOT + j]! + (b[offset + j]! - out[offset + j]!);
      out[offset + j]! += (delta[j]! * nb) / n;
    }
    const w = (na * nb) / n;
    const c = PIVOT + 2 * q;
    for (let j = 0; j < q; j++)
      for (let k = j; k < q; k++) {
        const i = c + tri(q, j, k);
        out[i]! += b[i]! + delta[j]! * delta[k]! * w;
      }
    out[0] = n;
  }
  if (out === undefined) return [0, dropped];
  out[1]! += dropped;
  return out;
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
  const q = p + 1;
  const n = m[0]!;
  if (n <= p)
    throw new RangeError(`linear-regression has ${n} usable rows for ${p} features and an intercept: too few.`);
  const mean = (j: number) => m[PIVOT + j]! + m[PIVOT + q + j]!;
  const co = (j: number, k: number) => m[PIVOT + 2 * q + (j <= k ? tri(q, j, k) : tri(q, k, j))]!;
  // Centred cross-products: A = Σ(x − x̄)(x − x̄)ᵀ, b = Σ(x − x̄)(y − ȳ), syy = Σ(y − ȳ)².
  const a = features.map((_, j) => features.map((_, k) => co(j, k)));
  const b = features.map((_, j) => co(j, p));
  const syy = co(p, p);
  const my = mean(p);
  // A constant feature: no spread beyond the rounding of its values (4 ulps of its mean per row).
  const scale = features.map((f, j) => {
    const ajj = a[j]![j]!;
    if (!(ajj > n * (4 * Number.EPSILON * mean(j)) ** 2))
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
    intercept: my - beta.reduce((s, bj, j) => s + bj * mean(j), 0),
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
