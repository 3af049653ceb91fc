/**
 * The tokenizer of the built-in text jobs: the maximal runs of Unicode letters, digits and `_`
 * of the lower-cased text, i.e. `text.toLowerCase().match(/[\p{L}\p{N}_]+/gu)`, with a fast
 * path for ASCII.
 */
export const WORD = /[\p{L}\p{N}_]+/gu;
/** The lower-cased code of an ASCII word character (`[A-Za-z0-9_]`), 0 for any other ASCII character. */
export const LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9_]/.test(ch)) LOWER[c] = ch.toLowerCase().charCodeAt(0);
}

/*
 * ASCII words are interned: a direct-mapped cache, keyed by a hash of the lower-cased
 * characters computed while scanning, holds the last word seen in each slot, and a word equal
 * to it is handed out as that same string. So a repeated word costs no new string, and a
 * caller's object or Map lookups find its hash already computed (and its key by identity).
 * Only words of up to INTERN_MAX characters are kept: V8 copies such short substrings, where a
 * longer one may be a view that would keep the whole line (or block) it came from alive.
 */
const INTERN_BITS = 16;
const INTERN_MASK = (1 << INTERN_BITS) - 1;
const INTERN_MAX = 12;
const internHash = new Int32Array(1 << INTERN_BITS);
const internWord: string[] = new Array<string>(1 << INTERN_BITS).fill('');
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** The lower-cased word text[start, end) of ASCII word characters, `h` the FNV-1a hash of its lower-cased codes. */
function asciiWord(text: string, start: number, end: number, h: number, upper: boolean): string {
  const len = end - start;
  const slot = (h ^ (h >>> 16)) & INTERN_MASK;
  const cached = internWord[slot]!;
  if (internHash[slot] === h && cached.length === len) {
    let k = 0;
    while (k < len && cached.charCodeAt(k) === LOWER[text.charCodeAt(start + k)]) k++;
    if (k === len) return cached;
  }
  const w = upper ? text.slice(start, end).toLowerCase() : text.slice(start, end);
  if (len <= INTERN_MAX) {
    internHash[slot] = h;
    internWord[slot] = w;
  }
  return w;
}

/** Calls `fn` with each lower-cased word of `text`, in order. */
export function forEachWord(text: string, fn: (word: string) => void): void {
  const n = text.length;
  let start = -1;
  let upper = false;
  let h = 0;
  let emitted = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) {
      // Beyond ASCII, letters and case are Unicode's, and lower-casing depends on context
      // (a final sigma), so the whole text goes through the regular expression. Its first
      // words are the ASCII ones already given: they are skipped.
      const found = text.toLowerCase().match(WORD);
      if (found) for (let w = emitted; w < found.length; w++) fn(found[w]!);
      return;
    }
    const t = LOWER[c]!;
    if (t !== 0) {
      if (start < 0) {
        start = i;
        h = FNV_OFFSET;
      }
      if (t !== c) upper = true;
      h = Math.imul(h ^ t, FNV_PRIME);
    } else if (start >= 0) {
      fn(asciiWord(text, start, i, h, upper));
      emitted++;
      start = -1;
      upper = false;
    }
  }
  if (start >= 0) fn(asciiWord(text, start, n, h, upper));
}

/** The lower-cased words of `text` (see forEachWord). */
export function words(text: string): string[] {
  const out: string[] = [];
  forEachWord(text, (w) => out.push(w));
  return out;
}

/**
 * The word count map: emits `(word, 1)` for each word of the line (see forEachWord). With
 * `combine: sum` on `text` input the engine recognises it and counts words on the input's bytes
 * instead of calling it per line (functions/phases/word-count.ts): same output, no string per
 * token.
 */
export function countWords(line: string, emit: (word: string, count: number) => void): void {
  forEachWord(line, (word) => emit(word, 1));
}
