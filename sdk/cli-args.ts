/** What `streaming run` and `streaming start` parse alike: the job's options and their checks. */
import { parseSize } from '../functions/config.js';
import { StreamingError } from '../functions/errors.js';

/** A command line that cannot be acted on; the CLI exits 2 with its message. */
export class UsageError extends StreamingError {}

/** Options every way of starting a job takes. */
export const JOB_OPTIONS = {
  input: { type: 'string', short: 'i', multiple: true },
  output: { type: 'string', short: 'o' },
  reducers: { type: 'string', short: 'r' },
  'split-size': { type: 'string' },
  param: { type: 'string', short: 'p', multiple: true },
  overwrite: { type: 'boolean' },
  step: { type: 'string' },
  'strict-utf8': { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

export function count(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number >= ${min} (got "${v}")`);
  return n;
}

export function size(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    const n = parseSize(v);
    if (n <= 0) throw new Error('must be > 0');
    return n;
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

export function params(pairs: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value (got "${p}")`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}
