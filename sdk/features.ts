/**
 * Feature extraction with scikit-learn's text defaults, for the built-in ML jobs and for users'
 * own: `CountVectorizer`/`TfidfVectorizer`/`HashingVectorizer` lower-case the text and take the
 * tokens of `(?u)\b\w\w+\b`, the runs of two or more word characters.
 */
import { murmur3 } from '../functions/format/hash.js';
import { LOWER } from '../functions/format/words.js';

const TOKEN = /[\p{L}\p{N}_]{2,}/gu;

/**
 * Calls `fn` with each of scikit-learn's default tokens of `text`, in order: the runs of 2+
 * letters, digits or `_` (code points) of the lower-cased text, i.e. the matches of
 * `/[\p{L}\p{N}_]{2,}/gu`. ASCII text is scanned by hand (about twice the regular
 * expression's speed); at the first other character the rest goes through the expression, as
 * letters and lower-casing are then Unicode's.
 */
export function forEachToken(text: string, fn: (token: string) => void): void {
  const lower = text.toLowerCase();
  const n = lower.length;
  let start = -1;
  let given = 0;
  for (let i = 0; i < n; i++) {
    const c = lower.charCodeAt(i);
    if (c >= 128) {
      const found = lower.match(TOKEN);
      if (found) for (let t = given; t < found.length; t++) fn(found[t]!); // the first `given` were given
      return;
    }
    if (LOWER[c] !== 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= 2) {
        fn(lower.slice(start, i));
        given++;
      }
      start = -1;
    }
  }
  if (start >= 0 && n - start >= 2) fn(lower.slice(start, n));
}

/** scikit-learn's default tokens: runs of 2+ letters, digits or `_` of the lower-cased text. */
export function tokens(text: string): string[] {
  const out: string[] = [];
  forEachToken(text, (t) => out.push(t));
  return out;
}

/** The distinct tokens of `text`, in order of first occurrence. */
export function distinctTokens(text: string): Set<string> {
  const out = new Set<string>();
  forEachToken(text, (t) => out.add(t));
  return out;
}

/** How many times each token occurs in `text` (raw term frequency), in order of first occurrence. */
export function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  forEachToken(text, (t) => counts.set(t, (counts.get(t) ?? 0) + 1));
  return counts;
}

/** Signed MurmurHash3 x86 32-bit of the UTF-8 bytes of `text` (scikit-learn's `murmurhash3_32(text, seed)`). */
export const murmurHash3 = (text: string, seed = 0): number => murmur3(text, seed);

/**
 * Where `HashingVectorizer` puts a token: column |h| mod nFeatures of its signed hash h (seed
 * 0), and with alternate signs, -1 for h < 0.
 */
export function hashedFeature(token: string, nFeatures: number): { index: number; sign: 1 | -1 } {
  const h = murmur3(token, 0);
  // Math.abs(-2**31) is 2**31 in doubles, so no special case is needed (scikit-learn has one for int32).
  return { index: Math.abs(h) % nFeatures, sign: h >= 0 ? 1 : -1 };
}

/** Scales a sparse vector to unit Euclidean length (all-zero vectors stay as they are). */
export function l2Normalize(vector: Map<string | number, number>): void {
  let sq = 0;
  for (const v of vector.values()) sq += v * v;
  if (sq === 0) return;
  const norm = Math.sqrt(sq);
  for (const [k, v] of vector) vector.set(k, v / norm);
}
