/**
 * Feature vectors, as the feature jobs write them and the learning jobs read them: JSON lines
 *   {"key": <id>, "value": {"label": <label>, "size": d, "indices": [i, …], "values": [v, …]}}
 * one per row or document: a sparse vector of dimension d (Spark's sparse vector as JSON), with
 * its indices ascending (0-based) and its entries beside them; `label` is the row's target (a
 * string or a number, as the source had it), absent when the source had none.
 */
import { InvalidJobError, type TaskContext } from 'streaming';

export type Label = string | number;

export interface Vector {
  id: unknown;
  label: Label | undefined;
  size: number;
  indices: number[];
  values: number[];
}

/** The record of a vector, as the feature jobs emit it (key: the id). */
export function vectorValue(
  label: Label | undefined,
  size: number,
  indices: number[],
  values: number[],
): { label?: Label; size: number; indices: number[]; values: number[] } {
  return label === undefined ? { size, indices, values } : { label, size, indices, values };
}

/**
 * Reads a vector record, checking its shape (not each entry: the learning jobs read every row
 * on every pass, and an entry out of range shows up where it is used).
 */
export function vectorOf(record: unknown, ctx: TaskContext): Vector {
  const r = record as {
    key?: unknown;
    value?: { label?: unknown; size?: unknown; indices?: unknown; values?: unknown };
  };
  const v = r?.value;
  if (
    v === null ||
    typeof v !== 'object' ||
    !Array.isArray(v.indices) ||
    !Array.isArray(v.values) ||
    v.indices.length !== v.values.length ||
    !Number.isInteger(v.size)
  )
    throw new InvalidJobError(
      `A record in ${ctx.inputUri} is not a feature vector: this job reads the output of a feature job (tfidf, tfidf-transform, hashing-vectorizer, preprocess-transform), JSON lines {"key": <id>, "value": {"label": …, "size": d, "indices": […], "values": […]}}.`,
    );
  const label = v.label === undefined || v.label === null ? undefined : (v.label as Label);
  return { id: r.key, label, size: v.size as number, indices: v.indices as number[], values: v.values as number[] };
}

/** Sorts parallel index and value lists by index (ascending), in place. */
export function sortEntries(indices: number[], values: number[]): void {
  for (let i = 1; i < indices.length; i++)
    if (indices[i - 1]! > indices[i]!) {
      sortAll(indices, values);
      return;
    }
}

function sortAll(indices: number[], values: number[]): void {
  const order = indices.map((_, i) => i).sort((a, b) => indices[a]! - indices[b]!);
  const ix = order.map((i) => indices[i]!);
  const vs = order.map((i) => values[i]!);
  for (let i = 0; i < ix.length; i++) {
    indices[i] = ix[i]!;
    values[i] = vs[i]!;
  }
}

/** Scales values to unit norm: `l2` (Euclidean) or `l1` (sum of absolute values); all-zero stays. */
export function normalize(values: number[], norm: 'l2' | 'l1' | 'none'): void {
  if (norm === 'none') return;
  let s = 0;
  if (norm === 'l2') for (const v of values) s += v * v;
  else for (const v of values) s += Math.abs(v);
  if (s === 0) return;
  const d = norm === 'l2' ? Math.sqrt(s) : s;
  for (let i = 0; i < values.length; i++) values[i] = values[i]! / d;
}

/** The `norm` param: l2 (default), l1 or none. */
export function normParam(ctx: TaskContext, fallback: 'l2' | 'l1' | 'none' = 'l2'): 'l2' | 'l1' | 'none' {
  const raw = ctx.params.norm ?? fallback;
  if (raw !== 'l2' && raw !== 'l1' && raw !== 'none')
    throw new InvalidJobError(`--param norm must be l2, l1 or none (got "${raw}").`);
  return raw;
}
