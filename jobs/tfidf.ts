/**
 * TF-IDF vectors with scikit-learn `TfidfVectorizer`'s defaults: lower-cased text, tokens = runs
 * of 2+ letters, digits or `_` (`tokens()`), tf = raw count, idf = ln((1 + n) / (1 + df)) + 1
 * (smooth_idf), each document's vector scaled to unit L2 norm. n = number of documents, df =
 * number of documents holding the term.
 *
 * Two steps: (1) `tfidf-df`: each term's document frequency, a word count over the documents'
 * distinct terms (combined map-side, so the shuffle carries one record per term and task);
 * (2) `tfidf-weights`: map-only over the documents again (`input.from: 'pipeline'`), weighting
 * each document's term counts with the df table of step 1, read as a side input, and n, step 1's
 * `documents` counter. No posting list is shuffled: the vocabulary's df table (a few bytes per
 * distinct term, ~2 MB for 140,000 terms) must fit in a map task's memory.
 *
 * Input: JSON lines {"id": <string or number, unique>, "text": "…"}.
 * Output (jsonl): {"key": <id>, "value": {"<term>": <weight>, …}} per document, in input order;
 * a document without tokens has an empty vector.
 *
 *   streaming run jobs/tfidf.ts --input docs.jsonl --output tfidf/
 */
import { defineJob, definePipeline, distinctTokens, l2Normalize, sum, type TaskContext, termCounts } from 'streaming';
import { documentOf } from './lib/documents.js';

export const documentFrequencies = defineJob({
  name: 'tfidf-df',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const doc = documentOf(record, ctx);
    ctx.count('documents');
    for (const term of distinctTokens(doc.text)) emit(term, 1);
  },
  combine: sum,
  reduce(term: string, counts: Iterable<number>, emit) {
    emit(term, sum(counts));
  },
  output: { format: 'tsv' },
});

/** The df table a worker has read, by where it was read from (one table per run of the job). */
let dfTable: { uri: string; loading: Promise<Map<string, number>>; table?: Map<string, number> } | undefined;

/**
 * Step 1's output (`term<TAB>df` lines) as a map, read once per worker: the map itself once
 * loaded (so the map function stays synchronous), a promise the first time.
 */
function documentFrequenciesOf(ctx: TaskContext): Map<string, number> | Promise<Map<string, number>> {
  const uri = ctx.params['previous.output'];
  if (!uri) throw new TypeError('tfidf-weights needs the df table: run it as a step of jobs/tfidf.ts.');
  if (dfTable?.uri === uri) return dfTable.table ?? dfTable.loading;
  const entry: NonNullable<typeof dfTable> = {
    uri,
    loading: ctx.sideInput(uri).then((text) => {
      const table = new Map<string, number>();
      for (const line of text.split('\n')) {
        const tab = line.indexOf('\t');
        if (tab > 0) table.set(line.slice(0, tab), Number(line.slice(tab + 1)));
      }
      entry.table = table;
      return table;
    }),
  };
  dfTable = entry;
  entry.loading.catch(() => {
    if (dfTable === entry) dfTable = undefined; // a retry reads again
  });
  return entry.loading;
}

function weigh(
  record: unknown,
  emit: (id: unknown, vector: Record<string, number>) => void,
  ctx: TaskContext,
  df: Map<string, number>,
): void {
  const n = Number(ctx.params['counters.documents']);
  if (!(n >= 1)) throw new TypeError('tfidf-weights needs the document count: run it as a step of jobs/tfidf.ts.');
  const doc = documentOf(record, ctx);
  const vector = termCounts(doc.text);
  for (const [term, tf] of vector) {
    const d = df.get(term);
    if (d === undefined)
      throw new Error(`tfidf-weights: "${term}" is not in the df table ${ctx.params['previous.output']}`);
    vector.set(term, tf * (Math.log((1 + n) / (1 + d)) + 1));
  }
  l2Normalize(vector);
  // A null-prototype object filled by assignment: V8 makes it a dictionary at once, where
  // Object.fromEntries builds hundreds of hidden classes per document (~10x slower here), and
  // a term "__proto__" stays an ordinary key.
  const row: Record<string, number> = Object.create(null);
  for (const [term, w] of vector) row[term] = w;
  emit(doc.id, row);
}

export const weights = defineJob({
  name: 'tfidf-weights',
  input: { format: 'jsonl', from: 'pipeline' },
  map(record, emit, ctx) {
    const df = documentFrequenciesOf(ctx);
    if (df instanceof Map) return weigh(record, emit, ctx, df);
    return df.then((table) => weigh(record, emit, ctx, table));
  },
  reducers: 0,
  output: { format: 'jsonl' },
});

export default definePipeline({ name: 'tfidf', steps: [documentFrequencies, weights] });
