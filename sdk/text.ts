/**
 * Text helpers for jobs. `words` is the tokenizer of the built-in text jobs: the maximal runs
 * of Unicode letters, digits and `_` of the lower-cased text, i.e.
 * `text.toLowerCase().match(/[\p{L}\p{N}_]+/gu)`, with a fast path for ASCII.
 */
const WORD = /[\p{L}\p{N}_]+/gu;
// 0: separator, 1: word character, 2: upper-case ASCII letter.
const ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[a-z0-9_]/.test(ch)) ASCII[c] = 1;
  else if (/[A-Z]/.test(ch)) ASCII[c] = 2;
}

/** Calls `fn` with each lower-cased word of `text`, in order. */
export function forEachWord(text: string, fn: (word: string) => void): void {
  const n = text.length;
  let start = -1;
  let upper = false;
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
    const t = ASCII[c]!;
    if (t !== 0) {
      if (start < 0) start = i;
      if (t === 2) upper = true;
    } else if (start >= 0) {
      const w = text.slice(start, i);
      fn(upper ? w.toLowerCase() : w);
      emitted++;
      start = -1;
      upper = false;
    }
  }
  if (start >= 0) {
    const w = text.slice(start);
    fn(upper ? w.toLowerCase() : w);
  }
}

/** The lower-cased words of `text` (see forEachWord). */
export function words(text: string): string[] {
  const out: string[] = [];
  forEachWord(text, (w) => out.push(w));
  return out;
}

/** Sum of numbers. */
export function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
