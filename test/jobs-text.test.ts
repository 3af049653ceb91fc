/**
 * The built-in text jobs on real documents, each compared with an independent in-memory
 * computation written here (its own tokenizer, hash and formulas, not the SDK's).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { type Doc, spamAssassin, stateOfTheUnion, writeJsonl } from './datasets.js';
import { outputLines, ROOT, tempDir } from './helpers.js';

const job = (name: string) => path.join(ROOT, 'jobs', `${name}.ts`);
const TOKEN = /[\p{L}\p{N}_]{2,}/gu;
const tokensOf = (text: string) => text.toLowerCase().match(TOKEN) ?? [];
const OPTS = { splitSize: 2 << 20, workers: 2, reducers: 3 };

function countsOf(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tokensOf(text)) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** Output lines {"key", "value"} as a map by key. */
function jsonlByKey<V>(dir: string): Map<string, V> {
  const m = new Map<string, V>();
  for (const line of outputLines(dir)) {
    const { key, value } = JSON.parse(line) as { key: unknown; value: V };
    const k = typeof key === 'string' ? key : JSON.stringify(key);
    expect(m.has(k)).toBe(false);
    m.set(k, value);
  }
  return m;
}

/** Feature vector records ({"size", "indices", "values"}) by key, each as {index: value}. */
function vectorsByKey(dir: string): Map<string, Record<string, number>> {
  const m = new Map<string, Record<string, number>>();
  for (const [k, v] of jsonlByKey<{ indices: number[]; values: number[] }>(dir)) {
    for (let i = 1; i < v.indices.length; i++) expect(v.indices[i]!).toBeGreaterThan(v.indices[i - 1]!);
    m.set(k, Object.fromEntries(v.indices.map((j, i) => [String(j), v.values[i]!])));
  }
  return m;
}

function expectClose(actual: number, expected: number, rel = 1e-9): void {
  if (Math.abs(actual - expected) > rel * Math.max(Math.abs(expected), 1e-300))
    throw new Error(
      `expected ${expected}, got ${actual} (relative error ${Math.abs(actual - expected) / Math.abs(expected)})`,
    );
}

function expectVector(actual: Record<string, number>, expected: Map<string | number, number>): void {
  expect(Object.keys(actual).length).toBe(expected.size);
  for (const [k, v] of expected) expectClose(actual[String(k)]!, v);
}

let dir: string;
let sotu: Doc[];
let sotuInput: string;
beforeAll(() => {
  dir = tempDir();
  sotu = stateOfTheUnion();
  // One address with no tokens at all, to see it still gets a (empty) vector.
  sotu.push({ id: 'empty', text: '— ? !' });
  sotuInput = writeJsonl(dir, 'sotu', sotu);
});

describe('inverted-index', () => {
  it('maps every term of the State of the Union addresses to the sorted ids of the addresses holding it', async () => {
    await runLocal(job('inverted-index'), { input: sotuInput, output: path.join(dir, 'index'), ...OPTS });
    const expected = new Map<string, string[]>();
    for (const d of sotu)
      for (const t of new Set(tokensOf(d.text))) expected.set(t, [...(expected.get(t) ?? []), d.id]);
    const got = jsonlByKey<string[]>(path.join(dir, 'index'));
    expect(got.size).toBe(expected.size);
    for (const [t, ids] of expected) expect(got.get(t)).toEqual(ids.sort());
    expect(got.get('the')).toEqual(sotu.filter((d) => d.id !== 'empty').map((d) => d.id));
  });
});

/** MurmurHash3 x86 32-bit (Austin Appleby's reference algorithm) over bytes, signed. */
function murmur3Reference(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < blocks; i++) {
    let k = view.getUint32(i * 4, true);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  // The tail (1 to 3 bytes), as the reference's fall-through switch reads it.
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[tail + 2]! << 16;
    if (rest >= 2) k ^= bytes[tail + 1]! << 8;
    k ^= bytes[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

describe('hashing-vectorizer', () => {
  it("gives the rows scikit-learn's HashingVectorizer printed for published examples", async () => {
    // HashingVectorizer(n_features=8, norm=None[, alternate_sign=False]).transform(...).toarray(),
    // as printed in a public scikit-learn notebook (thismohsin/python-data-analysts,
    // m4-demo4-HashingVectorizer.ipynb); "Don’t" is "don" and a one-letter "t" (no token).
    const quotes = [
      'The Pessimist Sees Difficulty In Every Opportunity.',
      'The Optimist Sees Opportunity In Every Difficulty.',
      'Don’t Let Yesterday Take Up Too Much Of Today. ',
      'You Learn More From Failure Than From Success.',
      'We May Encounter Many Defeats But We Must Not Be Defeated.',
      'Life Is Either A Daring Adventure Or Nothing.',
    ];
    const signed = [
      [0, 2, 1, -1, -1, 1, -1, 0],
      [0, 2, 0, -1, -1, 1, -1, -1],
      [-1, -1, 0, 0, 2, 1, -1, -1],
      [0, 0, 0, -1, 0, 0, 0, -1],
      [1, 1, 0, -2, 1, 1, 1, 2],
      [-1, 0, 0, 0, 1, 1, -1, 1],
    ];
    const unsigned = [
      [0, 2, 1, 1, 1, 1, 1, 0],
      [0, 2, 0, 1, 1, 1, 1, 1],
      [1, 1, 0, 0, 2, 1, 3, 1],
      [0, 0, 2, 1, 4, 0, 0, 1],
      [1, 1, 0, 2, 1, 1, 3, 2],
      [1, 2, 0, 0, 1, 1, 1, 1],
    ];
    // HashingVectorizer(n_features=2**3) with its defaults (alternate_sign, norm='l2'), as printed
    // in a Stack Overflow question (56275693) for scikit-learn's own CountVectorizer corpus; the
    // explicit zeros of column 6 printed there are counts that cancelled, which the job leaves out.
    const corpus = [
      'This is the first document.',
      'This document is the second document.',
      'And this is the third one.',
      'Is this the first document?',
    ];
    const l2: [number, number][][] = [
      [
        [0, -0.8944271909999159],
        [5, 0.4472135954999579],
      ],
      [
        [0, -0.8164965809277261],
        [3, 0.4082482904638631],
        [5, 0.4082482904638631],
      ],
      [
        [4, -0.7071067811865475],
        [5, 0.7071067811865475],
      ],
      [
        [0, -0.8944271909999159],
        [5, 0.4472135954999579],
      ],
    ];
    const dense = (rows: number[][]) =>
      rows.map((r) => r.map((v, i) => [i, v] as [number, number]).filter(([, v]) => v !== 0));
    for (const [name, texts, params, rows] of [
      ['signed', quotes, { alternateSign: 'true', norm: 'none' }, dense(signed)],
      ['unsigned', quotes, { alternateSign: 'false', norm: 'none' }, dense(unsigned)],
      ['l2', corpus, {}, l2],
    ] as const) {
      const docs = texts.map((text, i) => ({ id: `${name}-${i}`, text }));
      const out = path.join(dir, `sklearn-${name}`);
      await runLocal(job('hashing-vectorizer'), {
        input: writeJsonl(dir, `sklearn-${name}-in`, docs, 2),
        output: out,
        workers: 2,
        params: { nFeatures: '8', ...params },
      });
      const got = vectorsByKey(out);
      for (const [i, d] of docs.entries()) expectVector(got.get(d.id)!, new Map(rows[i]));
    }
  });

  for (const [nFeatures, alternateSign, norm] of [
    [1024, true, 'l2'],
    [64, false, 'none'],
  ] as const) {
    it(`gives HashingVectorizer(n_features=${nFeatures}, alternate_sign=${alternateSign}, norm=${norm}) rows`, async () => {
      const out = path.join(dir, `hashed-${nFeatures}`);
      const r = await runLocal(job('hashing-vectorizer'), {
        input: sotuInput,
        output: out,
        splitSize: 2 << 20,
        workers: 2,
        params: { nFeatures: String(nFeatures), alternateSign: String(alternateSign), norm },
      });
      expect(r.manifest.reduce.tasks).toBe(0);
      const got = vectorsByKey(out);
      expect(got.size).toBe(sotu.length);
      for (const d of sotu) {
        const row = new Map<number, number>();
        for (const t of tokensOf(d.text)) {
          const hash = murmur3Reference(Buffer.from(t, 'utf8'), 0);
          const index = Math.abs(hash) % nFeatures;
          row.set(index, (row.get(index) ?? 0) + (alternateSign && hash < 0 ? -1 : 1));
        }
        for (const [k, v] of row) if (v === 0) row.delete(k);
        if (norm === 'l2') {
          const l = Math.hypot(...row.values());
          for (const [k, v] of row) row.set(k, v / l);
        }
        expectVector(got.get(d.id)!, row);
      }
    });
  }
});

/** MultinomialNB over CountVectorizer's counts, in memory with Maps (class names are data). */
function naiveBayesInMemory(train: Doc[], alpha: number) {
  const docs = new Map<string, number>();
  const tokens = new Map<string, number>();
  const counts = new Map<string, Map<string, number>>();
  for (const d of train) {
    docs.set(d.label!, (docs.get(d.label!) ?? 0) + 1);
    for (const t of tokensOf(d.text)) {
      tokens.set(d.label!, (tokens.get(d.label!) ?? 0) + 1);
      let c = counts.get(t);
      if (!c) counts.set(t, (c = new Map()));
      c.set(d.label!, (c.get(d.label!) ?? 0) + 1);
    }
  }
  const classes = [...docs.keys()].sort();
  const V = counts.size;
  const prior = (c: string) => Math.log(docs.get(c)! / train.length);
  const logp = (t: string, c: string) =>
    Math.log(((counts.get(t)?.get(c) ?? 0) + alpha) / (tokens.get(c)! + alpha * V));
  const scores = (text: string) =>
    classes.map((c) => {
      let s = prior(c);
      for (const [t, n] of countsOf(text)) if (counts.has(t)) s += n * logp(t, c);
      return s;
    });
  const predict = (text: string) => {
    const s = scores(text);
    return classes[s.indexOf(Math.max(...s))]!;
  };
  return { classes, V, prior, logp, scores, predict };
}

interface Prediction {
  label?: string;
  prediction: string;
  probabilities: Record<string, number>;
  scores: Record<string, number>;
}

/** jobs/predict.ts's records by id. */
function predictionsById(out: string): Map<string, Prediction> {
  return new Map(
    outputLines(out).map((l) => {
      const { key, value } = JSON.parse(l) as { key: string; value: Prediction };
      return [key, value];
    }),
  );
}

describe('naive-bayes', () => {
  it('trains MultinomialNB on SpamAssassin and predicts the held-out fifth like an in-memory model', async () => {
    const { train, test } = spamAssassin();
    const trainInput = writeJsonl(dir, 'spam-train', train);
    const testInput = writeJsonl(dir, 'spam-test', test);
    const modelDir = path.join(dir, 'nb-model');
    const alpha = 0.5;
    const trained = await runLocal(job('naive-bayes-train'), {
      input: trainInput,
      output: modelDir,
      params: { alpha: String(alpha) },
      ...OPTS,
      splitSize: 8 << 20,
    });
    const predicted = await runLocal(job('predict'), {
      input: testInput,
      output: path.join(dir, 'nb-predictions'),
      params: { model: modelDir, scores: 'true' },
      splitSize: 4 << 20,
      workers: 2,
    });

    const nb = naiveBayesInMemory(train, alpha);
    expect(nb.classes).toEqual(['ham', 'spam']);
    expect(trained.steps![0]!.manifest.counters.vocabulary).toBe(nb.V);
    const model = jsonlByKey<number | Record<string, number>>(modelDir);
    expect(model.size).toBe(1 + nb.V + nb.classes.length);
    expect(model.get(JSON.stringify(['model']))).toMatchObject({
      type: 'naive-bayes',
      classes: ['ham', 'spam'],
      alpha,
      vocabulary: nb.V,
      documents: train.length,
    });
    for (const c of nb.classes) expectClose(model.get(JSON.stringify(['prior', c])) as number, nb.prior(c));
    for (const t of ['money', 'click', 'linux', 'the']) {
      const row = model.get(JSON.stringify(['term', t])) as Record<string, number>;
      for (const c of nb.classes) expectClose(row[c]!, nb.logp(t, c));
    }

    let correct = 0;
    const byId = predictionsById(path.join(dir, 'nb-predictions'));
    expect(byId.size).toBe(test.length);
    for (const d of test) {
      const scores = nb.scores(d.text);
      const label = nb.predict(d.text);
      const got = byId.get(d.id)!;
      expect([got.label, got.prediction]).toEqual([d.label, label]);
      expectClose(got.scores.ham!, scores[0]!);
      expectClose(got.scores.spam!, scores[1]!);
      // predict_proba: exp(jll − logsumexp(jll)).
      const top = Math.max(...scores);
      const lse = top + Math.log(scores.reduce((s, x) => s + Math.exp(x - top), 0));
      expectClose(got.probabilities.spam!, Math.exp(scores[1]! - lse), 1e-9);
      if (label === d.label) correct++;
    }
    const accuracy = correct / test.length;
    expect(predicted.manifest.counters.correct).toBe(correct);
    expect(predicted.manifest.counters.wrong).toBe(test.length - correct);
    process.stdout.write(`naive-bayes: ${test.length} held-out messages, accuracy ${(accuracy * 100).toFixed(2)}%\n`);
    expect(accuracy).toBeGreaterThan(0.9);
  });

  it('takes class names that are Object.prototype’s (constructor, __proto__, toString) as any other', async () => {
    // Prepare: SpamAssassin's groups renamed: ham is "__proto__", spam-1 "constructor", spam-2
    // "toString"; a quarter of the messages, so the run is quick.
    const rename = (d: Doc): Doc => ({
      ...d,
      label: d.id.startsWith('spam-2') ? 'toString' : d.id.startsWith('spam') ? 'constructor' : '__proto__',
    });
    const { train: all, test: allTest } = spamAssassin();
    const train = all.filter((_, i) => i % 4 === 0).map(rename);
    const test = allTest.filter((_, i) => i % 4 === 0).map(rename);
    const modelDir = path.join(dir, 'nb-proto-model');
    // Act
    await runLocal(job('naive-bayes-train'), {
      input: writeJsonl(dir, 'proto-train', train),
      output: modelDir,
      ...OPTS,
      splitSize: 1 << 20,
    });
    await runLocal(job('predict'), {
      input: writeJsonl(dir, 'proto-test', test),
      output: path.join(dir, 'nb-proto-predictions'),
      params: { model: modelDir, scores: 'true' },
      splitSize: 1 << 20,
      workers: 2,
    });
    // Assess
    const nb = naiveBayesInMemory(train, 1);
    expect(nb.classes).toEqual(['__proto__', 'constructor', 'toString']);
    const lines = outputLines(modelDir).map((l) => JSON.parse(l) as { key: [string, string]; value: unknown });
    const priors = lines.filter((l) => l.key[0] === 'prior').map((l) => [l.key[1], l.value] as [string, number]);
    expect(priors.map(([c]) => c).sort()).toEqual(nb.classes);
    for (const [c, v] of priors) expectClose(v, nb.prior(c));
    for (const { key, value } of lines.filter(
      (l) => l.key[0] === 'term' && ['money', 'the', 'linux'].includes(l.key[1]),
    ))
      for (const c of nb.classes) {
        const entry = Object.entries(value as Record<string, number>).find(([k]) => k === c);
        expectClose(entry![1], nb.logp(key[1], c));
      }
    const byId = predictionsById(path.join(dir, 'nb-proto-predictions'));
    expect(byId.size).toBe(test.length);
    for (const d of test) {
      const got = byId.get(d.id)!;
      expect(got.prediction).toBe(nb.predict(d.text));
      const scores = nb.scores(d.text);
      nb.classes.forEach((c, i) => {
        expectClose(Object.entries(got.scores).find(([k]) => k === c)![1], scores[i]!);
      });
    }
  });
});
