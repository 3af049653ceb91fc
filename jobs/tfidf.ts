/**
 * TF-IDF vectors with scikit-learn `TfidfVectorizer`'s defaults: lower-cased text, tokens = runs
 * of 2+ letters, digits or `_` (`tokens()`), tf = raw count, idf = ln((1 + n) / (1 + df)) + 1
 * (smooth_idf), each document's vector scaled to unit L2 norm. n = number of documents, df =
 * number of documents holding the term.
 *
 * Two steps: (1) per term, its document frequency, handed to each document holding it; (2) per
 * document, its weights. n comes from step 1's `documents` counter.
 *
 * Input: JSON lines {"id": <string or number, unique>, "text": "…"}.
 * Output (jsonl): {"key": <id>, "value": {"<term>": <weight>, …}} per document; a document
 * without tokens has an empty vector.
 *
 *   streaming run jobs/tfidf.ts --input docs.jsonl --output tfidf/
 */
import { defineJob, definePipeline, l2Normalize, termCounts } from 'streaming';
import { type DocId, documentOf } from './lib/documents.js';

/** [document, term count in it] */
type Posting = [DocId, number];
/** [term, tf, df]; a document without tokens gets [null, 0, 0] so that it still has a row. */
type Entry = [string | null, number, number];

export const documentFrequencies = defineJob({
  name: 'tfidf-df',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const doc = documentOf(record, ctx);
    ctx.count('documents');
    const counts = termCounts(doc.text);
    // The key [] gathers the documents without tokens. Keys are equal when their encodings are
    // (DESIGN §1): null would meet the term "null", but "[]" is never a token.
    if (counts.size === 0) emit([], [doc.id, 0] satisfies Posting);
    for (const [term, tf] of counts) emit(term, [doc.id, tf] satisfies Posting);
  },
  reduce(term: string | [], postings: Iterable<Posting>, emit) {
    // The postings of one term are its document frequency: they are held to count them.
    const all = [...postings];
    if (typeof term !== 'string') for (const [id] of all) emit(id, [null, 0, 0] satisfies Entry);
    else for (const [id, tf] of all) emit(id, [term, tf, all.length] satisfies Entry);
  },
  output: { format: 'jsonl' },
});

export const weights = defineJob({
  name: 'tfidf-weights',
  input: { format: 'jsonl' },
  map(record, emit) {
    const { key, value } = record as { key: DocId; value: Entry };
    emit(key, value);
  },
  reduce(id: DocId, entries: Iterable<Entry>, emit, ctx) {
    const n = Number(ctx.params['counters.documents']);
    if (!(n >= 1)) throw new TypeError('tfidf-weights needs the document count: run it as a step of jobs/tfidf.ts.');
    const vector = new Map<string, number>();
    for (const [term, tf, df] of entries) {
      if (term === null) continue;
      vector.set(term, tf * (Math.log((1 + n) / (1 + df)) + 1));
    }
    l2Normalize(vector);
    emit(id, Object.fromEntries(vector));
  },
  output: { format: 'jsonl' },
});

export default definePipeline({ name: 'tfidf', steps: [documentFrequencies, weights] });
