/** Shared by the numeric jobs: reading numbers from CSV fields and column lists from params. */
import { InvalidJobError, type TaskContext } from 'streaming';

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
  if (cols.length === 0)
    throw new InvalidJobError(`${job} needs --param ${name}=<column>[,<column>…] (CSV header names).`);
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

/** The columns a task has checked against its input's header: `<attempt> <input> <columns>`. */
let checkedColumns = '';

/**
 * Fails with an InvalidJobError listing the header when a column the params name is not in
 * the CSV header of the record's input (a misspelled name would otherwise read as missing on
 * every row). Checked once per task, input file and column list.
 */
export function requireColumns(
  row: Record<string, string>,
  columns: readonly string[],
  ctx: TaskContext,
  job: string,
): void {
  const key = `${ctx.task.attempt} ${ctx.inputUri} ${columns.join(',')}`;
  if (key === checkedColumns) return;
  const header = Object.keys(row);
  const absent = columns.filter((c) => !Object.hasOwn(row, c));
  if (absent.length > 0)
    throw new InvalidJobError(
      `${job}: ${absent.map((c) => `column "${c}"${hint(c, header)}`).join(', ')} ${absent.length === 1 ? 'is' : 'are'} not in the header of ${ctx.inputUri}, which has: ${header.map((h) => `"${h}"`).join(', ')}. Name columns of the header in the params.`,
    );
  checkedColumns = key;
}

/** `(did you mean "x"?)` for the header name closest to `name`, when it is close. */
function hint(name: string, header: string[]): string {
  let best = '';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const h of header) {
    const d = editDistance(name.toLowerCase(), h.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [h, d];
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  return d[a.length]![b.length]!;
}

/** The squared Euclidean distance to the nearest center, and its index (ties: the lowest). */
export function nearestCenter(centers: readonly (readonly number[])[], x: readonly number[]): [number, number] {
  let best = Number.POSITIVE_INFINITY;
  let at = 0;
  for (let c = 0; c < centers.length; c++) {
    const center = centers[c]!;
    let d = 0;
    for (let j = 0; j < x.length; j++) d += (x[j]! - center[j]!) ** 2;
    if (d < best) [best, at] = [d, c];
  }
  return [best, at];
}
