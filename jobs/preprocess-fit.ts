/**
 * Fits preprocessing for a CSV table — scaling, one-hot encoding, imputation (jobs/lib/
 * preprocess.ts) — and writes it as a model that jobs/preprocess-transform.ts applies to any
 * table with those columns, giving feature vectors for the learning jobs.
 *
 * Parameters (each a comma-separated list of CSV columns):
 *   standard, minmax, passthrough   numeric columns: StandardScaler, MinMaxScaler, as they are
 *   onehot                          categorical columns
 *   impute.<column>                 mean | median | most_frequent | constant:<value>
 *   unknown                         bucket (default: a column for categories the fit never saw) | ignore
 *   label, id                       columns the vectors carry as label and key
 *   sketchSize                      for median imputation (jobs/lib/quantiles.ts; default 2048:
 *                                   exact up to that many values)
 * A numeric column holding text fails the fit, naming the value.
 *
 * One reduce call gets every map task's sums per column (means and variances merged by Chan's
 * update, minimum, maximum, category counts, a quantile sketch for medians) and writes:
 *   {"key": ["model"], "value": {"type": "preprocess", "version": 1, "columns": […], "label", "id",
 *     "unknown", "features": [<output feature names>], "size": <features>}}
 *   {"key": ["column", "<name>"], "value": {"kind", "offset": <its first feature>, "count", "missing",
 *     "imputeValue", "mean", "variance", "min", "max", "center", "scale"}}        numeric
 *   {"key": ["column", "<name>"], "value": {"kind": "onehot", "offset", "count", "missing",
 *     "imputeValue", "categories": […], "counts": […]}}                           one-hot
 *
 *   streaming run jobs/preprocess-fit.ts --input train.csv --output prep/ --param standard=a,b --param onehot=c
 */
import { defineJob, InvalidJobError, type TaskContext } from 'streaming';
import { intParam } from './lib/documents.js';
import { HEADER_KEY, headerOf } from './lib/model.js';
import { numberOf, requireColumns } from './lib/numeric.js';
import { compareCodePoints } from './lib/order.js';
import { type Fitted, featureNames, type Plan, type PlannedColumn, planOf } from './lib/preprocess.js';
import { addValue, mergeSketch, newSketch, quantiles, type Sketch } from './lib/quantiles.js';

/** A numeric column's sums: count, missing, mean as pivot + offset, M2, min, max, a sketch for medians. */
interface NumericSums {
  name: string;
  n: number;
  missing: number;
  pivot: number;
  offset: number;
  m2: number;
  min: number;
  max: number;
  sketch: Sketch | null;
  /** A field that is not a number (the first seen), or null. */
  text: string | null;
}

interface CategoricalSums {
  name: string;
  n: number;
  missing: number;
  /** [value, count]. */
  counts: [string, number][];
}

type ColumnSums = NumericSums | CategoricalSums;
const isNumeric = (c: ColumnSums): c is NumericSums => 'm2' in c;

/** The fold's accumulator: a row's fields, or many rows' sums (toJSON: plain data for the shuffle). */
class Sums {
  readonly columns: ColumnSums[];
  private readonly counts: (Map<string, number> | null)[];

  constructor(plan: Plan, k: number) {
    this.columns = plan.columns.map((c) =>
      c.kind === 'onehot'
        ? { name: c.name, n: 0, missing: 0, counts: [] }
        : {
            name: c.name,
            n: 0,
            missing: 0,
            pivot: 0,
            offset: 0,
            m2: 0,
            min: Number.POSITIVE_INFINITY,
            max: Number.NEGATIVE_INFINITY,
            sketch: c.impute?.strategy === 'median' ? newSketch(k) : null,
            text: null,
          },
    );
    this.counts = plan.columns.map((c) => (c.kind === 'onehot' ? new Map() : null));
  }

  addRow(fields: (string | undefined)[]): void {
    this.columns.forEach((c, i) => {
      const raw = fields[i];
      const t = (raw ?? '').trim();
      if (t === '') {
        c.missing++;
        return;
      }
      if (!isNumeric(c)) {
        const counts = this.counts[i]!;
        counts.set(t, (counts.get(t) ?? 0) + 1);
        c.n++;
        return;
      }
      const x = numberOf(t)!;
      if (Number.isNaN(x)) {
        c.text ??= t;
        return;
      }
      if (c.n === 0) c.pivot = x;
      // Welford, the mean as pivot + offset (see jobs/linear-regression.ts).
      c.n++;
      const delta = x - c.pivot - c.offset;
      c.offset += delta / c.n;
      c.m2 += delta * (x - c.pivot - c.offset);
      if (x < c.min) c.min = x;
      if (x > c.max) c.max = x;
      if (c.sketch) addValue(c.sketch, x);
    });
  }

  merge(o: { columns: ColumnSums[] }): void {
    o.columns.forEach((b, i) => {
      const a = this.columns[i]!;
      if (a.name !== b.name) throw new InvalidJobError(`The inputs' headers differ: "${a.name}" and "${b.name}".`);
      a.missing += b.missing;
      if (!isNumeric(a) || !isNumeric(b)) {
        const counts = this.counts[i]!;
        for (const [v, n] of (b as CategoricalSums).counts) counts.set(v, (counts.get(v) ?? 0) + n);
        a.n += b.n;
        return;
      }
      a.text ??= b.text;
      if (b.n === 0) return;
      if (a.n === 0) Object.assign(a, { pivot: b.pivot, offset: b.offset, m2: b.m2 });
      else {
        const n = a.n + b.n;
        const delta = b.pivot - a.pivot + (b.offset - a.offset);
        a.offset += (delta * b.n) / n;
        a.m2 += b.m2 + (delta * delta * a.n * b.n) / n;
      }
      a.n += b.n;
      a.min = Math.min(a.min, b.min);
      a.max = Math.max(a.max, b.max);
      if (a.sketch && b.sketch) mergeSketch(a.sketch, b.sketch);
    });
  }

  toJSON(): { columns: ColumnSums[] } {
    return {
      columns: this.columns.map((c, i) => (isNumeric(c) ? c : { ...c, counts: [...this.counts[i]!] })),
    };
  }
}

/** A row's fields for the plan's columns (what map emits). */
interface RowFields {
  row: (string | undefined)[];
}

let plan: { key: string; plan: Plan } | undefined;
/** The plan and sketch size of the running task, for combine (which gets no ctx); map sets them first. */
let combinePlan: Plan | undefined;
let combineK = 2048;

function planFor(ctx: TaskContext, header: string[]): Plan {
  const key = `${ctx.task.attempt}\n${header.join(',')}`;
  if (plan?.key !== key) plan = { key, plan: planOf(ctx, header) };
  return plan.plan;
}

function fold(_key: string, values: Iterable<RowFields | Sums | { columns: ColumnSums[] }>): Sums {
  let out: Sums | undefined;
  for (const v of values) {
    if (v instanceof Sums && out === undefined) {
      out = v;
      continue;
    }
    out ??= new Sums(combinePlan!, combineK);
    if ('row' in v) out.addRow(v.row);
    else out.merge(v instanceof Sums ? v.toJSON() : v);
  }
  return out!;
}

export default defineJob({
  name: 'preprocess-fit',
  input: { format: 'csv' },
  map(row, emit, ctx) {
    const p = planFor(ctx, Object.keys(row));
    requireColumns(
      row,
      [...p.columns.map((c) => c.name), ...(p.label ? [p.label] : []), ...(p.id ? [p.id] : [])],
      ctx,
      'preprocess-fit',
    );
    combinePlan = p;
    combineK = intParam(ctx, 'sketchSize', 2048);
    emit('model', { row: p.columns.map((c) => row[c.name]) } as RowFields);
  },
  combine: fold,
  reduce(key: string, values: Iterable<RowFields | Sums | { columns: ColumnSums[] }>, emit, ctx) {
    // The plan comes with the sums (its columns in the header's order); the params give the rest.
    const it = values[Symbol.iterator]();
    const first = it.next();
    if (first.done) return;
    const sums = first.value as { columns: ColumnSums[] };
    const p = planOf(
      ctx,
      sums.columns.map((c) => c.name),
    );
    combinePlan = p;
    combineK = intParam(ctx, 'sketchSize', 2048);
    const all = fold(
      key,
      (function* () {
        yield sums;
        yield* { [Symbol.iterator]: () => it };
      })(),
    );
    emitModel(p, all.toJSON().columns, emit);
  },
  reducers: 1,
  output: { format: 'jsonl' },
});

/** The fitted columns and the header, from the merged sums. */
function emitModel(p: Plan, columns: ColumnSums[], emit: (key: unknown, value: unknown) => void): void {
  let offset = 0;
  const features: string[] = [];
  const fitted = p.columns.map((c, i) => {
    const f = fitColumn(c, columns[i]!);
    const names = featureNames(c.name, f, p.unknown);
    const entry = { ...f, offset };
    offset += names.length;
    features.push(...names);
    return entry;
  });
  emit(
    HEADER_KEY,
    headerOf('preprocess', {
      columns: p.columns,
      label: p.label ?? null,
      id: p.id ?? null,
      unknown: p.unknown,
      features,
      size: features.length,
    }),
  );
  p.columns.forEach((c, i) => {
    emit(['column', c.name], fitted[i]);
  });
}

function fitColumn(c: PlannedColumn, sums: ColumnSums): Fitted {
  if (!isNumeric(sums)) {
    const counts = [...sums.counts].sort((a, b) => compareCodePoints(a[0], b[0]));
    let imputeValue: string | null = null;
    if (c.impute?.strategy === 'constant') imputeValue = c.impute.value;
    else if (c.impute?.strategy === 'most_frequent') {
      if (counts.length === 0)
        throw new InvalidJobError(`Column "${c.name}" has no value to impute the most frequent of.`);
      // scikit-learn: the most frequent, ties to the smallest.
      imputeValue = counts.reduce((best, e) => (e[1] > best[1] ? e : best))[0];
    }
    if (imputeValue !== null && sums.missing > 0) {
      const at = counts.findIndex((e) => e[0] === imputeValue);
      if (at >= 0) counts[at]![1] += sums.missing;
      else {
        counts.push([imputeValue, sums.missing]);
        counts.sort((a, b) => compareCodePoints(a[0], b[0]));
      }
    } else if (imputeValue === null && sums.missing > 0) {
      // A missing field without imputation is a category of its own, "" (first in order).
      counts.unshift(['', sums.missing]);
    }
    return {
      kind: 'onehot',
      count: sums.n,
      missing: sums.missing,
      imputeValue,
      categories: counts.map((e) => e[0]),
      counts: counts.map((e) => e[1]),
    };
  }
  if (sums.text !== null)
    throw new InvalidJobError(
      `Column "${c.name}" is in --param ${c.kind} but holds "${sums.text}", which is not a number: list it in onehot, or clean the data.`,
    );
  if (sums.n === 0) throw new InvalidJobError(`Column "${c.name}" has no value to fit.`);
  let n = sums.n;
  let mean = sums.pivot + sums.offset;
  let m2 = sums.m2;
  let { min, max } = sums;
  let imputeValue: number | null = null;
  const impute = c.impute;
  if (impute) {
    imputeValue =
      impute.strategy === 'mean'
        ? mean
        : impute.strategy === 'median'
          ? quantiles(sums.sketch!, [0.5])[0]!
          : Number((impute as { value: string }).value);
    if (sums.missing > 0) {
      // The scaler sees the imputed values too: merge `missing` copies of v (Chan).
      const k = sums.missing;
      const delta = imputeValue - mean;
      m2 += (delta * delta * n * k) / (n + k);
      mean += (delta * k) / (n + k);
      n += k;
      min = Math.min(min, imputeValue);
      max = Math.max(max, imputeValue);
    }
  }
  const variance = m2 / n;
  let center = 0;
  let scale = 1;
  if (c.kind === 'standard') {
    center = mean;
    // scikit-learn: a variance within the rounding of a two-pass computation is a constant column (scale 1).
    const eps = Number.EPSILON;
    const constant = variance <= n * eps * variance + (n * mean * eps) ** 2;
    scale = constant ? 1 : Math.sqrt(variance);
  } else if (c.kind === 'minmax') {
    const range = max - min;
    scale = 1 / (range < 10 * Number.EPSILON ? 1 : range);
    center = 0 - min * scale;
  }
  return {
    kind: c.kind as 'standard' | 'minmax' | 'passthrough',
    count: sums.n,
    missing: sums.missing,
    imputeValue,
    mean,
    variance,
    min,
    max,
    center,
    scale,
  };
}
