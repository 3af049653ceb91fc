/** Shared by the numeric jobs: reading numbers from CSV fields and column lists from params. */
import type { TaskContext } from 'streaming';

/** A CSV field as a number: undefined when empty (missing), NaN when not a finite number. */
export function numberOf(field: string | undefined): number | undefined {
  const t = (field ?? '').trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** A required comma-separated list of column names. */
export function columnsParam(ctx: TaskContext, name: string, job: string): string[] {
  const raw = ctx.params[name];
  const cols = (raw ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (cols.length === 0) throw new TypeError(`${job} needs --param ${name}=<column>[,<column>…] (CSV header names).`);
  return cols;
}

/** Adds `x` to a compensated (Neumaier) sum held at `s[i]` (sum) and `s[i + 1]` (compensation). */
export function addTo(s: number[], i: number, x: number): void {
  const sum = s[i]!;
  const t = sum + x;
  s[i + 1]! += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
  s[i] = t;
}

/** The value of a compensated sum. */
export const valueAt = (s: number[], i: number): number => s[i]! + s[i + 1]!;
