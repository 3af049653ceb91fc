/**
 * Logistic regression (binary, and multinomial for three classes or more) with an L2 penalty,
 * scikit-learn's `LogisticRegression(C=…)`: trained over the data by a driver,
 * `trainLogisticRegression()` below, that runs this job once per evaluation of the objective —
 * a pass summing the loss and its gradient (and, for Newton's method, its Hessian) at the
 * current weights — and steps with L-BFGS or Newton's method, as Spark MLlib does.
 *
 * The job, run by hand, is one pass (jobs/lib/logistic-pass.ts): over feature vectors (the
 * output of tfidf, hashing-vectorizer, preprocess-transform), with `--param model=<weights>`.
 * jobs/logistic-regression-csv.ts is the same pass over CSV columns. Prediction:
 * jobs/predict.ts with the model this driver writes.
 *
 * Model file (the driver's output; docs/jobs-ml.md):
 *   {"key": ["model"], "value": {"type": "logistic-regression", "version": 1, "classes": […],
 *     "multinomial": …, "features": {"size": d} or {"columns": […]}, "C": …, "solver": …, …}}
 *   {"key": ["coefficients", k], "value": {"class": …, "intercept": b, "indices": […], "values": […]}}
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidJobError, type LocalRunOptions, runLocal } from 'streaming';
import { driverArgs, isMain, numberArg } from './lib/driver-cli.js';
import { outputText, sibling, writeModel } from './lib/drivers.js';
import { type LogisticModel, modelOf, modelRecords } from './lib/logistic.js';
import { passJob, type Row } from './lib/logistic-pass.js';
import { type Evaluation, lbfgs, type MinimizeResult, maxAbs, newton } from './lib/optimize.js';
import { sortClasses } from './lib/order.js';
import { type Label, vectorOf } from './lib/vectors.js';

export default passJob('logistic-regression', 'jsonl', (record, ctx): Row => vectorOf(record, ctx));

export interface TrainLogisticRegressionOptions {
  /** Feature vectors (jsonl), or with `features` a CSV table. */
  input: string | string[];
  /** Where the model is written: `<output>/part-r-00000` and `_SUCCESS`, like a job's output. */
  output: string;
  /** Inverse of the regularisation strength, as scikit-learn's C. @default 1 */
  C?: number;
  /** Stop when every |∂f/∂x_i| <= tol, f = mean loss + ‖W‖²/(2·C·n). @default 1e-6 */
  tol?: number;
  /** @default 100 */
  maxIterations?: number;
  /**
   * `newton` (a pass also sums the Hessian: for few parameters), `lbfgs`, or `auto`: Newton
   * up to 100 parameters (classes × (features + 1)), L-BFGS above. @default 'auto'
   */
  solver?: 'auto' | 'newton' | 'lbfgs';
  /** CSV input: the feature columns (then `label` names the class column). */
  features?: string[];
  label?: string;
  /** Options of each pass's run (workers, splitSize, …). */
  run?: Partial<LocalRunOptions>;
  /**
   * Where the passes write (weights in, sums out); removed at the end unless given.
   * @default a new temporary directory
   */
  workDir?: string;
  /** The pass job modules. Needed only when this module is bundled into a program. */
  jobs?: { vectors: string; csv: string };
  /** Called after each step with the objective and the largest gradient entry. */
  onIteration?(state: { iteration: number; f: number; gradientNorm: number; evaluations: number }): void;
}

export interface TrainLogisticRegressionResult {
  classes: Label[];
  /** Accepted steps, and passes over the data (the scan and the line searches' included). */
  iterations: number;
  passes: number;
  converged: boolean;
  reason: string;
  /** The objective, C·Σ loss + ½‖W‖² (scikit-learn's), at the end. */
  objective: number;
  gradientNorm: number;
  solver: 'newton' | 'lbfgs';
  /** Seconds of each pass, in order. */
  passSeconds: number[];
  model: LogisticModel;
}

/**
 * Trains on the local engine: a scan (classes, features, rows), then one pass per evaluation
 * until the gradient is below `tol`. Writes the model to `output`.
 */
export async function trainLogisticRegression(
  o: TrainLogisticRegressionOptions,
): Promise<TrainLogisticRegressionResult> {
  const C = o.C ?? 1;
  if (!(C > 0)) throw new InvalidJobError(`C must be a number > 0 (got ${o.C}).`);
  const tol = o.tol ?? 1e-6;
  const csv = o.features !== undefined;
  if (csv && (!o.label || o.features!.length === 0))
    throw new InvalidJobError('CSV input needs features (the columns) and label (the class column).');
  const jobPath = csv
    ? (o.jobs?.csv ?? sibling(import.meta.url, 'logistic-regression', 'logistic-regression-csv', 'jobs.csv'))
    : (o.jobs?.vectors ?? sibling(import.meta.url, 'logistic-regression', 'logistic-regression', 'jobs.vectors'));
  const work = o.workDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'streaming-logistic-')));
  await fs.mkdir(work, { recursive: true });
  const passSeconds: number[] = [];
  const baseParams = { ...o.run?.params, ...(csv ? { features: o.features!.join(','), label: o.label! } : {}) };

  /** One pass: its single output record. */
  const pass = async (params: Record<string, string>): Promise<unknown> => {
    const output = path.join(work, `pass-${passSeconds.length}`);
    const started = performance.now();
    const { manifest } = await runLocal(jobPath, {
      ...o.run,
      input: o.input,
      output,
      overwrite: true,
      params: { ...baseParams, ...params },
    });
    const text = await outputText(manifest);
    passSeconds.push((performance.now() - started) / 1000);
    await fs.rm(output, { recursive: true, force: true });
    const lines = text.split('\n').filter((l) => l !== '');
    if (lines.length !== 1) throw new InvalidJobError(`${o.input}: no rows to train on.`);
    return (JSON.parse(lines[0]!) as { value: unknown }).value;
  };

  try {
    const scan = (await pass({})) as { rows: number; size: number; labels: [string, number, boolean][] };
    const classes = sortClasses(scan.labels.map(([l, , numeric]) => (numeric ? Number(l) : l)));
    if (classes.length < 2)
      throw new InvalidJobError(
        `Logistic regression needs at least two classes; the rows have ${classes.length === 0 ? 'no label' : `only ${JSON.stringify(classes[0])}`}.`,
      );
    const n = scan.rows;
    const size = csv ? o.features!.length : scan.size;
    const rows = classes.length > 2 ? classes.length : 1;
    const P = rows * (size + 1);
    const solver = o.solver === undefined || o.solver === 'auto' ? (P <= 100 ? 'newton' : 'lbfgs') : o.solver;
    const isIntercept = (i: number) => i % (size + 1) === size;
    const fields = (extra: Record<string, unknown>) => ({
      ...(csv ? { label: o.label } : {}),
      C,
      solver,
      tol,
      rows: n,
      ...extra,
    });

    let evaluation = 0;
    const evaluate = async (x: Float64Array): Promise<Evaluation> => {
      const weights = path.join(work, `weights-${evaluation++}.jsonl`);
      const m = modelOf(classes, size, o.features, x, fields({}));
      await fs.writeFile(
        weights,
        modelRecords(m)
          .map((r) => `${JSON.stringify(r)}\n`)
          .join(''),
      );
      const sums = (await pass({ model: weights, ...(solver === 'newton' ? { hessian: 'true' } : {}) })) as {
        rows: number;
        loss: [number, number];
        g: number[] | { n: number; i: number[]; v: number[] };
        h?: number[] | { n: number; i: number[]; v: number[] };
      };
      await fs.rm(weights, { force: true });
      // f = (Σ loss + ‖W‖²/(2C)) / n, its gradient and Hessian likewise.
      let penalty = 0;
      for (let i = 0; i < P; i++) if (!isIntercept(i)) penalty += x[i]! * x[i]!;
      const f = (sums.loss[0] + sums.loss[1] + penalty / (2 * C)) / n;
      const g = decode(sums.g, P);
      for (let i = 0; i < P; i++) g[i] = (g[i]! + (isIntercept(i) ? 0 : x[i]! / C)) / n;
      if (!sums.h) return { f, g };
      const h = decode(sums.h, P * P);
      for (let i = 0; i < P * P; i++) h[i]! /= n;
      for (let i = 0; i < P; i++) if (!isIntercept(i)) h[i * P + i]! += 1 / (C * n);
      return { f, g, h };
    };
    const x0 = new Float64Array(P);
    const common = { x0, evaluate, tol, maxIterations: o.maxIterations ?? 100, onIteration: o.onIteration };
    let result: MinimizeResult;
    if (solver === 'newton') {
      // A multinomial model's intercepts all moved together change no probability: flat.
      const flat = rows > 1 ? [Float64Array.from({ length: P }, (_, i) => (isIntercept(i) ? 1 : 0))] : [];
      result = await newton({ ...common, flat });
    } else result = await lbfgs(common);

    const objective = result.f * C * n;
    const model = modelOf(
      classes,
      size,
      o.features,
      result.x,
      fields({
        iterations: result.iterations,
        passes: passSeconds.length,
        converged: result.converged,
        reason: result.reason,
        objective,
        gradientNorm: maxAbs(result.g),
      }),
    );
    await writeModel(o.output, modelRecords(model));
    return {
      classes,
      iterations: result.iterations,
      passes: passSeconds.length,
      converged: result.converged,
      reason: result.reason,
      objective,
      gradientNorm: maxAbs(result.g),
      solver,
      passSeconds,
      model,
    };
  } finally {
    if (o.workDir === undefined) await fs.rm(work, { recursive: true, force: true });
  }
}

function decode(e: number[] | { n: number; i: number[]; v: number[] }, length: number): Float64Array {
  const out = new Float64Array(length);
  if (Array.isArray(e)) out.set(e);
  else
    e.i.forEach((j, k) => {
      out[j] = e.v[k]!;
    });
  return out;
}

const USAGE = `Usage: node dist/jobs/logistic-regression.js --input <path>... --output <dir> [options]

Trains logistic regression (L2 penalty; binary, or multinomial for 3+ classes) on the local
engine, a pass over the input per evaluation, and writes the model to <dir>. The input is
feature vectors (the output of tfidf, tfidf-transform, hashing-vectorizer, preprocess-transform),
or a CSV table with --param features and --param label.

  -p, --param C=<number>            inverse regularisation strength, scikit-learn's C   [default: 1]
  -p, --param tol=<number>          stop when every gradient entry of the mean objective
                                    is below it                                           [default: 1e-6]
  -p, --param maxIterations=<n>                                                           [default: 100]
  -p, --param solver=auto|newton|lbfgs   auto: Newton up to 100 parameters               [default: auto]
  -p, --param features=<a,b,…>      CSV input: the feature columns
  -p, --param label=<column>        CSV input: the class column
  -w, --workers <n>                 worker threads of each pass                           [default: one per core]
      --split-size <bytes>          bytes per map task                                    [default: 64 MiB]
`;

async function main(argv: string[]): Promise<void> {
  const args = driverArgs(argv, USAGE);
  const p = args.params;
  const unknown = Object.keys(p).filter(
    (k) => !['C', 'tol', 'maxIterations', 'solver', 'features', 'label'].includes(k),
  );
  if (unknown.length > 0) throw new InvalidJobError(`Unknown --param ${unknown.join(', ')}.\n\n${USAGE}`);
  const solver = p.solver ?? 'auto';
  if (solver !== 'auto' && solver !== 'newton' && solver !== 'lbfgs')
    throw new InvalidJobError(`--param solver must be auto, newton or lbfgs (got "${solver}").`);
  const r = await trainLogisticRegression({
    input: args.input,
    output: args.output,
    C: numberArg(p, 'C', 1),
    tol: numberArg(p, 'tol', 1e-6),
    maxIterations: numberArg(p, 'maxIterations', 100),
    solver,
    ...(p.features ? { features: p.features.split(',').map((f) => f.trim()), label: p.label } : {}),
    run: args.run,
    onIteration: (s) =>
      process.stdout.write(
        `iteration ${s.iteration}: objective ${s.f.toPrecision(12)}, max |gradient| ${s.gradientNorm.toExponential(2)}, ${s.evaluations} passes\n`,
      ),
  });
  const seconds = r.passSeconds.reduce((a, b) => a + b, 0);
  process.stdout.write(
    [
      `classes ${JSON.stringify(r.classes)}, ${r.model.size} features, ${r.model.header.rows} rows (${r.solver})`,
      `${r.converged ? 'converged' : 'stopped'} after ${r.iterations} iterations: ${r.reason}`,
      `objective C·Σ loss + ½‖w‖² = ${r.objective}`,
      `${r.passes} passes over the data in ${seconds.toFixed(1)} s (${(seconds / r.passes).toFixed(2)} s each)`,
      `model written to ${args.output}`,
      '',
    ].join('\n'),
  );
}

if (isMain(import.meta.url))
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`logistic-regression: ${e.message}\n`);
    process.exit(1);
  });
