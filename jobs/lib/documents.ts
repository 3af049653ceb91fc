/** The document records of the built-in text jobs: JSON lines `{"id": …, "text": "…"}` (and `"label"` to train). */
import { InvalidJobError, type TaskContext } from 'streaming';

export type DocId = string | number;

export interface Document {
  id: DocId;
  text: string;
  label: string | undefined;
}

/** Reads a jsonl record as a document; a record without a usable id or text fails with what to fix. */
export function documentOf(record: unknown, ctx: TaskContext, needsLabel = false): Document {
  const r = record as { id?: unknown; text?: unknown; label?: unknown } | null;
  const problem =
    r === null || typeof r !== 'object' || Array.isArray(r)
      ? 'is not a JSON object'
      : typeof r.id !== 'string' && typeof r.id !== 'number'
        ? 'has no "id" (a string or a number)'
        : typeof r.text !== 'string'
          ? 'has no "text" string'
          : needsLabel && typeof r.label !== 'string' && typeof r.label !== 'number'
            ? 'has no "label" (a string or a number)'
            : undefined;
  if (problem)
    throw new TypeError(
      `A record in ${ctx.inputUri} ${problem}: this job reads JSON lines {"id": …, ${needsLabel ? '"label": …, ' : ''}"text": "…"}.`,
    );
  const label = r!.label === undefined || r!.label === null ? undefined : String(r!.label);
  return { id: r!.id as DocId, text: r!.text as string, label };
}

/** Document ids in order: numbers first, ascending; then strings, in JavaScript's order. */
export function compareIds(a: DocId, b: DocId): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A positive whole-number param, or its default. */
export function intParam(ctx: TaskContext, name: string, fallback: number): number {
  const raw = ctx.params[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidJobError(`--param ${name} must be a whole number >= 1 (got "${raw}").`);
  return n;
}

/** A true/false param, or its default. */
export function boolParam(ctx: TaskContext, name: string, fallback: boolean): boolean {
  const raw = ctx.params[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new InvalidJobError(`--param ${name} must be true or false (got "${raw}").`);
}
