/**
 * Word count. Tokens: the maximal runs of Unicode letters, digits and `_` of the lower-cased
 * line (`/[\p{L}\p{N}_]+/gu`). Output: `word<TAB>count`.
 *
 *   streaming run jobs/wordcount.ts --input <files or dirs> --output <dir>
 */
import { countWords, defineJob, sum } from 'streaming';

export default defineJob({
  name: 'wordcount',
  input: { format: 'text' },
  // countWords is `(line, emit) => forEachWord(line, (word) => emit(word, 1))`. With the SDK's
  // sum as combine, the engine recognises the pair and counts words on the input's bytes; sum
  // as the reduce emits each word with its total, added up on the merged bytes.
  map: countWords,
  combine: sum,
  reduce: sum,
  reducers: 4,
  output: { format: 'tsv' },
});
