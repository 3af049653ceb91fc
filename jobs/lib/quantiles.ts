/**
 * A mergeable quantile sketch with a deterministic rank-error bound: a stack of compactors
 * (Manku, Rajagopalan and Lindsay's; the shape KLL made popular, with the capacity the same at
 * every level and no randomness).
 *
 * Level h holds values of weight 2^h, at most k of them. When a level overflows it is sorted
 * and compacted: every other value (alternately the odd and the even ones, level by level) moves
 * up a level with twice the weight, the rest are dropped; with an odd count the largest stays
 * behind, so no weight is lost. A compaction at level h moves any value's rank by at most 2^h,
 * and the sketch adds up those 2^h as it goes: `error` is a certified bound on the rank error of
 * every answer, whatever the order of values and merges. Each compaction at level h consumes
 * at least k·2^h of weight, and weight passes each level once, so error ≤ (n/k)·L with L the
 * levels that compacted, L ≤ ⌊log₂(n/k)⌋ + 1; an answer adds its own weight, at most 2n/k
 * (`rankError`): (n/k)·(⌊log₂(n/k)⌋ + 3) at most, for k = 2048 and n = 10⁶ 0.54% of n. It holds
 * about k values per level (16 KiB each for k = 2048).
 *
 * Sketches are plain data (JSON through the shuffle) and merge level by level. While nothing
 * has been compacted the sketch holds every value and answers exactly.
 */

export interface Sketch {
  /** Capacity of each level. */
  k: number;
  /** Values seen (the total weight). */
  n: number;
  /** levels[h]: values of weight 2^h, unsorted. */
  levels: number[][];
  /** Compactions so far at each level (they alternate which half moves up). */
  compactions: number[];
  /** Certified bound on the absolute rank error: Σ 2^h over the compactions. */
  error: number;
}

export const newSketch = (k: number): Sketch => ({ k, n: 0, levels: [[]], compactions: [0], error: 0 });

/** A sketch of one value (what a map emits per field). */
export const sketchOf = (k: number, x: number): Sketch => ({ k, n: 1, levels: [[x]], compactions: [0], error: 0 });

export function addValue(s: Sketch, x: number): void {
  s.levels[0]!.push(x);
  s.n++;
  if (s.levels[0]!.length > s.k) compact(s, 0);
}

/** Merges b into a (a is changed; b is left as it was). Both must have the same k. */
export function mergeSketch(a: Sketch, b: Sketch): void {
  if (a.k !== b.k) throw new Error(`sketches of different sizes (${a.k}, ${b.k}) cannot merge`);
  a.n += b.n;
  a.error += b.error;
  for (let h = 0; h < b.levels.length; h++) {
    while (a.levels.length <= h) {
      a.levels.push([]);
      a.compactions.push(0);
    }
    const from = b.levels[h]!;
    const to = a.levels[h]!;
    for (let i = 0; i < from.length; i++) to.push(from[i]!);
    a.compactions[h] = Math.max(a.compactions[h]!, b.compactions[h] ?? 0);
  }
  for (let h = 0; h < a.levels.length; h++) if (a.levels[h]!.length > a.k) compact(a, h);
}

/** Compacts level h (and the levels above, as they overflow in turn). */
function compact(s: Sketch, h: number): void {
  for (; h < s.levels.length && s.levels[h]!.length > s.k; h++) {
    const level = s.levels[h]!.sort((x, y) => x - y);
    if (h + 1 === s.levels.length) {
      s.levels.push([]);
      s.compactions.push(0);
    }
    const up = s.levels[h + 1]!;
    const even = level.length - (level.length % 2);
    const offset = s.compactions[h]! % 2;
    for (let i = offset; i < even; i += 2) up.push(level[i]!);
    s.levels[h] = even < level.length ? [level[even]!] : [];
    s.compactions[h]!++;
    s.error += 2 ** h;
  }
}

/** The held values, sorted, with their weights. */
function weighted(s: Sketch): { values: Float64Array; weights: Float64Array } {
  const pairs: [number, number][] = [];
  s.levels.forEach((level, h) => {
    for (const v of level) pairs.push([v, 2 ** h]);
  });
  pairs.sort((a, b) => a[0] - b[0]);
  return { values: Float64Array.from(pairs, (p) => p[0]), weights: Float64Array.from(pairs, (p) => p[1]) };
}

/**
 * The q-quantiles (0 ≤ q ≤ 1). Exact (error 0): numpy's default, linear interpolation at
 * position q·(n − 1) of the sorted values (pandas' `quantile`, `np.median`). Otherwise the
 * held value at that position of the weighted order: its rank is within `error` of the exact
 * quantile's position.
 */
export function quantiles(s: Sketch, qs: number[]): number[] {
  if (s.n === 0) return qs.map(() => Number.NaN);
  const { values, weights } = weighted(s);
  return qs.map((q) => {
    const pos = q * (s.n - 1);
    if (s.error === 0) {
      const lo = Math.floor(pos);
      const hi = Math.min(lo + 1, values.length - 1);
      const lower = values[lo]!;
      // numpy: lower + (upper − lower)·fraction.
      return lower + (values[hi]! - lower) * (pos - lo);
    }
    // The first held value whose cumulative weight passes pos (0-based ranks).
    let cum = 0;
    for (let i = 0; i < values.length; i++) {
      cum += weights[i]!;
      if (cum > pos) return values[i]!;
    }
    return values[values.length - 1]!;
  });
}

/**
 * The rank error an answer of `quantiles` may have: the compactions' certified error, plus the
 * weight of the heaviest held value (an answer is a held value, and stands for that many).
 */
export function rankError(s: Sketch): number {
  if (s.error === 0) return 0;
  let top = 0;
  s.levels.forEach((level, h) => {
    if (level.length > 0) top = 2 ** h;
  });
  return s.error + top;
}

/**
 * The bound rankError never exceeds, from the sizes alone: compactions happen at the levels h
 * with k·2^h ≤ n and cost n/k each, and the heaviest held value weighs at most 2n/k:
 * (n/k)·(⌊log₂(n/k)⌋ + 3).
 */
export function errorBound(n: number, k: number): number {
  if (n <= k) return 0;
  return (n / k) * (Math.floor(Math.log2(n / k)) + 3);
}
