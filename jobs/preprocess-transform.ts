/**
 * Applies preprocessing fitted by jobs/preprocess-fit.ts to a CSV table (map-only): each row
 * becomes a feature vector — its numeric columns imputed and scaled, its categorical columns
 * one-hot encoded (a category the fit never saw goes to the column's unknown bucket, or to no
 * column with `unknown=ignore`) — carrying the model's label column as its label and its id
 * column as its key. A row with a missing field the fit did not impute, or text in a numeric
 * column, is skipped and counted (`dropped`).
 *
 * Parameters: model (required: the output of jobs/preprocess-fit.ts; in jobs/preprocess.ts's
 * pipeline, the fit step's output instead).
 * Output: feature vectors (jobs/lib/vectors.ts), in the model's feature order:
 *   {"key": <id or null>, "value": {"label": …, "size": d, "indices": […], "values": […]}}
 *
 *   streaming run jobs/preprocess-transform.ts --input test.csv --output test-vectors/ --param model=prep/
 */
import { defineJob, type TaskContext } from 'streaming';
import { Loaded, withLoaded } from './lib/loaded.js';
import { loadModel, type ModelHeader, type ModelRecord } from './lib/model.js';
import { numberOf, requireColumns } from './lib/numeric.js';
import type { Fitted, FittedCategorical, FittedNumeric, Plan, PlannedColumn } from './lib/preprocess.js';
import { vectorValue } from './lib/vectors.js';

interface Column {
  name: string;
  offset: number;
  fitted: Fitted;
  /** One-hot: category → its index in the block. */
  index?: Map<string, number>;
}

interface Preprocess {
  columns: Column[];
  label: string | null;
  id: string | null;
  unknown: Plan['unknown'];
  size: number;
}

function build(header: ModelHeader, entries: ModelRecord[]): Preprocess {
  const fitted = new Map<string, Fitted & { offset: number }>();
  for (const { key, value } of entries)
    if (key[0] === 'column') fitted.set(key[1] as string, value as Fitted & { offset: number });
  const columns = (header.columns as PlannedColumn[]).map((c) => {
    const f = fitted.get(c.name)!;
    const column: Column = { name: c.name, offset: f.offset, fitted: f };
    if (f.kind === 'onehot') column.index = new Map((f as FittedCategorical).categories.map((v, i) => [v, i]));
    return column;
  });
  return {
    columns,
    label: header.label as string | null,
    id: header.id as string | null,
    unknown: header.unknown as Plan['unknown'],
    size: header.size as number,
  };
}

/** The model a task applies: `--param model`, or (`previous`) the output of the step before. */
function modelOf(ctx: TaskContext, from: 'param' | 'previous', loaded: Loaded<Preprocess>) {
  const uri = from === 'param' ? ctx.params.model : ctx.params['previous.output'];
  return loaded.get(`${ctx.task.attempt} ${uri}`, () => loadModel(ctx, ['preprocess'], build, uri));
}

/** A row as features, or undefined when it cannot be (a missing field not imputed, text in a numeric column). */
function features(m: Preprocess, row: Record<string, string>): { indices: number[]; values: number[] } | undefined {
  const indices: number[] = [];
  const values: number[] = [];
  for (const c of m.columns) {
    const raw = row[c.name]!.trim();
    const f = c.fitted;
    if (f.kind === 'onehot') {
      const value = raw === '' && f.imputeValue !== null ? f.imputeValue : raw;
      const at = c.index!.get(value);
      if (at !== undefined) {
        indices.push(c.offset + at);
        values.push(1);
      } else if (m.unknown === 'bucket') {
        indices.push(c.offset + f.categories.length);
        values.push(1);
      }
      continue;
    }
    const n = f as FittedNumeric;
    let x = numberOf(raw);
    if (x === undefined) {
      if (n.imputeValue === null) return undefined;
      x = n.imputeValue;
    }
    if (Number.isNaN(x)) return undefined;
    // As scikit-learn computes them: (x − mean) / scale; x·scale + min; x.
    const y = n.kind === 'standard' ? (x - n.center) / n.scale : n.kind === 'minmax' ? x * n.scale + n.center : x;
    if (y !== 0) {
      indices.push(c.offset);
      values.push(y);
    }
  }
  return { indices, values };
}

/**
 * The transform job, reading the model from `--param model` or from the previous step's output,
 * and its rows from `input` (a pipeline step may read the locations of a param).
 */
export function preprocessTransform(from: 'param' | 'previous', input: { from?: { param: string } } = {}) {
  const loaded = new Loaded<Preprocess>();
  return defineJob({
    name: 'preprocess-transform',
    input: { format: 'csv', ...input },
    map(row, emit, ctx) {
      return withLoaded(modelOf(ctx, from, loaded), (m) => {
        requireColumns(row, [...m.columns.map((c) => c.name), ...(m.id ? [m.id] : [])], ctx, 'preprocess-transform');
        const f = features(m, row);
        if (!f) {
          ctx.count('dropped');
          return;
        }
        const label =
          m.label !== null && Object.hasOwn(row, m.label) && row[m.label]!.trim() !== ''
            ? row[m.label]!.trim()
            : undefined;
        emit(m.id ? row[m.id] : null, vectorValue(label, m.size, f.indices, f.values));
      });
    },
    reducers: 0,
    output: { format: 'jsonl' },
  });
}

export default preprocessTransform('param');
