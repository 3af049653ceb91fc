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
import {
  defineJob,
  definePipeline,
  distinctTokens,
  forEachToken,
  InvalidJobError,
  sum,
  type TaskContext,
} from 'streaming';
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

/** A term of the df table: its idf, and its count in the document being weighed. */
interface Term {
  term: string;
  idf: number;
  /** The document (a number per worker) whose count `tf` is; tf of another document is stale. */
  doc: number;
  tf: number;
  weight: number;
}

/** The vocabulary a worker has read, by where it was read from and n (one table per run of the job). */
let vocabulary: { key: string; loading: Promise<Map<string, Term>>; table?: Map<string, Term> } | undefined;

/**
 * Step 1's output (`term<TAB>df` lines) as term → Term with idf = ln((1 + n) / (1 + df)) + 1,
 * read once per worker: the map itself once loaded (so the map function stays synchronous), a
 * promise the first time.
 */
function vocabularyOf(ctx: TaskContext): Map<string, Term> | Promise<Map<string, Term>> {
  const uri = ctx.params['previous.output'];
  if (!uri) throw new InvalidJobError('tfidf-weights needs the df table: run it as a step of jobs/tfidf.ts.');
  const n = Number(ctx.params['counters.documents']);
  if (!(n >= 1))
    throw new InvalidJobError('tfidf-weights needs the document count: run it as a step of jobs/tfidf.ts.');
  const key = `${n} ${uri}`;
  if (vocabulary?.key === key) return vocabulary.table ?? vocabulary.loading;
  const entry: NonNullable<typeof vocabulary> = {
    key,
    loading: ctx.sideInput(uri).then((text) => {
      const table = new Map<string, Term>();
      for (const line of text.split('\n')) {
        const tab = line.indexOf('\t');
        if (tab <= 0) continue;
        const term = line.slice(0, tab);
        const idf = Math.log((1 + n) / (1 + Number(line.slice(tab + 1)))) + 1;
        table.set(term, { term, idf, doc: 0, tf: 0, weight: 0 });
      }
      entry.table = table;
      return table;
    }),
  };
  vocabulary = entry;
  entry.loading.catch(() => {
    if (vocabulary === entry) vocabulary = undefined; // a retry reads again
  });
  return entry.loading;
}

/** Documents weighed by this worker: tells a Term's count for this document from a stale one. */
let documents = 0;
/** The distinct terms of the document being weighed, in order of first occurrence. */
const found: Term[] = [];

/**
 * One lookup per token: the term's entry counts its occurrences in this document, so no
 * per-document map is built (this step is most of tf-idf's time).
 */
function weigh(
  record: unknown,
  emit: (id: unknown, vector: Record<string, number>) => void,
  ctx: TaskContext,
  table: Map<string, Term>,
): void {
  const doc = documentOf(record, ctx);
  const seq = ++documents;
  found.length = 0;
  forEachToken(doc.text, (token) => {
    const t = table.get(token);
    if (t === undefined)
      throw new Error(`tfidf-weights: "${token}" is not in the df table ${ctx.params['previous.output']}`);
    if (t.doc !== seq) {
      t.doc = seq;
      t.tf = 1;
      found.push(t);
    } else t.tf++;
  });
  let sq = 0;
  for (const t of found) {
    t.weight = t.tf * t.idf;
    sq += t.weight * t.weight;
  }
  const norm = Math.sqrt(sq); // idf >= 1, so norm > 0 whenever a term was found
  // A null-prototype object filled by assignment: V8 makes it a dictionary at once, where
  // Object.fromEntries builds hundreds of hidden classes per document (~10x slower here), and
  // a term "__proto__" stays an ordinary key.
  const row: Record<string, number> = Object.create(null);
  for (const t of found) row[t.term] = t.weight / norm;
  emit(doc.id, row);
}

export const weights = defineJob({
  name: 'tfidf-weights',
  input: { format: 'jsonl', from: 'pipeline' },
  map(record, emit, ctx) {
    const table = vocabularyOf(ctx);
    if (table instanceof Map) return weigh(record, emit, ctx, table);
    return table.then((loaded) => weigh(record, emit, ctx, loaded));
  },
  reducers: 0,
  output: { format: 'jsonl' },
});

export default definePipeline({ name: 'tfidf', steps: [documentFrequencies, weights] });
