/**
 * The preprocessing plan (which column gets what) and the fitted model, shared by
 * jobs/preprocess-fit.ts and jobs/preprocess-transform.ts. Per column, scikit-learn's
 * `Pipeline([SimpleImputer(strategy), <transformer>])` inside a `ColumnTransformer`:
 *   standard     StandardScaler: (x − mean) / std (population std; a constant column: 1)
 *   minmax       MinMaxScaler(feature_range=(0, 1)): x·scale + min, scale = 1/(max − min)
 *   passthrough  the number as it is
 *   onehot       OneHotEncoder: a column per category seen in the fit (sorted), and with
 *                `unknown=bucket` (the default) one more for categories the fit never saw;
 *                `unknown=ignore`: all zeros, as scikit-learn's handle_unknown='ignore'
 * with imputation `impute.<column>=mean|median|most_frequent|constant:<value>` before it; the
 * scalers are fitted on the imputed values, as in scikit-learn's pipeline.
 */
import { InvalidJobError, type TaskContext } from 'streaming';
import { columnsParam } from './numeric.js';

export type Kind = 'standard' | 'minmax' | 'passthrough' | 'onehot';
export const KINDS: readonly Kind[] = ['standard', 'minmax', 'passthrough', 'onehot'];

export type Impute = { strategy: 'mean' | 'median' | 'most_frequent' } | { strategy: 'constant'; value: string };

export interface PlannedColumn {
  name: string;
  kind: Kind;
  impute?: Impute;
}

export interface Plan {
  columns: PlannedColumn[];
  label: string | undefined;
  id: string | undefined;
  unknown: 'bucket' | 'ignore';
}

/** The plan the params give, columns in the order of the header (so every task agrees). */
export function planOf(ctx: TaskContext, header: string[]): Plan {
  const p = ctx.params;
  const byColumn = new Map<string, PlannedColumn>();
  for (const kind of KINDS) {
    if (p[kind] === undefined) continue;
    for (const name of columnsParam(ctx, kind, 'preprocess-fit')) {
      if (byColumn.has(name))
        throw new InvalidJobError(
          `Column "${name}" is in --param ${byColumn.get(name)!.kind} and --param ${kind}: give it one.`,
        );
      byColumn.set(name, { name, kind });
    }
  }
  if (byColumn.size === 0)
    throw new InvalidJobError(
      'preprocess-fit needs columns: --param standard=<a,b>, minmax=…, passthrough=…, onehot=… (CSV header names).',
    );
  for (const [key, raw] of Object.entries(p)) {
    if (!key.startsWith('impute.')) continue;
    const name = key.slice('impute.'.length);
    const column = byColumn.get(name);
    if (!column)
      throw new InvalidJobError(`--param ${key}: column "${name}" is not in standard, minmax, passthrough or onehot.`);
    column.impute = imputeOf(raw, column, key);
  }
  const unknown = p.unknown ?? 'bucket';
  if (unknown !== 'bucket' && unknown !== 'ignore')
    throw new InvalidJobError(`--param unknown must be bucket or ignore (got "${unknown}").`);
  const order = new Map(header.map((h, i) => [h, i]));
  const columns = [...byColumn.values()].sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  return { columns, label: p.label?.trim() || undefined, id: p.id?.trim() || undefined, unknown };
}

function imputeOf(raw: string, column: PlannedColumn, key: string): Impute {
  const categorical = column.kind === 'onehot';
  if (raw.startsWith('constant:')) {
    const value = raw.slice('constant:'.length);
    if ((!categorical && !Number.isFinite(Number(value))) || (!categorical && value.trim() === ''))
      throw new InvalidJobError(`--param ${key}=${raw}: a numeric column's constant must be a number.`);
    return { strategy: 'constant', value };
  }
  if (raw === 'mean' || raw === 'median') {
    if (categorical)
      throw new InvalidJobError(`--param ${key}=${raw}: a one-hot column imputes most_frequent or constant:<value>.`);
    return { strategy: raw };
  }
  if (raw === 'most_frequent') {
    if (!categorical)
      throw new InvalidJobError(`--param ${key}=${raw}: a numeric column imputes mean, median or constant:<value>.`);
    return { strategy: raw };
  }
  throw new InvalidJobError(`--param ${key} must be mean, median, most_frequent or constant:<value> (got "${raw}").`);
}

/** A numeric column as fitted: what transform does (center, scale, offset) and what it saw. */
export interface FittedNumeric {
  kind: 'standard' | 'minmax' | 'passthrough';
  count: number;
  missing: number;
  /** The imputed value (null: no imputation). */
  imputeValue: number | null;
  /** Of the values the scaler saw (imputed ones included). */
  mean: number;
  variance: number;
  min: number;
  max: number;
  /** transform: standard (x − center) / scale; minmax x·scale + center; passthrough x. */
  center: number;
  scale: number;
}

export interface FittedCategorical {
  kind: 'onehot';
  count: number;
  missing: number;
  imputeValue: string | null;
  categories: string[];
  counts: number[];
}

export type Fitted = FittedNumeric | FittedCategorical;

/** A column's output features: a number, or a one-hot block (its categories, then the unknown bucket). */
export function featureNames(name: string, f: Fitted, unknown: Plan['unknown']): string[] {
  if (f.kind !== 'onehot') return [name];
  return [...f.categories.map((c) => `${name}=${c}`), ...(unknown === 'bucket' ? [`${name}=<unknown>`] : [])];
}
