/**
 * Metrics of predictions (the output of jobs/predict.ts or jobs/predict-csv.ts), each as
 * scikit-learn's `sklearn.metrics` computes it on the same predictions:
 *  - classification (labels and predictions are classes): `accuracy`, the `confusionMatrix`
 *    (rows: true class, columns: predicted, classes in scikit-learn's order), per class
 *    `precision`, `recall`, `f1` and `support` with their macro and weighted averages
 *    (`classification_report`; a 0/0 is 0); with probabilities, `logLoss` (`log_loss`: each
 *    probability clipped to [ε, 1 − ε], ε = 2⁻⁵², rows renormalised) and, for two classes,
 *    `rocAuc` (`roc_auc_score`, the greater class positive: the probability that a positive
 *    scores above a negative, ties counting half);
 *  - regression (numbers): `rmse`, `mse`, `mae` and `r2` (`r2_score`).
 * Rows without a label are counted (`unlabelled`) and left out.
 *
 * Everything is summed map-side into one partial per task; the single reduce call merges them.
 * ROC AUC is exact: it keeps a count of positives and negatives per distinct score (a few dozen
 * bytes each, in memory; probabilities of a model on n rows have up to n distinct values).
 *
 * Input: predictions (jsonl). Output (jsonl), one line: {"key": "metrics", "value": {…}}.
 *
 *   streaming run jobs/evaluate.ts --input predictions/ --output metrics/
 */
import { defineJob, InvalidJobError } from 'streaming';
import { sortClasses } from './lib/order.js';

type Label = string | number;

/** [value, compensation]: Neumaier's compensated sum. */
type Sum = [number, number];

function add(s: Sum, x: number): void {
  const t = s[0] + x;
  s[1] += Math.abs(s[0]) >= Math.abs(x) ? s[0] - t + x : x - t + s[0];
  s[0] = t;
}
const total = (s: Sum) => s[0] + s[1];

/** A partial of the metrics: plain data, as it crosses the shuffle as JSON. */
interface Partial {
  rows: number;
  unlabelled: number;
  /** Whether every label and prediction so far is a number (classes ordered numerically). */
  numeric: boolean;
  kind: 'classification' | 'regression' | null;
  /** Classification: [true, predicted, count]. */
  pairs: [Label, Label, number][];
  /** The probabilities' classes (as given in the first row), and the rows that had them. */
  probabilityClasses: string[] | null;
  withProbabilities: number;
  logLoss: Sum;
  /** Binary: [score of the second class, positives, negatives] per distinct score. */
  scores: [number, number, number][];
  /** Regression: n, a pivot, the mean's offset from it, Σ(y − ȳ)², Σ(y − ŷ)², Σ|y − ŷ|. */
  n: number;
  pivot: number;
  offset: number;
  m2: number;
  sse: Sum;
  sae: Sum;
}

const empty = (): Partial => ({
  rows: 0,
  unlabelled: 0,
  numeric: true,
  kind: null,
  pairs: [],
  probabilityClasses: null,
  withProbabilities: 0,
  logLoss: [0, 0],
  scores: [],
  n: 0,
  pivot: 0,
  offset: 0,
  m2: 0,
  sse: [0, 0],
  sae: [0, 0],
});

const EPS = 2 ** -52;

/**
 * The partial of one prediction record. A prediction with probabilities is a class; without,
 * a number predicted for a number is a regression's (unless `task` says).
 */
function ofRecord(record: unknown, task: 'classification' | 'regression' | undefined): Partial {
  const v = (record as { value?: { label?: Label; prediction?: Label; probabilities?: Record<string, number> } })
    ?.value;
  if (v === null || typeof v !== 'object' || v.prediction === undefined)
    throw new InvalidJobError(
      'A record is not a prediction: evaluate reads the output of jobs/predict.ts or jobs/predict-csv.ts, {"key": …, "value": {"label": …, "prediction": …}}.',
    );
  const p = empty();
  p.rows = 1;
  if (v.label === undefined || v.label === null) {
    p.unlabelled = 1;
    return p;
  }
  const y = v.label;
  const yhat = v.prediction;
  p.numeric = typeof y === 'number' && typeof yhat === 'number';
  p.kind = task ?? (p.numeric && v.probabilities === undefined ? 'regression' : 'classification');
  if (p.kind === 'regression' && !p.numeric)
    throw new InvalidJobError(`A regression's label and prediction are numbers; got ${JSON.stringify(v)}.`);
  if (p.kind === 'regression') {
    const e = (y as number) - (yhat as number);
    p.n = 1;
    p.pivot = y as number;
    add(p.sse, e * e);
    add(p.sae, Math.abs(e));
    return p;
  }
  p.pairs.push([y, yhat, 1]);
  const probs = v.probabilities;
  if (probs) {
    const classes = Object.keys(probs);
    p.probabilityClasses = classes;
    p.withProbabilities = 1;
    const truth = String(y);
    if (!Object.hasOwn(probs, truth))
      throw new InvalidJobError(
        `A row's label ${JSON.stringify(y)} is not among its probabilities' classes ${JSON.stringify(classes)}.`,
      );
    // scikit-learn's log_loss: clip to [ε, 1 − ε], then renormalise the row.
    let sum = 0;
    for (const c of classes) sum += Math.min(Math.max(probs[c]!, EPS), 1 - EPS);
    add(p.logLoss, -Math.log(Math.min(Math.max(probs[truth]!, EPS), 1 - EPS) / sum));
    if (classes.length === 2) {
      const positive = sortClasses(
        classes.map((c) => (p.numeric && c.trim() !== '' && Number.isFinite(Number(c)) ? Number(c) : c)),
      )[1]!;
      const isPositive = String(positive) === truth;
      p.scores.push([probs[String(positive)]!, isPositive ? 1 : 0, isPositive ? 0 : 1]);
    }
  }
  return p;
}

/** The fold's accumulator: the partial's lists as maps, written back as the partial (toJSON). */
class Metrics {
  readonly p = empty();
  private readonly pairs = new Map<string, [Label, Label, number]>();
  private readonly scores = new Map<number, [number, number, number]>();

  merge(b: Partial | Metrics): this {
    if (b instanceof Metrics) b = b.toJSON();
    const a = this.p;
    a.rows += b.rows;
    a.unlabelled += b.unlabelled;
    if (b.kind !== null) {
      if (a.kind !== null && a.kind !== b.kind)
        throw new InvalidJobError(
          'Some predictions are classes (they have probabilities, or are not numbers) and others numbers: evaluate one model at a time, or give --param task=classification|regression.',
        );
      a.kind = b.kind;
      a.numeric &&= b.numeric;
    }
    for (const [t, q, n] of b.pairs) {
      const key = JSON.stringify([t, q]);
      const had = this.pairs.get(key);
      if (had) had[2] += n;
      else this.pairs.set(key, [t, q, n]);
    }
    if (b.withProbabilities > 0) {
      if (
        a.probabilityClasses &&
        [...a.probabilityClasses].sort().join('\n') !== [...b.probabilityClasses!].sort().join('\n')
      )
        throw new InvalidJobError(
          `Predictions give probabilities of different classes (${JSON.stringify(a.probabilityClasses)}, ${JSON.stringify(b.probabilityClasses)}): evaluate one model's predictions at a time.`,
        );
      a.probabilityClasses ??= b.probabilityClasses;
      a.withProbabilities += b.withProbabilities;
      add(a.logLoss, b.logLoss[0]);
      add(a.logLoss, b.logLoss[1]);
      for (const [score, pos, neg] of b.scores) {
        const had = this.scores.get(score);
        if (had) {
          had[1] += pos;
          had[2] += neg;
        } else this.scores.set(score, [score, pos, neg]);
      }
    }
    if (b.n > 0) {
      if (a.n === 0) {
        a.pivot = b.pivot;
        a.offset = b.offset;
        a.m2 = b.m2;
      } else {
        // Chan et al., the mean held as pivot + offset (see jobs/linear-regression.ts).
        const n = a.n + b.n;
        const delta = b.pivot - a.pivot + (b.offset - a.offset);
        a.offset += (delta * b.n) / n;
        a.m2 += b.m2 + (delta * delta * a.n * b.n) / n;
      }
      a.n += b.n;
      add(a.sse, b.sse[0]);
      add(a.sse, b.sse[1]);
      add(a.sae, b.sae[0]);
      add(a.sae, b.sae[1]);
    }
    return this;
  }

  toJSON(): Partial {
    return { ...this.p, pairs: [...this.pairs.values()], scores: [...this.scores.values()] };
  }
}

/** Folds partials into one accumulator (the first, when it is one already). */
function fold(_key: string, partials: Iterable<Partial | Metrics>): Metrics {
  let out: Metrics | undefined;
  for (const p of partials) {
    if (out === undefined && p instanceof Metrics) out = p;
    else (out ??= new Metrics()).merge(p);
  }
  return out ?? new Metrics();
}

export default defineJob({
  name: 'evaluate',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const task = ctx.params.task;
    if (task !== undefined && task !== 'classification' && task !== 'regression')
      throw new InvalidJobError(`--param task must be classification or regression (got "${task}").`);
    emit('metrics', ofRecord(record, task));
  },
  combine: fold,
  reduce(key: string, partials: Iterable<Partial | Metrics>, emit) {
    emit(key, metrics(fold(key, partials).toJSON()));
  },
  reducers: 1,
  output: { format: 'jsonl' },
});

/** The metrics of the merged partial. */
export function metrics(p: Partial): Record<string, unknown> {
  const base = { rows: p.rows, unlabelled: p.unlabelled };
  if (p.kind === 'regression') {
    const mse = total(p.sse) / p.n;
    const sst = p.m2;
    const sse = total(p.sse);
    // r2_score: 1 − SSE/SST; a constant target gives 1 when predicted exactly, else 0.
    const r2 = sst === 0 ? (sse === 0 ? 1 : 0) : 1 - sse / sst;
    return { ...base, task: 'regression', n: p.n, rmse: Math.sqrt(mse), mse, mae: total(p.sae) / p.n, r2 };
  }
  if (p.kind === null) return { ...base, task: null };
  const seen = new Set<Label>();
  for (const [t, q] of p.pairs) seen.add(t).add(q);
  const labels = sortClasses([...seen]);
  const at = new Map(labels.map((c, i) => [JSON.stringify(c), i]));
  const K = labels.length;
  const cm = labels.map(() => new Array<number>(K).fill(0));
  let n = 0;
  for (const [t, q, c] of p.pairs) {
    cm[at.get(JSON.stringify(t))!]![at.get(JSON.stringify(q))!]! += c;
    n += c;
  }
  const divide = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const perClass = labels.map((c, i) => {
    const tp = cm[i]![i]!;
    const predicted = cm.reduce((s, row) => s + row[i]!, 0);
    const support = cm[i]!.reduce((s, x) => s + x, 0);
    const precision = divide(tp, predicted);
    const recall = divide(tp, support);
    // scikit-learn: (1 + β²)·p·r / (β²·p + r), β = 1, and 0 where that is 0/0.
    const denom = precision + recall;
    const f1 = denom === 0 ? 0 : (2 * precision * recall) / denom;
    return { class: c, precision, recall, f1, support };
  });
  const average = (weights: number[]) => {
    const w = weights.reduce((s, x) => s + x, 0);
    const of = (k: 'precision' | 'recall' | 'f1') => perClass.reduce((s, c, i) => s + c[k] * weights[i]!, 0) / w;
    return { precision: of('precision'), recall: of('recall'), f1: of('f1') };
  };
  const out: Record<string, unknown> = {
    ...base,
    task: 'classification',
    n,
    accuracy: cm.reduce((s, row, i) => s + row[i]!, 0) / n,
    classes: labels,
    confusionMatrix: cm,
    perClass,
    macro: average(perClass.map(() => 1)),
    weighted: average(perClass.map((c) => c.support)),
  };
  if (p.withProbabilities > 0) {
    if (p.withProbabilities !== n)
      throw new InvalidJobError(`${n - p.withProbabilities} of ${n} predictions have no probabilities: no log-loss.`);
    out.logLoss = total(p.logLoss) / n;
  }
  if (p.scores.length > 0) {
    const positives = p.scores.reduce((s, e) => s + e[1], 0);
    const negatives = p.scores.reduce((s, e) => s + e[2], 0);
    if (positives > 0 && negatives > 0) {
      // Mann–Whitney: each positive over every negative it scores above, ties counting half.
      const sorted = [...p.scores].sort((a, b) => a[0] - b[0]);
      let below = 0;
      let pairs = 0;
      for (const [, pos, neg] of sorted) {
        pairs += pos * (below + neg / 2);
        below += neg;
      }
      out.rocAuc = pairs / (positives * negatives);
    } else out.rocAuc = null; // scikit-learn raises: one class only
  }
  return out;
}
