/**
 * docs/jobs-ml.md's end-to-end example, run as the page writes it: its marked shell block, in
 * a scratch directory, with `streaming` the built CLI — raw SpamAssassin messages, tf-idf
 * fitted on the training ones, logistic regression, predictions for the held-out ones, their
 * metrics — and the results held against scikit-learn's on the same data (fixtures made by
 * test/fixtures/ml/make_sklearn_fixtures.py) and against the figures the page shows.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { outputLines, ROOT, tempDir } from './helpers.js';
import { expectClose, sklearnFixture } from './ml-fixtures.js';

const PAGE = path.join(ROOT, 'docs', 'jobs-ml.md');
const MARK = '<!-- end-to-end: test/jobs-ml-e2e.test.ts runs the next block as it is -->';

/** The page's marked block: its commands, and the output lines it shows (comments) after each. */
function example(): { commands: string[]; shown: string[] } {
  const page = fs.readFileSync(PAGE, 'utf8');
  const at = page.indexOf(MARK);
  expect(at).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(page.slice(at))![1]!;
  const lines = block.split('\n').filter((l) => l.trim() !== '');
  return {
    commands: lines.filter((l) => !l.startsWith('#')),
    shown: lines.filter((l) => l.startsWith('# ')).map((l) => l.slice(2)),
  };
}

/** `value` with each number matched to 1e-9. */
function figuresClose(value: unknown): unknown {
  if (typeof value === 'number') return expect.closeTo(value, 9);
  if (Array.isArray(value)) return value.map(figuresClose);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, figuresClose(v)]));
  return value;
}

interface Spam {
  classes: string[];
  features: number;
  intercept: number;
  coefficients: Record<string, number>;
  'max |coefficient|': number;
  objective: number;
  'test probabilities of spam': Record<string, number>;
}

it(
  'runs docs/jobs-ml.md’s example: raw text → tf-idf → logistic regression → predictions → metrics, equal to scikit-learn’s',
  () => {
    const { commands, shown } = example();
    expect(commands.length).toBeGreaterThanOrEqual(7);
    // The page's paths are relative to the repository root: a scratch directory that looks like it.
    const cwd = tempDir('streaming-e2e-');
    for (const d of ['jobs', 'docs', 'dist', 'node_modules', 'package.json'])
      fs.symlinkSync(path.join(ROOT, d), path.join(cwd, d));
    const script = [
      'set -e',
      `streaming() { node "${path.join(ROOT, 'dist', 'sdk', 'cli.js')}" "$@"; }`,
      ...commands,
    ].join('\n');
    const printed = execFileSync('sh', ['-c', script], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });

    // The model equals scikit-learn's LogisticRegression(C=1) on TfidfVectorizer(min_df=5) vectors.
    const spam = sklearnFixture<{ spam: Spam }>('logistic').spam;
    const model = outputLines(path.join(cwd, 'out', 'spam-model')).map(
      (l) => JSON.parse(l) as { key: unknown[]; value: Record<string, unknown> },
    );
    const header = model[0]!.value;
    expect(header).toMatchObject({
      type: 'logistic-regression',
      classes: spam.classes,
      features: { size: spam.features },
    });
    const row = model[1]!.value as { intercept: number; indices: number[]; values: number[] };
    const w = new Map(row.indices.map((j, i) => [j, row.values[i]!]));
    for (const [j, c] of Object.entries(spam.coefficients))
      expect(Math.abs((w.get(Number(j)) ?? 0) - c)).toBeLessThan(1e-6 * spam['max |coefficient|']);
    expectClose(row.intercept, spam.intercept, 1e-6);
    expectClose(header.objective as number, spam.objective, 1e-9);

    // Its probabilities for the held-out messages are scikit-learn's predict_proba.
    const predictions = new Map(
      outputLines(path.join(cwd, 'out', 'predictions')).map((l) => {
        const { key, value } = JSON.parse(l) as { key: string; value: { probabilities: { spam: number } } };
        return [key, value.probabilities.spam];
      }),
    );
    for (const [id, p] of Object.entries(spam['test probabilities of spam']))
      expectClose(predictions.get(id)!, p, 1e-6, 1e-4, id);

    // The metrics are scikit-learn's on scikit-learn's predictions (the same, to 1e-6).
    const metrics = JSON.parse(fs.readFileSync(path.join(cwd, 'out', 'metrics', 'part-r-00000'), 'utf8')).value;
    const expected =
      sklearnFixture<Record<string, { metrics: Record<string, unknown> }>>('metrics')['spam (binary)']!.metrics;
    expect(metrics.confusionMatrix).toEqual(expected.confusionMatrix);
    expect(metrics.accuracy).toBe(expected.accuracy);
    expectClose(metrics.rocAuc, expected.rocAuc as number, 1e-6);
    expectClose(metrics.logLoss, expected.logLoss as number, 1e-6);

    // And the page shows what the commands print (times aside): the metrics line as it is, its
    // figures to 1e-9 (their last digits follow the training's summation order, which the plan's
    // splits decide; the model is held to scikit-learn's above).
    const page = shown.find((l) => l.startsWith('{"key":"metrics"'));
    expect(page).toBeDefined();
    expect(JSON.parse(page!)).toEqual(
      figuresClose(JSON.parse(fs.readFileSync(path.join(cwd, 'out', 'metrics', 'part-r-00000'), 'utf8'))),
    );
    for (const line of shown.filter((l) => /^ {2}counters |^classes /.test(l))) expect(printed).toContain(line);
    // How many iterations L-BFGS takes to reach the tolerance follows the same summation order.
    expect(shown.some((l) => /^converged after \d+ iterations: max \|gradient\| \S+ <= tol$/.test(l))).toBe(true);
    expect(printed).toMatch(/converged after \d+ iterations: max \|gradient\| \S+ <= tol/);
    fs.rmSync(cwd, { recursive: true, force: true });
  },
  30 * 60_000,
);
