/**
 * Logistic regression's model and arithmetic, shared by the training passes and prediction.
 *
 * Classes c_0 < … < c_{K−1}. Binary (K = 2): one row of coefficients w (for c_1) and an
 * intercept b, P(c_1 | x) = σ(w·x + b). Multinomial (K > 2): a row per class, P(c_k | x) =
 * softmax_k(W_k·x + b_k). Training minimises scikit-learn's `LogisticRegression(penalty='l2')`
 * objective, divided by C·n (the same minimiser, figures of order 1):
 *   f = (1/n)·Σ_i loss_i + ‖W‖²/(2·C·n)      (intercepts not penalised)
 * with loss_i = −ln P(y_i | x_i).
 */
import { InvalidJobError } from 'streaming';
import { headerOf, type ModelHeader, type ModelRecord } from './model.js';
import type { Label } from './vectors.js';

export interface LogisticModel {
  classes: Label[];
  /** Class index by `String(label)`. */
  index: Map<string, number>;
  multinomial: boolean;
  /** Rows of coefficients: K when multinomial, else 1. */
  rows: number;
  /** Features: the vectors' size, or the CSV columns. */
  size: number;
  columns: string[] | undefined;
  /** Row k's coefficients at k·size … and its intercept at b[k]. */
  w: Float64Array;
  b: Float64Array;
  header: ModelHeader;
}

/** The parameters x = [W_0, b_0, W_1, b_1, …] as a model (the file's header fields beside). */
export function modelOf(
  classes: Label[],
  size: number,
  columns: string[] | undefined,
  x: Float64Array,
  fields: Record<string, unknown>,
): LogisticModel {
  const multinomial = classes.length > 2;
  const rows = multinomial ? classes.length : 1;
  const w = new Float64Array(rows * size);
  const b = new Float64Array(rows);
  for (let k = 0; k < rows; k++) {
    w.set(x.subarray(k * (size + 1), k * (size + 1) + size), k * size);
    b[k] = x[k * (size + 1) + size]!;
  }
  const header = headerOf('logistic-regression', {
    classes,
    multinomial,
    features: columns ? { columns } : { size },
    ...fields,
  });
  return { classes, index: indexOf(classes), multinomial, rows, size, columns, w, b, header: header as ModelHeader };
}

const indexOf = (classes: Label[]) => new Map(classes.map((c, k) => [String(c), k]));

/** The model file's records: the header, then a row of coefficients per class (binary: one, for c_1). */
export function modelRecords(m: LogisticModel): { key: unknown[]; value: unknown }[] {
  const out: { key: unknown[]; value: unknown }[] = [{ key: ['model'], value: m.header }];
  for (let k = 0; k < m.rows; k++) {
    const indices: number[] = [];
    const values: number[] = [];
    for (let j = 0; j < m.size; j++) {
      const v = m.w[k * m.size + j]!;
      if (v !== 0) {
        indices.push(j);
        values.push(v);
      }
    }
    out.push({
      key: ['coefficients', k],
      value: { class: m.classes[m.multinomial ? k : 1], intercept: m.b[k], indices, values },
    });
  }
  return out;
}

/** A model read back from its file. */
export function logisticModel(header: ModelHeader, entries: ModelRecord[], where: string): LogisticModel {
  const classes = header.classes as Label[];
  const features = header.features as { size?: number; columns?: string[] };
  const columns = features.columns;
  const size = columns ? columns.length : features.size!;
  const multinomial = header.multinomial === true;
  const rows = multinomial ? classes.length : 1;
  const w = new Float64Array(rows * size);
  const b = new Float64Array(rows);
  let seen = 0;
  for (const { key, value } of entries) {
    if (key[0] !== 'coefficients') continue;
    const k = key[1] as number;
    const v = value as { intercept: number; indices: number[]; values: number[] };
    b[k] = v.intercept;
    v.indices.forEach((j, i) => {
      w[k * size + j] = v.values[i]!;
    });
    seen++;
  }
  if (seen !== rows) throw new InvalidJobError(`${where}: the model has ${seen} rows of coefficients, not ${rows}.`);
  return { classes, index: indexOf(classes), multinomial, rows, size, columns, w, b, header };
}

/** z_k = W_k·x + b_k for each row k of coefficients. */
export function scores(m: LogisticModel, indices: number[], values: number[], z: Float64Array): void {
  for (let k = 0; k < m.rows; k++) {
    let s = m.b[k]!;
    const o = k * m.size;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i]!;
      if (j >= m.size)
        throw new InvalidJobError(
          `A feature index ${j} is past the model's ${m.size} features: the vectors were not made for this model.`,
        );
      s += m.w[o + j]! * values[i]!;
    }
    z[k] = s;
  }
}

/** ln(1 + e^t), without overflow or loss for large |t|. */
export const log1pExp = (t: number) => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));

/** The probabilities of the K classes from the scores (into p, length K). */
export function probabilities(m: LogisticModel, z: Float64Array, p: Float64Array): void {
  if (!m.multinomial) {
    const t = z[0]!;
    // σ(t) computed on the side where exp cannot overflow.
    const p1 = t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
    p[0] = 1 - p1;
    p[1] = p1;
    return;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < m.rows; k++) max = Math.max(max, z[k]!);
  let sum = 0;
  for (let k = 0; k < m.rows; k++) {
    p[k] = Math.exp(z[k]! - max);
    sum += p[k]!;
  }
  for (let k = 0; k < m.rows; k++) p[k]! /= sum;
}

/**
 * −ln P(y | x) and the residuals r_k = ∂loss/∂z_k (P(c_k | x) − [k = y] for a multinomial
 * model; σ(z) − [y = c_1] for a binary one), from the scores.
 */
export function lossAndResiduals(m: LogisticModel, z: Float64Array, y: number, r: Float64Array): number {
  if (!m.multinomial) {
    const t = z[0]!;
    const p1 = t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
    r[0] = p1 - (y === 1 ? 1 : 0);
    return y === 1 ? log1pExp(-t) : log1pExp(t);
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < m.rows; k++) max = Math.max(max, z[k]!);
  let sum = 0;
  for (let k = 0; k < m.rows; k++) sum += Math.exp(z[k]! - max);
  const lse = max + Math.log(sum);
  for (let k = 0; k < m.rows; k++) r[k] = Math.exp(z[k]! - lse) - (k === y ? 1 : 0);
  return lse - z[y]!;
}
