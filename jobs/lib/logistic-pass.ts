/**
 * One pass of logistic regression's training over the data (a job; the driver in
 * jobs/logistic-regression.ts runs one per evaluation of the objective):
 *  - without `--param model`: a scan — the rows, the features' count and each label's rows;
 *  - with `--param model=<weights>` (a logistic-regression model file): Σ loss_i and its
 *    gradient at those weights, and with `--param hessian=true` its Hessian (Newton's method).
 * Each map task folds its rows into one dense sum (the combiner, called on every row), so the
 * shuffle carries one record per task and the single reduce call adds them up.
 */
import { defineJob, type Emit, InvalidJobError, type TaskContext } from 'streaming';
import { boolParam } from './documents.js';
import { Loaded, withLoaded } from './loaded.js';
import { type LogisticModel, logisticModel, lossAndResiduals, scores } from './logistic.js';
import { loadModel } from './model.js';
import type { Label } from './vectors.js';

/** A row as the pass reads it: its label and its (sparse) features. */
export interface Row {
  label: Label | undefined;
  size: number;
  indices: number[];
  values: number[];
}

/** A row's share of the sums: its loss, residuals r_k = ∂loss/∂z_k, and for the Hessian p. */
class RowTerm {
  constructor(
    readonly loss: number,
    readonly r: Float64Array,
    readonly p: Float64Array | undefined,
    readonly row: Row,
    readonly model: LogisticModel,
  ) {}

  toJSON(): unknown {
    const s = new Sums(this.model.rows * (this.model.size + 1), this.p !== undefined);
    s.add(this);
    return s.toJSON();
  }
}

/** A list of numbers as JSON: as it is, or as its nonzero entries when they are few. */
type Encoded = number[] | { n: number; i: number[]; v: number[] };

function encode(a: Float64Array): Encoded {
  let nonzero = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) nonzero++;
  if (nonzero * 3 > a.length) return Array.from(a);
  const i: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < a.length; j++)
    if (a[j] !== 0) {
      i.push(j);
      v.push(a[j]!);
    }
  return { n: a.length, i, v };
}

function addEncoded(into: Float64Array, e: Encoded): void {
  if (Array.isArray(e)) for (let j = 0; j < e.length; j++) into[j]! += e[j]!;
  else for (let j = 0; j < e.i.length; j++) into[e.i[j]!]! += e.v[j]!;
}

const lengthOf = (e: Encoded) => (Array.isArray(e) ? e.length : e.n);

export interface SumsJson {
  rows: number;
  loss: [number, number];
  g: Encoded;
  h?: Encoded;
}

/** Σ loss (compensated), Σ gradient and Σ Hessian over rows. */
export class Sums {
  rows = 0;
  /** Neumaier sum of the losses: value and compensation. */
  loss: [number, number] = [0, 0];
  readonly g: Float64Array;
  readonly h: Float64Array | undefined;

  constructor(
    readonly length: number,
    hessian: boolean,
  ) {
    this.g = new Float64Array(length);
    this.h = hessian ? new Float64Array(length * length) : undefined;
  }

  private addLoss(x: number): void {
    const [s, c] = this.loss;
    const t = s + x;
    this.loss[1] = c + (Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s);
    this.loss[0] = t;
  }

  add(t: RowTerm): void {
    const { row, r, p, model } = t;
    const d = model.size;
    this.rows++;
    this.addLoss(t.loss);
    const { indices, values } = row;
    for (let k = 0; k < model.rows; k++) {
      const o = k * (d + 1);
      const rk = r[k]!;
      for (let i = 0; i < indices.length; i++) this.g[o + indices[i]!]! += rk * values[i]!;
      this.g[o + d]! += rk;
    }
    if (this.h && p) this.addHessian(t, p, d);
  }

  /** Σ of the row's Hessian: ∂²loss/∂z_k∂z_l · x̃·x̃ᵀ per block (k, l), x̃ = (x, 1). */
  private addHessian(t: RowTerm, p: Float64Array, d: number): void {
    const h = this.h!;
    const P = this.length;
    const { indices, values } = t.row;
    const m = t.model;
    const n = indices.length + 1;
    const at = (i: number) => (i < indices.length ? indices[i]! : d);
    const val = (i: number) => (i < indices.length ? values[i]! : 1);
    for (let k = 0; k < m.rows; k++)
      for (let l = 0; l < m.rows; l++) {
        // Binary: σ(1 − σ). Multinomial: p_k(δ_kl − p_l).
        const c = m.multinomial ? p[k]! * ((k === l ? 1 : 0) - p[l]!) : p[1]! * p[0]!;
        if (c === 0) continue;
        for (let a = 0; a < n; a++) {
          const rowAt = (k * (d + 1) + at(a)) * P + l * (d + 1);
          const ca = c * val(a);
          for (let b = 0; b < n; b++) h[rowAt + at(b)]! += ca * val(b);
        }
      }
  }

  merge(o: SumsJson | Sums): void {
    this.rows += o.rows;
    this.addLoss(o.loss[0]);
    this.addLoss(o.loss[1]);
    if (o instanceof Sums) {
      for (let j = 0; j < this.g.length; j++) this.g[j]! += o.g[j]!;
      if (this.h && o.h) for (let j = 0; j < this.h.length; j++) this.h[j]! += o.h[j]!;
    } else {
      addEncoded(this.g, o.g);
      if (this.h && o.h) addEncoded(this.h, o.h);
    }
  }

  toJSON(): SumsJson {
    const out: SumsJson = { rows: this.rows, loss: [this.loss[0], this.loss[1]], g: encode(this.g) };
    if (this.h) out.h = encode(this.h);
    return out;
  }

  static of(v: SumsJson): Sums {
    const s = new Sums(lengthOf(v.g), v.h !== undefined);
    s.merge(v);
    return s;
  }
}

/** A scan's partial: rows, features and each label's rows (labels as [String(label), rows, is a number]). */
export interface Scan {
  scan: true;
  rows: number;
  size: number;
  labels: [string, number, boolean][];
}

function mergeScans(scans: Iterable<Scan>): Scan {
  const labels = new Map<string, [string, number, boolean]>();
  let rows = 0;
  let size = -1;
  for (const s of scans) {
    rows += s.rows;
    if (size >= 0 && s.size >= 0 && s.size !== size)
      throw new InvalidJobError(
        `The rows have ${size} and ${s.size} features: give vectors made by one feature job (one model).`,
      );
    if (s.size >= 0) size = s.size;
    for (const [label, n, numeric] of s.labels) {
      const had = labels.get(label);
      if (had) had[1] += n;
      else labels.set(label, [label, n, numeric]);
    }
  }
  return { scan: true, rows, size, labels: [...labels.values()] };
}

export type Partial = RowTerm | Sums | SumsJson | Scan;

/** Folds partials: scans into a scan, everything else into one Sums. */
function fold(_key: string, values: Iterable<Partial>): Partial {
  let sums: Sums | undefined;
  const scans: Scan[] = [];
  for (const v of values) {
    if ((v as Scan).scan === true) {
      scans.push(v as Scan);
      continue;
    }
    if (v instanceof RowTerm) {
      sums ??= new Sums(v.model.rows * (v.model.size + 1), v.p !== undefined);
      sums.add(v);
    } else if (v instanceof Sums) {
      if (sums === undefined) sums = v;
      else sums.merge(v);
    } else {
      const j = v as SumsJson;
      if (sums === undefined) sums = Sums.of(j);
      else sums.merge(j);
    }
  }
  if (scans.length > 0) return mergeScans(scans);
  return sums!;
}

/** Where the pass finds the weights: the model file of `--param model` (none: a scan). */
function weightsOf(ctx: TaskContext, loaded: Loaded<LogisticModel>): LogisticModel | Promise<LogisticModel> {
  const uri = ctx.params.model!;
  return loaded.get(`${ctx.task.attempt} ${uri}`, () => loadModel(ctx, ['logistic-regression'], logisticModel, uri));
}

/** The pass as a job reading `format`, with `rowOf` making a row of each record (undefined: skip it). */
export function passJob<F extends 'jsonl' | 'csv'>(
  name: string,
  format: F,
  rowOf: (record: F extends 'csv' ? Record<string, string> : unknown, ctx: TaskContext) => Row | undefined,
) {
  const loaded = new Loaded<LogisticModel>();
  let z = new Float64Array(0);
  const pass = (row: Row, emit: Emit<string, Partial>, m: LogisticModel, hessian: boolean) => {
    if (row.label === undefined)
      throw new InvalidJobError('A row has no label: logistic regression trains on labelled rows.');
    const y = m.index.get(String(row.label));
    if (y === undefined)
      throw new InvalidJobError(
        `A row's label "${row.label}" is not among the model's classes ${JSON.stringify(m.classes)}.`,
      );
    if (z.length < m.rows) z = new Float64Array(m.rows);
    scores(m, row.indices, row.values, z);
    const r = new Float64Array(m.rows);
    const loss = lossAndResiduals(m, z, y, r);
    let probs: Float64Array | undefined;
    if (hessian) {
      probs = new Float64Array(m.classes.length);
      // p from the residuals: r_k = p_k − [k = y] (binary: r = p_1 − [y = 1]).
      if (m.multinomial) for (let k = 0; k < m.rows; k++) probs[k] = r[k]! + (k === y ? 1 : 0);
      else {
        probs[1] = r[0]! + (y === 1 ? 1 : 0);
        probs[0] = 1 - probs[1]!;
      }
    }
    emit('sums', new RowTerm(loss, r, probs, row, m));
  };
  return defineJob({
    name,
    input: { format },
    map(record, emit, ctx) {
      const row = rowOf(record as never, ctx);
      if (row === undefined) return;
      if (ctx.params.model === undefined || ctx.params.model === '') {
        const label = row.label;
        emit('sums', {
          scan: true,
          rows: 1,
          size: row.size,
          labels: label === undefined ? [] : [[String(label), 1, typeof label === 'number']],
        });
        return;
      }
      const hessian = boolParam(ctx, 'hessian', false);
      return withLoaded(weightsOf(ctx, loaded), (m) => pass(row, emit as Emit<string, Partial>, m, hessian));
    },
    combine: fold,
    reduce(key: string, values: Iterable<Partial>, emit) {
      emit(key, fold(key, values));
    },
    reducers: 1,
    output: { format: 'jsonl' },
  });
}
