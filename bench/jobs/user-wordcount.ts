/**
 * Word count as a user writes it, for the bench: a `map` of their own (the line lower-cased and
 * split on a regular expression), `emit(word, 1)`, and their own sum as combine and reduce. The
 * engine recognises nothing here: it is the general path every user-written job takes.
 * Its tokens are those of jobs/wordcount.ts, so its output is checked against the same yardstick.
 */
import { defineJob } from 'streaming';

const SEPARATORS = /[^\p{L}\p{N}_]+/u;

function total(counts: Iterable<number>): number {
  let n = 0;
  for (const c of counts) n += c;
  return n;
}

export default defineJob({
  name: 'user-wordcount',
  input: { format: 'text' },
  map(line: string, emit) {
    for (const word of line.toLowerCase().split(SEPARATORS)) if (word) emit(word, 1);
  },
  combine: (_word: string, counts: Iterable<number>) => total(counts),
  reduce(word: string, counts: Iterable<number>, emit) {
    emit(word, total(counts));
  },
  reducers: 4,
  output: { format: 'tsv' },
});
