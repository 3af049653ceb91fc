/** Orders shared by the ML jobs: Python's (and scikit-learn's) order of strings and of classes. */

/** Code point order (Python's str order, and UTF-8 byte order), not UTF-16's. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (an astral code point) sorts above every BMP character, U+E000-U+FFFF included.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Classes in scikit-learn's order (np.unique): numerically when every one is a number, else by code point. */
export function sortClasses<T extends string | number>(labels: T[]): T[] {
  if (labels.every((l) => typeof l === 'number')) return [...labels].sort((a, b) => (a as number) - (b as number));
  return [...labels].sort((a, b) => compareCodePoints(String(a), String(b)));
}
