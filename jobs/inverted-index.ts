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
import { concat, defineJob, distinctTokens } from 'streaming';
import { compareIds, type DocId, documentOf } from './lib/documents.js';

/**
 * Sorted, without duplicates (a document given twice counts once). The lists arrive in map task
 * order, each in input order, so with ids that grow through the input they are sorted already:
 * checked in one pass before sorting.
 */
function sortedIds(ids: DocId[]): DocId[] {
  let ascending = true;
  for (let i = 1; i < ids.length && ascending; i++) ascending = compareIds(ids[i - 1]!, ids[i]!) < 0;
  if (ascending) return ids;
  ids.sort(compareIds);
  return ids.filter((id, i) => i === 0 || compareIds(ids[i - 1]!, id) !== 0);
}

export default defineJob({
  name: 'inverted-index',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const doc = documentOf(record, ctx);
    ctx.count('documents');
    for (const term of distinctTokens(doc.text)) emit(term, [doc.id]);
  },
  // Appends the lists map-side (in place, see `concat`), so a term costs one list per task.
  combine: concat,
  reduce(term: string, lists: Iterable<DocId[]>, emit) {
    emit(term, sortedIds(concat(lists)));
  },
  output: { format: 'jsonl' },
});
