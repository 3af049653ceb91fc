/**
 * Multinomial Naive Bayes training with scikit-learn `CountVectorizer` + `MultinomialNB`
 * semantics: tokens = `tokens()` (lower-cased runs of 2+ letters, digits or `_`), vocabulary V =
 * every token of the training documents, Lidstone smoothing `alpha` (default 1: Laplace),
 *   log prior(c)  = ln(documents of c / documents)
 *   log P(t | c)  = ln((count(t, c) + alpha) / (count(c) + alpha·|V|))
 * where count(c) is the number of tokens in the documents of class c.
 *
 * Two steps: (1) token counts per class of every term, and per class its documents and tokens
 * (also counters `documents:<class>`, `tokens:<class>`, `vocabulary`); (2) map-only: the model,
 * from step 1's records and counters.
 *
 * Parameters: alpha (default 1; > 0).
 * Input: JSON lines {"id": …, "label": <string or number>, "text": "…"}.
 * Output, the model (jsonl), read by jobs/naive-bayes-predict.ts (`--param model=<this output>`):
 *   {"key": ["prior", "<class>"], "value": <log prior>} per class
 *   {"key": ["term", "<term>"], "value": {"<class>": <log P(term | class)>, …}} per term
 *
 *   streaming run jobs/naive-bayes-train.ts --input train.jsonl --output model/
 */
import { defineJob, definePipeline, InvalidJobError, type TaskContext, termCounts } from 'streaming';
import { documentOf } from './lib/documents.js';
import { HEADER_KEY, headerOf } from './lib/model.js';
import { compareCodePoints } from './lib/order.js';

/** ['class', label] → [documents, tokens]; ['term', token] → {label: count}. */
type CountKey = ['class', string] | ['term', string];
type Counts = [number, number] | Record<string, number>;

function addCounts(key: CountKey, values: Iterable<Counts>): Counts {
  if (key[0] === 'class') {
    const sum: [number, number] = [0, 0];
    for (const v of values as Iterable<[number, number]>) {
      sum[0] += v[0];
      sum[1] += v[1];
    }
    return sum;
  }
  // Class names are data: counted in an object without a prototype, where "constructor" or
  // "__proto__" are keys like any other (on {} they would read or set Object.prototype's).
  let out: Record<string, number> | undefined;
  for (const v of values as Iterable<Record<string, number>>) {
    if (out === undefined) out = Object.getPrototypeOf(v) === null ? v : Object.assign(Object.create(null), v);
    else for (const c of Object.keys(v)) out![c] = (out![c] ?? 0) + v[c]!;
  }
  return out ?? Object.create(null);
}

export const countTerms = defineJob({
  name: 'naive-bayes-counts',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const doc = documentOf(record, ctx, true);
    const label = doc.label!;
    const counts = termCounts(doc.text);
    let total = 0;
    for (const [term, n] of counts) {
      const counts: Record<string, number> = Object.create(null);
      counts[label] = n;
      emit(['term', term], counts);
      total += n;
    }
    emit(['class', label], [1, total]);
    ctx.count('documents');
    ctx.count(`documents:${label}`);
    ctx.count(`tokens:${label}`, total);
  },
  combine: addCounts,
  reduce(key: CountKey, values: Iterable<Counts>, emit, ctx) {
    if (key[0] === 'term') ctx.count('vocabulary');
    emit(key, addCounts(key, values));
  },
  output: { format: 'jsonl' },
});

/** What step 2 needs from step 1's counters. */
function totals(ctx: TaskContext): { documents: number; vocabulary: number; alpha: number; classes: string[] } {
  const p = ctx.params;
  const alpha = p.alpha === undefined ? 1 : Number(p.alpha);
  if (!(alpha > 0)) throw new InvalidJobError(`--param alpha must be a number > 0 (got "${p.alpha}").`);
  const documents = Number(p['counters.documents']);
  if (!(documents >= 1))
    throw new InvalidJobError(
      'naive-bayes-model needs the counts of step 1: run it as a step of jobs/naive-bayes-train.ts.',
    );
  const classes = Object.keys(p)
    .filter((k) => k.startsWith('counters.documents:'))
    .map((k) => k.slice('counters.documents:'.length))
    .sort(compareCodePoints);
  return { documents, vocabulary: Number(p['counters.vocabulary'] ?? 0), alpha, classes };
}

export const model = defineJob({
  name: 'naive-bayes-model',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const { key, value } = record as { key: CountKey; value: Counts };
    const { documents, vocabulary, alpha, classes } = totals(ctx);
    if (key[0] === 'class') {
      const [docs] = value as [number, number];
      // The header, once: from the task that holds the first class.
      if (key[1] === classes[0]) emit(HEADER_KEY, headerOf('naive-bayes', { classes, alpha, documents, vocabulary }));
      emit(['prior', key[1]], Math.log(docs / documents));
      return;
    }
    const counts = value as Record<string, number>;
    const logp: Record<string, number> = Object.create(null);
    for (const c of classes) {
      const classTokens = Number(ctx.params[`counters.tokens:${c}`]);
      const count = Object.hasOwn(counts, c) ? counts[c]! : 0;
      logp[c] = Math.log((count + alpha) / (classTokens + alpha * vocabulary));
    }
    emit(key, logp);
  },
  reducers: 0,
  output: { format: 'jsonl' },
});

export default definePipeline({ name: 'naive-bayes-train', steps: [countTerms, model] });
