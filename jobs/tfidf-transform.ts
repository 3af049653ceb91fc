/**
 * Applies a TF-IDF model (jobs/tfidf-fit.ts) to documents, as scikit-learn
 * `TfidfVectorizer.transform`: each document's terms (the model's analyzer) counted, terms not in
 * the model's vocabulary ignored (counter `unseen terms`), tf = the count (1 + ln(count) with
 * sublinearTf), weight = tf · idf, then the vector scaled to unit norm (the model's `norm`).
 * Map-only.
 *
 * Parameters: model (required: the output location of jobs/tfidf-fit.ts; in a pipeline, the
 * previous step's output).
 * Input: JSON lines {"id": …, "text": "…"} (and "label", carried to the vector).
 * Output: feature vectors (jobs/lib/vectors.ts), one per document, in input order:
 *   {"key": <id>, "value": {"label": …, "size": |V|, "indices": [i, …], "values": [w, …]}}
 *
 *   streaming run jobs/tfidf-transform.ts --input test.jsonl --output test-vectors/ --param model=tfidf-model/
 */
import { defineJob, type Emit, InvalidJobError, type TaskContext } from 'streaming';
import { type Analyzer, type AnalyzerSpec, analyzer } from './lib/analyzer.js';
import { documentOf } from './lib/documents.js';
import { Loaded, withLoaded } from './lib/loaded.js';
import { loadModel, type ModelHeader, type ModelRecord } from './lib/model.js';
import { type Label, normalize, vectorValue } from './lib/vectors.js';

/** A term of the vocabulary: its column and idf, and its count in the document being weighed. */
interface Term {
  index: number;
  idf: number;
  /** The document (a number per worker) whose count `tf` is; tf of another document is stale. */
  doc: number;
  tf: number;
}

export interface TfidfModel {
  size: number;
  terms: Map<string, Term>;
  analyzer: Analyzer;
  sublinearTf: boolean;
  norm: 'l2' | 'l1' | 'none';
}

export function tfidfModel(header: ModelHeader, entries: ModelRecord[], where: string): TfidfModel {
  const terms = new Map<string, Term>();
  for (const { key, value } of entries) {
    if (key[0] !== 'term') continue;
    const { index, idf } = value as { index: number; idf: number };
    terms.set(key[1] as string, { index, idf, doc: 0, tf: 0 });
  }
  if (terms.size !== header.terms)
    throw new InvalidJobError(`${where}: the model names ${header.terms} terms and holds ${terms.size}: is it whole?`);
  return {
    size: terms.size,
    terms,
    analyzer: analyzer(header.analyzer as AnalyzerSpec),
    sublinearTf: header.sublinearTf === true,
    norm: header.norm as TfidfModel['norm'],
  };
}

/**
 * The model a task applies: `--param model`, or (`previous`) the output of the step before,
 * as in jobs/tfidf.ts; loaded once per task, parsed once per worker.
 */
function modelOf(
  ctx: TaskContext,
  from: 'param' | 'previous',
  model: Loaded<TfidfModel>,
): TfidfModel | Promise<TfidfModel> {
  const uri = from === 'param' ? ctx.params.model : ctx.params['previous.output'];
  return model.get(`${ctx.task.attempt} ${uri}`, () => loadModel(ctx, ['tfidf'], tfidfModel, uri));
}

/** Documents weighed by this worker: tells a Term's count for this document from a stale one. */
let documents = 0;
/** The distinct terms of the document being weighed. */
const found: Term[] = [];
const byIndex = (a: Term, b: Term) => a.index - b.index;

/** One lookup per token: the term's entry counts its occurrences in this document. */
function weigh(record: unknown, emit: Emit<unknown, unknown>, ctx: TaskContext, m: TfidfModel): void {
  const doc = documentOf(record, ctx);
  const seq = ++documents;
  let unseen = 0;
  found.length = 0;
  m.analyzer.terms(doc.text, (token) => {
    const t = m.terms.get(token);
    if (t === undefined) unseen++;
    else if (t.doc !== seq) {
      t.doc = seq;
      t.tf = 1;
      found.push(t);
    } else t.tf++;
  });
  if (unseen > 0) ctx.count('unseen terms', unseen);
  found.sort(byIndex);
  const indices = new Array<number>(found.length);
  const values = new Array<number>(found.length);
  for (let i = 0; i < found.length; i++) {
    const t = found[i]!;
    indices[i] = t.index;
    values[i] = (m.sublinearTf ? 1 + Math.log(t.tf) : t.tf) * t.idf;
  }
  normalize(values, m.norm);
  const label = (record as { label?: Label | null }).label;
  emit(doc.id, vectorValue(label ?? undefined, m.size, indices, values));
}

/**
 * The transform job, reading the model from `--param model` or from the previous step's output,
 * and its documents from `input` (a pipeline step may read the locations of a param).
 */
export function tfidfTransform(from: 'param' | 'previous', input: { from?: { param: string } } = {}) {
  const model = new Loaded<TfidfModel>();
  return defineJob({
    name: 'tfidf-transform',
    input: { format: 'jsonl', ...input },
    map(record, emit, ctx) {
      return withLoaded(modelOf(ctx, from, model), (m) => weigh(record, emit, ctx, m));
    },
    reducers: 0,
    output: { format: 'jsonl' },
  });
}

export default tfidfTransform('param');
