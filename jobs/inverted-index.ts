/**
 * Inverted index: for every term, the ids of the documents that contain it, sorted (numbers
 * first, ascending, then strings). Terms are scikit-learn's default tokens (`tokens()`: runs of
 * 2+ letters, digits or `_` of the lower-cased text).
 *
 * Input: JSON lines {"id": <string or number>, "text": "…"}.
 * Output (jsonl): {"key": "<term>", "value": [<id>, …]} per term.
 *
 *   streaming run jobs/inverted-index.ts --input docs.jsonl --output index/
 */
import { defineJob, tokens } from 'streaming';
import { compareIds, type DocId, documentOf } from './lib/documents.js';

/**
 * Appends the lists to the first one. Map-side, combine folds each new list into the term's
 * accumulator, so appending in place keeps that linear in the term's documents.
 */
function concatIds(lists: Iterable<DocId[]>): DocId[] {
  let out: DocId[] | undefined;
  for (const l of lists) {
    if (out === undefined) out = l;
    else for (const id of l) out.push(id);
  }
  return out ?? [];
}

/** Sorted, without duplicates (a document given twice counts once). */
function sortedIds(ids: DocId[]): DocId[] {
  ids.sort(compareIds);
  return ids.filter((id, i) => i === 0 || compareIds(ids[i - 1]!, id) !== 0);
}

export default defineJob({
  name: 'inverted-index',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const doc = documentOf(record, ctx);
    ctx.count('documents');
    for (const term of new Set(tokens(doc.text))) emit(term, [doc.id]);
  },
  combine: (_term: string, lists: Iterable<DocId[]>) => concatIds(lists),
  reduce(term: string, lists: Iterable<DocId[]>, emit) {
    emit(term, sortedIds(concatIds(lists)));
  },
  output: { format: 'jsonl' },
});
