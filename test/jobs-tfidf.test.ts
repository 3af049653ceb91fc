/**
 * TF-IDF as a fitted model: tfidf-fit writes the vocabulary and idf, tfidf-transform applies
 * them to other documents (unseen terms ignored), tfidf does both in one run. Compared with
 * scikit-learn's TfidfVectorizer (fixtures made by test/fixtures/ml/make_sklearn_fixtures.py)
 * on SpamAssassin, and with an in-memory computation written here.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { type Doc, spamAssassin, writeJsonl } from './datasets.js';
import { outputLines, tempDir } from './helpers.js';
import { byCodePoint, expectClose, job, sklearnFixture, sortedLines, vectorsById } from './ml-fixtures.js';

interface TfidfFixture {
  configs: {
    name: string;
    params: Record<string, string>;
    terms: number;
    'vocabulary sha256': string;
    idf: Record<string, number>;
    rows: Record<string, { indices: number[]; values: number[] }>;
  }[];
}

interface ModelLine {
  key: [string, string?];
  value: { index: number; df: number; idf: number } & Record<string, unknown>;
}

/** A tf-idf model file: its header and its terms in index order. */
function readModel(dir: string): { header: Record<string, unknown>; terms: [string, ModelLine['value']][] } {
  const lines = outputLines(dir).map((l) => JSON.parse(l) as ModelLine);
  const headers = lines.filter((l) => l.key[0] === 'model');
  expect(headers).toHaveLength(1);
  const terms = lines
    .filter((l) => l.key[0] === 'term')
    .map((l) => [l.key[1]!, l.value] as [string, ModelLine['value']])
    .sort((a, b) => a[1].index - b[1].index);
  terms.forEach(([, v], i) => {
    expect(v.index).toBe(i);
  });
  return { header: headers[0]!.value, terms };
}

const sha256 = (lines: string[]) => createHash('sha256').update(lines.join('\n')).digest('hex');

let dir: string;
let train: Doc[];
let test: Doc[];
let trainInput: string;
let testInput: string;
beforeAll(() => {
  dir = tempDir();
  ({ train, test } = spamAssassin());
  trainInput = writeJsonl(dir, 'train', train);
  testInput = writeJsonl(dir, 'test', test);
});

describe('tfidf-fit and tfidf-transform', () => {
  const fixture = sklearnFixture<TfidfFixture>('tfidf');
  for (const config of fixture.configs) {
    it(`fit on training messages, applied to held-out ones, equal scikit-learn's TfidfVectorizer (${config.name})`, async () => {
      // Act
      const model = path.join(dir, `model-${config.name}`);
      const vectors = path.join(dir, `vectors-${config.name}`);
      await runLocal(job('tfidf-fit'), {
        input: trainInput,
        output: model,
        params: config.params,
        splitSize: 4 << 20,
        workers: 2,
        reducers: 3,
      });
      const applied = await runLocal(job('tfidf-transform'), {
        input: testInput,
        output: vectors,
        params: { model },
        splitSize: 2 << 20,
        workers: 2,
      });
      // Assess: the same vocabulary in the same order, the same idf, the same vectors.
      const { header, terms } = readModel(model);
      expect(header).toMatchObject({ type: 'tfidf', documents: train.length, terms: config.terms });
      expect(terms).toHaveLength(config.terms);
      expect(sha256(terms.map(([t]) => t))).toBe(config['vocabulary sha256']);
      const byTerm = new Map(terms);
      for (const [t, idf] of Object.entries(config.idf)) expectClose(byTerm.get(t)!.idf, idf, 1e-12, 0, t);
      const got = vectorsById(vectors);
      expect(got.size).toBe(test.length);
      for (const [id, row] of Object.entries(config.rows)) {
        const v = got.get(id)!;
        expect([id, v.size, v.indices]).toEqual([id, config.terms, row.indices]);
        v.values.forEach((x, i) => {
          expectClose(x, row.values[i]!, 1e-12, 0, `${id}[${row.indices[i]}]`);
        });
        expect(v.label).toBe(test.find((d) => d.id === id)!.label);
      }
      // Terms of the held-out messages the training ones never had are ignored, and counted.
      expect(applied.manifest.counters['unseen terms']).toBeGreaterThan(1000);
    });
  }

  it('depend on neither workers nor splits nor reducers, and one run (fit, apply) equals the two', async () => {
    const params = { minDf: '3', ngramRange: '1,2', maxFeatures: '5000' };
    const small = train.slice(0, 1200);
    const input = writeJsonl(dir, 'small', small);
    const heldOut = writeJsonl(dir, 'small-test', test.slice(0, 300));
    const fitOn = (name: string, opts: object) =>
      runLocal(job('tfidf-fit'), { input, output: path.join(dir, name), params, ...opts });
    await fitOn('one', { workers: 1, splitSize: 1 << 30, reducers: 1 });
    await fitOn('many', { workers: 2, splitSize: 64 << 10, reducers: 7 });
    const model = (name: string) => fs.readFileSync(path.join(dir, name, 'part-r-00000'), 'utf8');
    expect(model('many')).toBe(model('one'));
    expect(readModel(path.join(dir, 'one')).terms).toHaveLength(5000);

    await runLocal(job('tfidf-transform'), {
      input: heldOut,
      output: path.join(dir, 'applied'),
      params: { model: path.join(dir, 'one') },
      workers: 2,
      splitSize: 32 << 10,
    });
    const once = await runLocal(job('tfidf'), {
      input,
      output: path.join(dir, 'in-one-run'),
      params: { ...params, apply: heldOut },
      workers: 2,
      splitSize: 100 << 10,
    });
    expect(once.steps!.map((s) => s.manifest.job)).toEqual(['tfidf-counts', 'tfidf-vocabulary', 'tfidf-transform']);
    expect(sortedLines(path.join(dir, 'in-one-run'))).toEqual(sortedLines(path.join(dir, 'applied')));
    expect(outputLines(path.join(dir, 'applied'))).toHaveLength(300);
  });

  it('refuses bad params with what to write instead, and a pruning that keeps no term', async () => {
    const input = writeJsonl(dir, 'few', train.slice(0, 50));
    const run = (params: Record<string, string>) =>
      runLocal(job('tfidf-fit'), {
        input,
        output: path.join(dir, 'refused'),
        params,
        workers: 1,
        overwrite: true,
      }).then(
        () => undefined,
        (e: unknown) => `${(e as { errorType: string }).errorType}: ${(e as Error).message}`,
      );
    expect(await run({ minDf: '1.5' })).toMatch(/InvalidJobError: .*minDf must be .* proportion .*got "1.5"/);
    expect(await run({ minDf: '10', maxDf: '5' })).toMatch(/maxDf=5 corresponds to fewer documents/);
    expect(await run({ ngramRange: '2' })).toMatch(/ngramRange must be <min>,<max>/);
    expect(await run({ minDf: '51' })).toMatch(/maxDf=1.0 corresponds to fewer documents \(50\) than minDf=51/);
    const three = writeJsonl(dir, 'three', [
      { id: 'a', text: 'aa bb' },
      { id: 'b', text: 'aa cc' },
      { id: 'c', text: 'aa dd' },
    ]);
    await expect(
      runLocal(job('tfidf-fit'), { input: three, output: path.join(dir, 'none'), params: { minDf: '2', maxDf: '2' } }),
    ).rejects.toMatchObject({ errorType: 'InvalidJobError' });
    expect(await run({})).toBeUndefined();
  });
});

describe('tfidf', () => {
  it('gives the State of the Union addresses TfidfVectorizer’s vectors, computed here in memory', async () => {
    const { stateOfTheUnion } = await import('./datasets.js');
    const sotu: Doc[] = stateOfTheUnion();
    sotu.push({ id: 'empty', text: '— ? !' }); // no tokens: an empty vector
    const out = path.join(dir, 'sotu-vectors');
    await runLocal(job('tfidf'), {
      input: writeJsonl(dir, 'sotu', sotu),
      output: out,
      splitSize: 2 << 20,
      workers: 2,
      reducers: 3,
    });
    // In memory: tokens by the regular expression, vocabulary in code point order, smooth idf, L2.
    const tokensOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}_]{2,}/gu) ?? [];
    const df = new Map<string, number>();
    for (const d of sotu) for (const t of new Set(tokensOf(d.text))) df.set(t, (df.get(t) ?? 0) + 1);
    const vocabulary = [...df.keys()].sort(byCodePoint);
    const index = new Map(vocabulary.map((t, i) => [t, i]));
    const n = sotu.length;
    const got = vectorsById(out);
    expect(got.size).toBe(n);
    for (const d of sotu) {
      const tf = new Map<string, number>();
      for (const t of tokensOf(d.text)) tf.set(t, (tf.get(t) ?? 0) + 1);
      const w = [...tf].map(([t, c]) => [index.get(t)!, c * (Math.log((1 + n) / (1 + df.get(t)!)) + 1)] as const);
      w.sort((a, b) => a[0] - b[0]);
      const norm = Math.hypot(...w.map(([, x]) => x));
      const row = got.get(d.id)!;
      expect(row.size).toBe(vocabulary.length);
      expect(row.indices).toEqual(w.map(([i]) => i));
      row.values.forEach((x, i) => {
        expectClose(x, w[i]![1] / norm);
      });
    }
    expect(got.get('empty')).toEqual({ size: vocabulary.length, indices: [], values: [] });
  });
});
