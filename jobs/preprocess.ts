/**
 * Preprocessing in one run (scikit-learn's `ColumnTransformer.fit_transform`): fits on the rows
 * (jobs/preprocess-fit.ts, with all its params) and applies the fit (jobs/preprocess-transform.ts)
 * — to the same rows, or with `--param apply=<location>[,<location>…]` to those rows instead
 * (fit on train/, vectors of test/, in one pipeline; an unseen category goes to its column's
 * unknown bucket, or nowhere with `unknown=ignore`, as `OneHotEncoder(handle_unknown='ignore')`).
 *
 * Two steps: preprocess-fit (the model, in scratch), then preprocess-transform, map-only with
 * the model as a side input. To keep the model, run the two jobs instead.
 *
 *   streaming run jobs/preprocess.ts --input train/ --param apply=test/ --output test-vectors/ \
 *     --param onehot=Island --param standard=Flipper --param label=Species
 */
import { definePipeline } from 'streaming';
import preprocessFit from './preprocess-fit.js';
import { preprocessTransform } from './preprocess-transform.js';

export default definePipeline({
  name: 'preprocess',
  steps: [preprocessFit, preprocessTransform('previous', { from: { param: 'apply' } })],
});
