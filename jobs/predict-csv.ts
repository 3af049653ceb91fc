/**
 * Predictions of a model (map-only) for CSV rows: linear regression (the value), logistic
 * regression trained on CSV columns (the class and its probabilities), k-means (the nearest
 * centroid). The model names the columns it reads. A row missing one of them, or holding a
 * non-numeric value there, is skipped (counter `skipped`); its true label (the target or class
 * column, when the CSV has it) is carried beside the prediction for jobs/evaluate.ts.
 *
 * Parameters: model (required), id (a column whose value becomes each record's key; default:
 * no key).
 * Output (jsonl), one line per row used:
 *   {"key": <id>, "value": {"label": …, "prediction": <value or class>, "probabilities": {…}}}
 *   k-means: {"key": <id>, "value": {"prediction": <cluster index>, "distance": <to its centroid>}}
 *
 *   streaming run jobs/predict-csv.ts --input test.csv --output predictions/ --param model=model/
 */
import { defineJob, InvalidJobError, type TaskContext } from 'streaming';
import { Loaded, withLoaded } from './lib/loaded.js';
import type { LogisticModel } from './lib/logistic.js';
import { loadModel, type ModelHeader, type ModelRecord } from './lib/model.js';
import { numberOf, requireColumns } from './lib/numeric.js';
import {
  type KMeansModel,
  kmeansModel,
  type LinearRegressionModel,
  linearRegressionModel,
  logisticModel,
  nearest,
  type Prediction,
  predictLogistic,
  withLabel,
} from './lib/predictors.js';

type Model =
  | { kind: 'linear'; m: LinearRegressionModel; columns: string[]; label: string }
  | { kind: 'logistic'; m: LogisticModel; columns: string[]; label: string | undefined }
  | { kind: 'kmeans'; m: KMeansModel; columns: string[] };

function build(header: ModelHeader, entries: ModelRecord[], where: string): Model {
  if (header.type === 'linear-regression') {
    const m = linearRegressionModel(header);
    return { kind: 'linear', m, columns: m.features, label: m.target };
  }
  if (header.type === 'kmeans') {
    const m = kmeansModel(header, entries, where);
    return { kind: 'kmeans', m, columns: m.features };
  }
  const m = logisticModel(header, entries, where);
  if (!m.columns)
    throw new InvalidJobError(`${where} was trained on feature vectors: predict vectors with jobs/predict.ts.`);
  return { kind: 'logistic', m, columns: m.columns, label: header.label as string | undefined };
}

const loaded = new Loaded<Model>();
const modelOf = (ctx: TaskContext) =>
  loaded.get(`${ctx.task.attempt} ${ctx.params.model}`, () =>
    loadModel(ctx, ['linear-regression', 'logistic-regression', 'kmeans'], build),
  );

let z = new Float64Array(0);
let p = new Float64Array(0);

export default defineJob({
  name: 'predict-csv',
  input: { format: 'csv' },
  map(row, emit, ctx) {
    return withLoaded(modelOf(ctx), (model) => {
      const id = ctx.params.id ? [ctx.params.id] : [];
      requireColumns(row, [...model.columns, ...id], ctx, 'predict-csv');
      const x = model.columns.map((c) => numberOf(row[c]));
      if (x.some((v) => v === undefined || Number.isNaN(v))) {
        ctx.count('skipped');
        return;
      }
      const key = id.length > 0 ? row[id[0]!] : null;
      const values = x as number[];
      let out: Prediction;
      if (model.kind === 'kmeans') {
        const { cluster, distance } = nearest(model.m.centroids, values);
        out = { prediction: cluster, distance };
      } else if (model.kind === 'linear') {
        let y = model.m.intercept;
        for (let j = 0; j < values.length; j++) y += model.m.coefficients[j]! * values[j]!;
        const truth = Object.hasOwn(row, model.label) ? numberOf(row[model.label]) : undefined;
        out = withLabel(truth === undefined || Number.isNaN(truth) ? undefined : truth, { prediction: y });
      } else {
        const m = model.m;
        if (z.length < m.classes.length) {
          z = new Float64Array(m.classes.length);
          p = new Float64Array(m.classes.length);
        }
        const truth = model.label !== undefined && Object.hasOwn(row, model.label) ? row[model.label]!.trim() : '';
        out = predictLogistic(
          m,
          m.columns!.map((_, j) => j),
          values,
          truth === '' ? undefined : truth,
          z,
          p,
        );
        if (out.label !== undefined) ctx.count(String(out.label) === String(out.prediction) ? 'correct' : 'wrong');
      }
      emit(key, out);
    });
  },
  reducers: 0,
  output: { format: 'jsonl' },
});
