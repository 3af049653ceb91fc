/**
 * One pass of logistic regression's training over a CSV table (jobs/logistic-regression.ts
 * has the driver, `trainLogisticRegression({ features, label, … })`, which runs it): the
 * `features` columns are the coordinates, `label` the class. Rows with a missing or non-numeric
 * feature, or no label, are skipped (counter `dropped`).
 *
 * Parameters: features (comma-separated columns), label (a column), model (the weights; none:
 * a scan of the classes), hessian (true|false).
 */
import { InvalidJobError } from 'streaming';
import { passJob, type Row } from './lib/logistic-pass.js';
import { columnsParam, numberOf, requireColumns } from './lib/numeric.js';

export default passJob('logistic-regression-csv', 'csv', (row, ctx): Row | undefined => {
  const features = columnsParam(ctx, 'features', 'logistic-regression-csv');
  const label = ctx.params.label?.trim();
  if (!label) throw new InvalidJobError('logistic-regression-csv needs --param label=<the class column>.');
  requireColumns(row, [...features, label], ctx, 'logistic-regression-csv');
  const values = features.map((f) => numberOf(row[f]));
  const y = row[label]!.trim();
  if (y === '' || values.some((v) => v === undefined || Number.isNaN(v))) {
    ctx.count('dropped');
    return undefined;
  }
  return { label: y, size: features.length, indices: features.map((_, j) => j), values: values as number[] };
});
