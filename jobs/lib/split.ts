/**
 * A deterministic train/test split: a row goes to `test` when the MurmurHash3 (seed `seed`) of
 * its key, as a fraction of 2³², is below `testFraction`, else to `train`. It depends on the
 * key alone — not on the order of rows, the files, the splits or the workers — so a row stays on
 * its side run after run, and two runs (part=train, part=test) cut the data in two with no
 * row in both or neither. Shared by jobs/split.ts (JSON lines) and jobs/split-csv.ts (CSV).
 */
import { InvalidJobError, murmurHash3, type TaskContext } from 'streaming';

export interface SplitParams {
  part: 'train' | 'test';
  testFraction: number;
  seed: number;
  key: string | undefined;
}

export function splitParams(ctx: TaskContext, job: string, defaultKey: string | undefined): SplitParams {
  const p = ctx.params;
  if (p.part !== 'train' && p.part !== 'test')
    throw new InvalidJobError(`${job} needs --param part=train or part=test (got "${p.part ?? ''}").`);
  const testFraction = p.testFraction === undefined ? 0.2 : Number(p.testFraction);
  if (!(testFraction > 0 && testFraction < 1))
    throw new InvalidJobError(`--param testFraction must be a number between 0 and 1 (got "${p.testFraction}").`);
  const seed = p.seed === undefined ? 0 : Number(p.seed);
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32))
    throw new InvalidJobError(`--param seed must be a whole number from 0 to 2^32 − 1 (got "${p.seed}").`);
  const key = p.key === undefined ? defaultKey : p.key === '' ? undefined : p.key;
  return { part: p.part, testFraction, seed, key };
}

/** The side of a key: test when its hash, as a fraction of 2³², is below testFraction. */
export function sideOf(key: string, s: SplitParams): 'train' | 'test' {
  return (murmurHash3(key, s.seed) >>> 0) / 2 ** 32 < s.testFraction ? 'test' : 'train';
}
