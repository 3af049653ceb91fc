/**
 * Word count. Tokens: the maximal runs of Unicode letters, digits and `_` of the lower-cased
 * line (`/[\p{L}\p{N}_]+/gu`). Output: `word<TAB>count`.
 *
 *   streaming run jobs/wordcount.ts --input <files or dirs> --output <dir>
 */
import { defineJob, forEachWord, sum } from 'streaming';

export default defineJob({
  name: 'wordcount',
  input: { format: 'text' },
  map(line, emit) {
    forEachWord(line, (word) => emit(word, 1));
  },
  // The SDK's sum as the combine function: the engine adds the counts in place map-side.
  combine: sum,
  reduce(word: string, counts: Iterable<number>, emit) {
    emit(word, sum(counts));
  },
  reducers: 4,
  output: { format: 'tsv' },
});
