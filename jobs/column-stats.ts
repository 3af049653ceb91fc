/**
 * Per-column statistics of a CSV file. A column is numeric when every non-empty field parses
 * as a finite number; for it: count, missing, sum, mean, sample standard deviation (n − 1),
 * min, max, the median and other quantiles. For any other column: count, missing, and its
 * distinct values with their counts. Partial results merge with Chan et al.'s parallel update
 * of (n, mean, M2) and a compensated sum, so splits and combine order do not change the
 * figures beyond rounding; quantiles come from a mergeable sketch (jobs/lib/quantiles.ts):
 * exact while a column has at most `sketchSize` values, else within a certified rank error.
 *
 * Parameters: maxDistinct (default 10000): distinct values kept per column; past it the
 * column's `values` are null and `distinct` says "> maxDistinct" (memory stays bounded).
 * quantiles (default 0.25,0.5,0.75); sketchSize (default 2048: values per level of the sketch).
 * Input: CSV with a header. Output (jsonl), one line per column:
 *   {"key": "<column>", "value": {"type": "numeric", "count", "missing", "sum", "mean", "std", "min", "max",
 *     "median", "quantiles": {"0.25": …, …}, "quantileRankError": <bound on the rank error; 0: exact>}}
 *   {"key": "<column>", "value": {"type": "categorical", "count", "missing", "distinct", "values": {"<value>": n, …}}}
 * (`count`: non-empty fields; `missing`: empty ones; `std` is null below two values.)
 *
 *   streaming run jobs/column-stats.ts --input penguins.csv --output stats/
 */
import { defineJob, InvalidJobError, type TaskContext } from 'streaming';
import { intParam } from './lib/documents.js';
import { addTo, numberOf, valueAt } from './lib/numeric.js';
import { mergeSketch, quantiles, rankError, type Sketch, sketchOf } from './lib/quantiles.js';

interface Partial {
  count: number;
  missing: number;
  /** Non-empty fields that are not numbers. */
  text: number;
  /** Of the numeric fields: how many, mean, M2 (Σ squared deviations), min, max, compensated sum. */
  n: number;
  mean: number;
  m2: number;
  min: number;
  max: number;
  sum: [number, number];
  /** Distinct non-empty values and counts (and how many); null past maxDistinct. */
  values: Record<string, number> | null;
  distinct: number;
  /** The numeric values' quantile sketch (null: none yet). */
  sketch: Sketch | null;
}

/** `sketchSize` (k of the quantile sketch): values per level, default 2048. */
function sketchSize(ctx: TaskContext): number {
  return intParam(ctx, 'sketchSize', 2048);
}

/** The quantiles to report: `quantiles=0.25,0.5,0.75` by default. */
function quantilesParam(ctx: TaskContext): number[] {
  const raw = ctx.params.quantiles ?? '0.25,0.5,0.75';
  const qs = raw.split(',').map((q) => Number(q.trim()));
  if (qs.length === 0 || qs.some((q) => !(q >= 0 && q <= 1)))
    throw new InvalidJobError(`--param quantiles must be numbers from 0 to 1, comma-separated (got "${raw}").`);
  return qs;
}

function maxDistinct(ctx: TaskContext): number {
  const raw = ctx.params.maxDistinct;
  const n = raw === undefined ? 10_000 : Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidJobError(`--param maxDistinct must be a whole number >= 1 (got "${raw}").`);
  return n;
}

/** The partial of one field. */
function ofField(field: string | undefined, k: number): Partial {
  const x = numberOf(field);
  const p: Partial = {
    count: 0,
    missing: 0,
    text: 0,
    n: 0,
    mean: 0,
    m2: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    sum: [0, 0],
    values: Object.create(null) as Record<string, number>,
    distinct: 0,
    sketch: null,
  };
  if (x === undefined) {
    p.missing = 1;
    return p;
  }
  p.count = 1;
  p.values![field!.trim()] = 1;
  p.distinct = 1;
  if (Number.isNaN(x)) p.text = 1;
  else Object.assign(p, { n: 1, mean: x, min: x, max: x, sum: [x, 0], sketch: sketchOf(k, x) });
  return p;
}

/** Merges b into a (Chan et al. for mean and M2). */
function merge(a: Partial, b: Partial, cap: number): Partial {
  const n = a.n + b.n;
  if (b.n > 0) {
    const delta = b.mean - a.mean;
    a.m2 = a.m2 + b.m2 + (delta * delta * a.n * b.n) / n;
    a.mean = a.mean + (delta * b.n) / n;
    a.min = Math.min(a.min, b.min);
    a.max = Math.max(a.max, b.max);
    const s = [a.sum[0], a.sum[1]];
    addTo(s, 0, b.sum[0]);
    addTo(s, 0, b.sum[1]);
    a.sum = [s[0]!, s[1]!];
    if (a.sketch === null) a.sketch = b.sketch;
    else if (b.sketch !== null) mergeSketch(a.sketch, b.sketch);
  }
  a.n = n;
  a.count += b.count;
  a.missing += b.missing;
  a.text += b.text;
  if (a.values === null || b.values === null) a.values = null;
  else {
    const values = ownValues(a.values);
    for (const [v, c] of Object.entries(b.values)) {
      const had = values[v];
      if (had === undefined) a.distinct++;
      values[v] = (had ?? 0) + c;
    }
    a.values = a.distinct > cap ? null : values;
  }
  return a;
}

/**
 * Counts without a prototype: partials come through the shuffle as JSON objects, on which a
 * value named "constructor" or "toString" would read Object.prototype's and "__proto__" would
 * not be set at all.
 */
function ownValues(values: Record<string, number>): Record<string, number> {
  return Object.getPrototypeOf(values) === null
    ? values
    : Object.assign(Object.create(null) as Record<string, number>, values);
}

/**
 * The median and the asked quantiles (keys as the numbers, "0.25"), and the bound on their rank
 * error (0: exact, numpy's linear interpolation).
 */
function quantileFields(s: Sketch, qs: number[]): Record<string, unknown> {
  const [median, ...asked] = quantiles(s, [0.5, ...qs]);
  return {
    median,
    quantiles: Object.fromEntries(qs.map((q, i) => [String(q), asked[i]])),
    quantileRankError: rankError(s),
  };
}

function mergeAll(parts: Iterable<Partial>, cap: number): Partial {
  let out: Partial | undefined;
  for (const p of parts) out = out === undefined ? p : merge(out, p, cap);
  return out!;
}

/** maxDistinct of the running task, for combine (which gets no ctx); map sets it before any combine. */
let combineCap = 10_000;
/** The sketch size of the running task, likewise. */
let combineK = 2048;

export default defineJob({
  name: 'column-stats',
  input: { format: 'csv' },
  map(row, emit, ctx) {
    combineCap = maxDistinct(ctx);
    combineK = sketchSize(ctx);
    for (const column in row) emit(column, ofField(row[column], combineK));
  },
  combine: (_column: string, parts: Iterable<Partial>) => mergeAll(parts, combineCap),
  reduce(column: string, parts: Iterable<Partial>, emit, ctx) {
    const cap = maxDistinct(ctx);
    const p = mergeAll(parts, cap);
    if (p.text === 0 && p.n > 0)
      emit(column, {
        type: 'numeric',
        count: p.count,
        missing: p.missing,
        sum: valueAt(p.sum, 0),
        mean: p.mean,
        std: p.n >= 2 ? Math.sqrt(p.m2 / (p.n - 1)) : null,
        min: p.min,
        max: p.max,
        ...quantileFields(p.sketch!, quantilesParam(ctx)),
      });
    else {
      const values =
        p.values === null
          ? null
          : Object.fromEntries(Object.entries(p.values).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)));
      emit(column, {
        type: 'categorical',
        count: p.count,
        missing: p.missing,
        distinct: values === null ? `> ${cap}` : Object.keys(values).length,
        values,
      });
    }
  },
  output: { format: 'jsonl' },
});
