/** "Did you mean …?" for names a user mistyped: CLI flags, job-definition keys, job properties. */

/** Edit distance (insertions, deletions, substitutions and swaps of neighbours count one each). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `word` most likely meant: the nearest by edit distance when it is close for its
 * length (a third of the letters, at least 1, at most 3), else one that starts with `word`.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const list = [...candidates];
  for (const c of list) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.min(3, Math.max(1, Math.floor(w.length / 3)))) return best;
  if (w.length >= 3) return list.find((c) => c.toLowerCase().startsWith(w));
  return undefined;
}

/** ` (did you mean "x"?)`, or nothing when no candidate is close; `quote` formats the candidate. */
export function didYouMean(word: string, candidates: Iterable<string>, quote = (c: string) => `"${c}"`): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean ${quote(c)}?)`;
}
