/**
 * Multinomial Naive Bayes prediction (map-only) with a model written by
 * jobs/naive-bayes-train.ts: a document's class is argmax over c of
 *   log prior(c) + Σ over its tokens t in the vocabulary of count(t) · log P(t | c)
 * (tokens outside the vocabulary are ignored; ties go to the first class in sorted order).
 *
 * Parameters: model (required: the training job's output location, read once per worker as a
 * side input); scores (true|false, default false: also write each class's joint log likelihood).
 * Input: JSON lines {"id": …, "text": "…"} ("label" is optional: when given, the counters
 * `correct` and `wrong` tally the predictions against it).
 * Output (tsv): `<id><TAB><class>`, or with scores `<id><TAB>{"label": "<class>", "scores": {"<class>": …}}`.
 *
 *   streaming run jobs/naive-bayes-predict.ts --input test.jsonl --output predictions/ --param model=model/
 */
import { defineJob, InvalidJobError, type TaskContext, termCounts } from 'streaming';
import { boolParam, documentOf } from './lib/documents.js';

interface Model {
  classes: string[];
  priors: number[];
  /** term → log P(term | class), in the order of `classes`. */
  likelihoods: Map<string, Float64Array>;
}

/** The parsed model, kept while its text (the cached side input) is the same. */
let cached: { text: string; model: Model } | undefined;

function parseModel(text: string, uri: string): Model {
  const priors = new Map<string, number>();
  const terms: [string, Record<string, number>][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const { key, value } = JSON.parse(line) as { key: [string, string]; value: unknown };
    if (key[0] === 'prior') priors.set(key[1], value as number);
    else if (key[0] === 'term') terms.push([key[1], value as Record<string, number>]);
  }
  if (priors.size === 0)
    throw new InvalidJobError(
      `${uri} holds no Naive Bayes model: give the output of jobs/naive-bayes-train.ts as --param model.`,
    );
  const classes = [...priors.keys()].sort();
  const likelihoods = new Map<string, Float64Array>();
  for (const [term, logp] of terms)
    likelihoods.set(
      term,
      Float64Array.from(classes, (c) => (Object.hasOwn(logp, c) ? logp[c]! : Number.NaN)),
    );
  return { classes, priors: classes.map((c) => priors.get(c)!), likelihoods };
}

async function modelOf(ctx: TaskContext): Promise<Model> {
  const uri = ctx.params.model;
  if (!uri) throw new InvalidJobError('Give the model: --param model=<output location of jobs/naive-bayes-train.ts>.');
  const text = await ctx.sideInput(uri);
  if (cached?.text !== text) cached = { text, model: parseModel(text, uri) };
  return cached.model;
}

export default defineJob({
  name: 'naive-bayes-predict',
  input: { format: 'jsonl' },
  async map(record, emit, ctx) {
    const doc = documentOf(record, ctx);
    const { classes, priors, likelihoods } = await modelOf(ctx);
    const scores = Float64Array.from(priors);
    for (const [term, n] of termCounts(doc.text)) {
      const logp = likelihoods.get(term);
      if (logp) for (let c = 0; c < scores.length; c++) scores[c]! += n * logp[c]!;
    }
    let best = 0;
    for (let c = 1; c < scores.length; c++) if (scores[c]! > scores[best]!) best = c;
    const label = classes[best]!;
    if (doc.label !== undefined) ctx.count(doc.label === label ? 'correct' : 'wrong');
    if (boolParam(ctx, 'scores', false))
      emit(doc.id, { label, scores: Object.fromEntries(classes.map((c, i) => [c, scores[i]])) });
    else emit(doc.id, label);
  },
  reducers: 0,
});
