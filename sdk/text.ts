/**
 * Text helpers for jobs: the tokenizer of the built-in text jobs (see functions/format/words.ts),
 * the `countWords` map and the `sum` combine/reduce function, which the engine recognises and
 * runs on bytes (docs/performance.md), and `concat`, the combine function of list values.
 */
export { countWords, forEachWord, words } from '../functions/format/words.js';
export { concat, sum } from '../functions/phases/combine-table.js';
