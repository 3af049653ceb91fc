/**
 * What the predict jobs do with each kind of model: the models read back from their files
 * (jobs/lib/model.ts), and one prediction per row or document. A prediction is the record
 *   {"key": <id>, "value": {"label": <the true label, when the row has one>, "prediction": …,
 *     "probabilities": {"<class>": p, …} (classifiers), …}}
 * which jobs/evaluate.ts reads.
 */
import { InvalidJobError, termCounts } from 'streaming';
import {
  type LogisticModel,
  logisticModel,
  probabilities as logisticProbabilities,
  scores as logisticScores,
} from './logistic.js';
import type { ModelHeader, ModelRecord } from './model.js';
import { nearestCenter } from './numeric.js';
import type { Label } from './vectors.js';

/** The probabilities by class, as a record: classes are data, so no prototype to collide with. */
export function byClass(classes: Label[], p: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  classes.forEach((c, k) => {
    out[String(c)] = p[k]!;
  });
  return out;
}

/** Index of the largest entry (ties: the first, as numpy's argmax). */
export function argmax(v: ArrayLike<number>, n = v.length): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (v[k]! > v[best]!) best = k;
  return best;
}

export interface Prediction {
  label?: Label;
  prediction: Label;
  probabilities?: Record<string, number>;
  [more: string]: unknown;
}

/** Logistic regression: the most probable class and every class's probability. */
export function predictLogistic(
  m: LogisticModel,
  indices: number[],
  values: number[],
  label: Label | undefined,
  z: Float64Array,
  p: Float64Array,
): Prediction {
  logisticScores(m, indices, values, z);
  logisticProbabilities(m, z, p);
  const k = argmax(p, m.classes.length);
  return withLabel(label, {
    prediction: m.classes[k]!,
    probabilities: byClass(m.classes, p.subarray(0, m.classes.length)),
  });
}

export const withLabel = (label: Label | undefined, p: Prediction): Prediction =>
  label === undefined ? p : { label, ...p };

export interface NaiveBayesModel {
  classes: string[];
  priors: Float64Array;
  /** term → log P(term | class), in the order of `classes`. */
  likelihoods: Map<string, Float64Array>;
}

export function naiveBayesModel(header: ModelHeader, entries: ModelRecord[], where: string): NaiveBayesModel {
  const classes = header.classes as string[];
  const priors = new Float64Array(classes.length).fill(Number.NaN);
  const likelihoods = new Map<string, Float64Array>();
  const at = new Map(classes.map((c, k) => [c, k]));
  for (const { key, value } of entries) {
    if (key[0] === 'prior') priors[at.get(key[1] as string)!] = value as number;
    else if (key[0] === 'term') {
      const logp = value as Record<string, number>;
      likelihoods.set(
        key[1] as string,
        Float64Array.from(classes, (c) => (Object.hasOwn(logp, c) ? logp[c]! : Number.NaN)),
      );
    }
  }
  if (priors.some(Number.isNaN)) throw new InvalidJobError(`${where}: the model lacks a class's prior: is it whole?`);
  return { classes, priors, likelihoods };
}

/**
 * Multinomial Naive Bayes: argmax over c of the joint log likelihood log prior(c) + Σ count(t)·
 * log P(t | c) over the document's tokens in the vocabulary (others ignored); probabilities
 * exp(jll − logsumexp(jll)) (scikit-learn's predict_proba); with `scores`, the jll too.
 */
export function predictNaiveBayes(
  m: NaiveBayesModel,
  text: string,
  label: Label | undefined,
  withScores: boolean,
): Prediction {
  const jll = Float64Array.from(m.priors);
  for (const [term, n] of termCounts(text)) {
    const logp = m.likelihoods.get(term);
    if (logp) for (let c = 0; c < jll.length; c++) jll[c]! += n * logp[c]!;
  }
  const best = argmax(jll);
  const max = jll[best]!;
  let sum = 0;
  for (const s of jll) sum += Math.exp(s - max);
  const lse = max + Math.log(sum);
  const p = jll.map((s) => Math.exp(s - lse));
  const out: Prediction = { prediction: m.classes[best]!, probabilities: byClass(m.classes, p) };
  if (withScores) out.scores = byClass(m.classes, jll);
  return withLabel(label, out);
}

export interface LinearRegressionModel {
  target: string;
  features: string[];
  intercept: number;
  coefficients: number[];
}

export function linearRegressionModel(header: ModelHeader): LinearRegressionModel {
  const features = header.features as string[];
  const c = header.coefficients as Record<string, number>;
  return {
    target: header.target as string,
    features,
    intercept: header.intercept as number,
    coefficients: features.map((f) => c[f]!),
  };
}

export interface KMeansModel {
  features: string[];
  centroids: number[][];
}

export function kmeansModel(header: ModelHeader, entries: ModelRecord[], where: string): KMeansModel {
  const centroids: number[][] = [];
  for (const { key, value } of entries)
    if (key[0] === 'centroid') centroids[key[1] as number] = (value as { centroid: number[] }).centroid;
  if (centroids.length !== header.k || Array.from(centroids).some((c) => c === undefined))
    throw new InvalidJobError(`${where}: the model names ${header.k} centroids and holds ${centroids.length}.`);
  return { features: header.features as string[], centroids };
}

/** The nearest centroid (squared Euclidean distance; ties: the lowest index) and the distance to it. */
export function nearest(centroids: number[][], x: number[]): { cluster: number; distance: number } {
  const [d2, cluster] = nearestCenter(centroids, x);
  return { cluster, distance: Math.sqrt(d2) };
}

export { logisticModel };
