/**
 * Predictions of a model (map-only) for JSON-lines input: feature vectors for a logistic
 * regression trained on vectors, documents {"id", "text"} for Naive Bayes. (CSV rows:
 * jobs/predict-csv.ts.) Each row's true label, when it has one, is carried beside the
 * prediction, and the counters `correct` and `wrong` tally them, for jobs/evaluate.ts.
 *
 * Parameters: model (required: the output of jobs/logistic-regression.ts's driver or of
 * jobs/naive-bayes-train.ts); scores (true|false, Naive Bayes: also each class's joint log
 * likelihood).
 * Output (jsonl), one line per input line, in input order:
 *   {"key": <id>, "value": {"label": …, "prediction": <class>, "probabilities": {"<class>": p, …}}}
 *
 *   streaming run jobs/predict.ts --input test-vectors/ --output predictions/ --param model=lr-model/
 */
import { defineJob, InvalidJobError, type TaskContext } from 'streaming';
import { boolParam, documentOf } from './lib/documents.js';
import { Loaded, withLoaded } from './lib/loaded.js';
import type { LogisticModel } from './lib/logistic.js';
import { loadModel, type ModelHeader, type ModelRecord } from './lib/model.js';
import {
  logisticModel,
  type NaiveBayesModel,
  naiveBayesModel,
  type Prediction,
  predictLogistic,
  predictNaiveBayes,
} from './lib/predictors.js';
import { type Label, vectorOf } from './lib/vectors.js';

type Model = { kind: 'logistic'; m: LogisticModel } | { kind: 'naive-bayes'; m: NaiveBayesModel };

function build(header: ModelHeader, entries: ModelRecord[], where: string): Model {
  if (header.type === 'naive-bayes') return { kind: 'naive-bayes', m: naiveBayesModel(header, entries, where) };
  const m = logisticModel(header, entries, where);
  if (m.columns)
    throw new InvalidJobError(
      `${where} was trained on CSV columns (${m.columns.join(', ')}): predict CSV rows with jobs/predict-csv.ts.`,
    );
  return { kind: 'logistic', m };
}

const loaded = new Loaded<Model>();
const modelOf = (ctx: TaskContext) =>
  loaded.get(`${ctx.task.attempt} ${ctx.params.model}`, () =>
    loadModel(ctx, ['logistic-regression', 'naive-bayes'], build),
  );

let z = new Float64Array(0);
let p = new Float64Array(0);

export default defineJob({
  name: 'predict',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    return withLoaded(modelOf(ctx), (model) => {
      let id: unknown;
      let out: Prediction;
      if (model.kind === 'naive-bayes') {
        const doc = documentOf(record, ctx);
        id = doc.id;
        const label = (record as { label?: Label | null }).label ?? undefined;
        out = predictNaiveBayes(model.m, doc.text, label, boolParam(ctx, 'scores', false));
      } else {
        const v = vectorOf(record, ctx);
        if (v.size !== model.m.size)
          throw new InvalidJobError(
            `A vector in ${ctx.inputUri} has ${v.size} features and the model ${model.m.size}: make the vectors with the feature model the training vectors were made with.`,
          );
        id = v.id;
        if (z.length < model.m.classes.length) {
          z = new Float64Array(model.m.classes.length);
          p = new Float64Array(model.m.classes.length);
        }
        out = predictLogistic(model.m, v.indices, v.values, v.label, z, p);
      }
      if (out.label !== undefined) ctx.count(String(out.label) === String(out.prediction) ? 'correct' : 'wrong');
      emit(id, out);
    });
  },
  reducers: 0,
  output: { format: 'jsonl' },
});
