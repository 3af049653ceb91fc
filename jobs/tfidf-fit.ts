/**
 * Fits a TF-IDF model (scikit-learn `TfidfVectorizer.fit`): the vocabulary and each term's
 * document frequency and idf, written as a model file that jobs/tfidf-transform.ts applies to
 * any documents (`--param model=<this output>`), and jobs/tfidf.ts applies in the same run.
 *
 * Two steps: (1) `tfidf-counts`: each term's document frequency (and, with maxFeatures, its
 * count over the corpus), a word count over each document's distinct terms, combined map-side;
 * (2) `tfidf-vocabulary`: the terms kept by minDf, maxDf and maxFeatures, in one reduce call
 * that sorts them, numbers them (a term's index is its rank in code point order, as
 * scikit-learn's `vocabulary_`) and writes the model.
 *
 * Parameters (scikit-learn's names in camelCase; docs/jobs-ml.md):
 *   ngramRange   <min>,<max> word n-grams (default 1,1)
 *   stopWords    english | <file: one word per line> (default none)
 *   minDf, maxDf a whole number of documents, or a proportion with a point (0.5): keep terms
 *                with minDf <= df <= maxDf (defaults 1 and 1.0)
 *   maxFeatures  keep the most frequent terms over the corpus (ties: the first in term order)
 *   useIdf, smoothIdf, sublinearTf (true|false; defaults true, true, false); norm l2|l1|none (l2)
 * Input: JSON lines {"id": …, "text": "…"} (a "label" is allowed and ignored).
 * Output: the model, JSON lines:
 *   {"key": ["model"], "value": {"type": "tfidf", "version": 1, "documents": n, "terms": |V|, "analyzer": {…}, …}}
 *   {"key": ["term", "<term>"], "value": {"index": i, "df": df, "idf": idf}}   per term, by index
 *
 *   streaming run jobs/tfidf-fit.ts --input train.jsonl --output tfidf-model/ --param minDf=2
 */
import { defineJob, definePipeline, InvalidJobError, type TaskContext } from 'streaming';
import { analyzerFromParams } from './lib/analyzer.js';
import { boolParam, documentOf, intParam } from './lib/documents.js';
import { withLoaded } from './lib/loaded.js';
import { HEADER_KEY, headerOf } from './lib/model.js';
import { compareCodePoints } from './lib/order.js';
import { normParam } from './lib/vectors.js';

/** A term's document frequency, or [df, count over the corpus] when maxFeatures needs the count. */
type TermCount = number | [number, number];

function addCounts(_term: string, values: Iterable<TermCount>): TermCount {
  let df = 0;
  let acc: [number, number] | undefined;
  for (const v of values) {
    if (typeof v === 'number') df += v;
    else if (acc === undefined)
      acc = v; // our own list: added to in place
    else {
      acc[0] += v[0];
      acc[1] += v[1];
    }
  }
  if (acc === undefined) return df;
  acc[0] += df;
  return acc;
}

/** Terms of the document being counted, with their counts. */
const counts = new Map<string, number>();

export const termCounts = defineJob({
  name: 'tfidf-counts',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const limited = ctx.params.maxFeatures !== undefined && ctx.params.maxFeatures !== '';
    return withLoaded(analyzerFromParams(ctx), (analyzer) => {
      const doc = documentOf(record, ctx);
      ctx.count('documents');
      counts.clear();
      analyzer.terms(doc.text, (t) => counts.set(t, (counts.get(t) ?? 0) + 1));
      if (limited) for (const [t, n] of counts) emit(t, [1, n]);
      else for (const t of counts.keys()) emit(t, 1);
    });
  },
  combine: addCounts,
  reduce(term: string, values: Iterable<TermCount>, emit) {
    emit(term, addCounts(term, values));
  },
  output: { format: 'jsonl' },
});

/** The pruning params, checked as scikit-learn checks them. */
export interface Pruning {
  /** Documents a term may appear in, at least and at most. */
  minDocs: number;
  maxDocs: number;
  maxFeatures: number | undefined;
  /** As given, for the model. */
  minDf: number;
  maxDf: number;
}

/** A df bound: a whole number of documents, or a proportion in [0, 1] written with a point or an exponent. */
function dfBound(
  ctx: TaskContext,
  name: 'minDf' | 'maxDf',
  fallback: string,
  n: number,
): { given: number; docs: number } {
  const raw = (ctx.params[name] ?? fallback).trim();
  const x = Number(raw);
  const proportion = /[.eE]/.test(raw);
  if (raw === '' || !Number.isFinite(x) || x < 0 || (proportion ? x > 1 : !Number.isInteger(x)))
    throw new InvalidJobError(
      `--param ${name} must be a whole number of documents (e.g. 2) or a proportion written with a point (e.g. 0.5, at most 1.0); got "${raw}".`,
    );
  return { given: x, docs: proportion ? x * n : x };
}

export function pruning(ctx: TaskContext, n: number): Pruning {
  const min = dfBound(ctx, 'minDf', '1', n);
  const max = dfBound(ctx, 'maxDf', '1.0', n);
  if (max.docs < min.docs)
    throw new InvalidJobError(
      `--param maxDf=${ctx.params.maxDf ?? '1.0'} corresponds to fewer documents (${max.docs}) than minDf=${ctx.params.minDf ?? '1'} (${min.docs}) of the ${n}.`,
    );
  const maxFeatures =
    ctx.params.maxFeatures === undefined || ctx.params.maxFeatures === '' ? undefined : intParam(ctx, 'maxFeatures', 1);
  return { minDocs: min.docs, maxDocs: max.docs, maxFeatures, minDf: min.given, maxDf: max.given };
}

function documentsOf(ctx: TaskContext): number {
  const n = Number(ctx.params['counters.documents']);
  if (!(n >= 1))
    throw new InvalidJobError(
      'tfidf-vocabulary needs the document count of tfidf-counts: run it as a step of jobs/tfidf-fit.ts.',
    );
  return n;
}

/** [term, df, count over the corpus (0 when not counted)]. */
type Entry = [string, number, number];

/** Most frequent first; ties by term in code point order (a stable order, where scikit-learn's argsort is not). */
const byFrequency = (a: Entry, b: Entry) => b[2] - a[2] || compareCodePoints(a[0], b[0]);

/** The map task (attempt) that has emitted its empty list. */
let seeded = '';

/** maxFeatures of the running task, for combine (which gets no ctx); map sets it first. */
let combineLimit: number | undefined;

/** Gathers entry lists; with maxFeatures, keeps only each task's most frequent (the global top k are among them). */
function gather(_key: string, lists: Iterable<Entry[]>): Entry[] {
  let out: Entry[] | undefined;
  for (const l of lists) {
    if (out === undefined) out = l;
    else for (const e of l) out.push(e);
    if (combineLimit !== undefined && out.length > 2 * combineLimit) keepTop(out, combineLimit);
  }
  return out ?? [];
}

function keepTop(entries: Entry[], k: number): void {
  entries.sort(byFrequency);
  entries.length = Math.min(entries.length, k);
}

export const vocabulary = defineJob({
  name: 'tfidf-vocabulary',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const { key: term, value } = record as { key: string; value: TermCount };
    const n = documentsOf(ctx);
    const p = pruning(ctx, n);
    combineLimit = p.maxFeatures;
    if (seeded !== ctx.task.attempt) {
      // Every task reaches the reduce call, so one that keeps no term can say so.
      seeded = ctx.task.attempt;
      emit('vocabulary', []);
    }
    const [df, tf] = typeof value === 'number' ? [value, 0] : value;
    if (df >= p.minDocs && df <= p.maxDocs) emit('vocabulary', [[term, df, tf]] as Entry[]);
  },
  combine: gather,
  reduce(_key: string, lists: Iterable<Entry[]>, emit, ctx) {
    const n = documentsOf(ctx);
    const p = pruning(ctx, n);
    combineLimit = p.maxFeatures;
    const entries = gather('vocabulary', lists);
    if (entries.length === 0)
      throw new InvalidJobError(
        `After pruning, no terms remain (minDf ${p.minDf}, maxDf ${p.maxDf} of ${n} documents). Try a lower minDf or a higher maxDf.`,
      );
    if (p.maxFeatures !== undefined) keepTop(entries, p.maxFeatures);
    entries.sort((a, b) => compareCodePoints(a[0], b[0]));
    const useIdf = boolParam(ctx, 'useIdf', true);
    const smoothIdf = boolParam(ctx, 'smoothIdf', true);
    return withLoaded(analyzerFromParams(ctx), (analyzer) => {
      emit(
        HEADER_KEY,
        headerOf('tfidf', {
          documents: n,
          terms: entries.length,
          analyzer: analyzer.spec,
          minDf: p.minDf,
          maxDf: p.maxDf,
          maxFeatures: p.maxFeatures ?? null,
          useIdf,
          smoothIdf,
          sublinearTf: boolParam(ctx, 'sublinearTf', false),
          norm: normParam(ctx),
        }),
      );
      entries.forEach(([term, df], index) => {
        // scikit-learn: idf = ln((1 + n) / (1 + df)) + 1 (smooth_idf), ln(n / df) + 1 otherwise.
        const idf = !useIdf ? 1 : smoothIdf ? Math.log((1 + n) / (1 + df)) + 1 : Math.log(n / df) + 1;
        emit(['term', term], { index, df, idf });
      });
    });
  },
  reducers: 1,
  output: { format: 'jsonl' },
});

export default definePipeline({ name: 'tfidf-fit', steps: [termCounts, vocabulary] });
