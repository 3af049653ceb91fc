/**
 * Feature extraction with scikit-learn's text defaults, for the built-in ML jobs and for users'
 * own: `CountVectorizer`/`TfidfVectorizer`/`HashingVectorizer` lower-case the text and take the
 * tokens of `(?u)\b\w\w+\b`, the runs of two or more word characters.
 */
import { murmur3 } from '../functions/format/hash.js';

const TOKEN = /[\p{L}\p{N}_]{2,}/gu;

/** scikit-learn's default tokens: runs of 2+ letters, digits or `_` of the lower-cased text. */
export function tokens(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/** How many times each token occurs in `text` (raw term frequency), in order of first occurrence. */
export function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tokens(text)) counts.set(t, (counts.get(t) ?? 0) + 1);
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
