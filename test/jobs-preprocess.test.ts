/**
 * Preprocessing (preprocess-fit, preprocess-transform) against scikit-learn's ColumnTransformer
 * on penguins (fixture made by test/fixtures/ml/make_sklearn_fixtures.py), and the
 * deterministic train/test split (split, split-csv) against its definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { formatRecord } from '../functions/format/output.js';
import { murmurHash3, runLocal } from '../sdk/index.js';
import { spamAssassin, writeJsonl } from './datasets.js';
import { outputLines, tempDir } from './helpers.js';
import { expectClose, job, sklearnFixture, sortedLines, VEGA, vectorsById } from './ml-fixtures.js';

interface PreprocessFixture {
  atlantis: Record<string, string>;
  features: string[];
  fitted: Record<string, Record<string, number | string | string[]>>;
  transformed: number[][];
}

const COLUMNS = [
  'Species',
  'Island',
  'Beak Length (mm)',
  'Beak Depth (mm)',
  'Flipper Length (mm)',
  'Body Mass (g)',
  'Sex',
];
const field = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvOf = (rows: Record<string, unknown>[], columns: string[]) =>
  `${[columns.map(field).join(','), ...rows.map((r) => columns.map((c) => field(r[c])).join(','))].join('\n')}\n`;

const PARAMS = {
  onehot: 'Species,Island,Sex',
  standard: 'Beak Length (mm),Flipper Length (mm)',
  minmax: 'Beak Depth (mm)',
  passthrough: 'Body Mass (g)',
  'impute.Beak Length (mm)': 'mean',
  'impute.Beak Depth (mm)': 'median',
  'impute.Flipper Length (mm)': 'constant:200',
  'impute.Body Mass (g)': 'mean',
  'impute.Sex': 'most_frequent',
  label: 'Species',
  id: 'row',
};

let dir: string;
let penguins: Record<string, unknown>[];
beforeAll(() => {
  dir = tempDir();
  penguins = JSON.parse(fs.readFileSync(path.join(VEGA, 'penguins.json'), 'utf8'));
});

describe('preprocess-fit and preprocess-transform', () => {
  const fixture = sklearnFixture<PreprocessFixture>('preprocess');

  /** The model's header and columns. */
  function readModel(out: string) {
    const lines = outputLines(out).map((l) => JSON.parse(l) as { key: string[]; value: Record<string, unknown> });
    const header = lines.find((l) => l.key[0] === 'model')!.value;
    const columns = new Map(lines.filter((l) => l.key[0] === 'column').map((l) => [l.key[1]!, l.value]));
    return { header, columns };
  }

  it('fit on four penguins in five and applied to the fifth give ColumnTransformer’s features, an unseen island in its own column', async () => {
    // Prepare: the table with a row number (the vectors' key), split by index as the fixture.
    const rows = penguins.map((p, i) => ({ ...p, row: i }));
    const train = path.join(dir, 'train.csv');
    const test = path.join(dir, 'test.csv');
    fs.writeFileSync(
      train,
      csvOf(
        rows.filter((_, i) => i % 5 !== 0),
        [...COLUMNS, 'row'],
      ),
    );
    fs.writeFileSync(
      test,
      csvOf([...rows.filter((_, i) => i % 5 === 0), { ...fixture.atlantis, row: 'atlantis' }], [...COLUMNS, 'row']),
    );
    // Act
    const model = path.join(dir, 'prep');
    await runLocal(job('preprocess-fit'), { input: train, output: model, params: PARAMS, workers: 2, splitSize: 2048 });
    const out = path.join(dir, 'test-vectors');
    await runLocal(job('preprocess-transform'), {
      input: test,
      output: out,
      params: { model },
      workers: 2,
      splitSize: 1024,
    });
    // Assess: the fitted statistics.
    const { header, columns } = readModel(model);
    const bucket = (c: string) => `${c}=<unknown>`;
    const ours = [
      ...fixture.features.slice(0, 3),
      bucket('Species'),
      ...fixture.features.slice(3, 6),
      bucket('Island'),
      ...fixture.features.slice(6),
      bucket('Sex'),
    ];
    expect(header).toMatchObject({
      type: 'preprocess',
      features: ours,
      size: ours.length,
      label: 'Species',
      id: 'row',
    });
    for (const [name, f] of Object.entries(fixture.fitted)) {
      const got = columns.get(name)!;
      for (const [k, v] of Object.entries(f)) {
        if (typeof v === 'number') expectClose(got[k] as number, v, 1e-12, 1e-300, `${name} ${k}`);
        else expect([name, k, got[k]]).toEqual([name, k, v]);
      }
    }
    // The transformed rows, feature by feature (scikit-learn's dense columns mapped to ours).
    const got = vectorsById(out);
    const ids = [...rows.filter((_, i) => i % 5 === 0).map((r) => String(r.row)), 'atlantis'];
    expect(got.size).toBe(ids.length);
    ids.forEach((id, r) => {
      const v = got.get(id)!;
      const value = (name: string) => {
        const at = v.indices.indexOf(ours.indexOf(name));
        return at < 0 ? 0 : v.values[at]!;
      };
      fixture.features.forEach((name, j) => {
        expectClose(value(name), fixture.transformed[r]![j]!, 1e-12, 1e-12, `${id} ${name}`);
      });
      expect([id, value(bucket('Island'))]).toEqual([id, id === 'atlantis' ? 1 : 0]);
      expect(v.label).toBe(id === 'atlantis' ? 'Adelie' : (rows[Number(id)] as { Species?: string }).Species);
    });
    // One run of the pipeline (fit on train, apply to test) writes the same vectors.
    const once = await runLocal(job('preprocess'), {
      input: train,
      output: path.join(dir, 'in-one-run'),
      params: { ...PARAMS, apply: test },
      workers: 2,
      splitSize: 2048,
    });
    expect(once.steps!.map((s) => s.manifest.job)).toEqual(['preprocess-fit', 'preprocess-transform']);
    expect(sortedLines(path.join(dir, 'in-one-run'))).toEqual(sortedLines(out));
  });

  it('depend on neither workers nor splits nor reducers; unknown=ignore leaves an unseen category out', async () => {
    const csv = path.join(dir, 'all.csv');
    const withAtlantis = path.join(dir, 'all-and-atlantis.csv');
    const rows = penguins.map((p, i) => ({ ...p, row: i }));
    fs.writeFileSync(csv, csvOf(rows, [...COLUMNS, 'row']));
    fs.writeFileSync(withAtlantis, csvOf([...rows, { ...fixture.atlantis, row: 'atlantis' }], [...COLUMNS, 'row']));
    const params = { ...PARAMS, unknown: 'ignore' };
    await runLocal(job('preprocess-fit'), { input: csv, output: path.join(dir, 'one'), params, workers: 1 });
    await runLocal(job('preprocess-fit'), {
      input: csv,
      output: path.join(dir, 'many'),
      params,
      workers: 2,
      splitSize: 1024,
      reducers: 3,
    });
    const one = readModel(path.join(dir, 'one'));
    const many = readModel(path.join(dir, 'many'));
    expect(many.header).toEqual(one.header);
    expect(one.header.features).not.toContain('Island=<unknown>');
    for (const [name, a] of one.columns) {
      const b = many.columns.get(name)!;
      for (const [k, v] of Object.entries(a))
        if (typeof v === 'number') expectClose(b[k] as number, v, 1e-13, 1e-300, `${name} ${k}`);
        else expect(b[k]).toEqual(v);
    }
    await runLocal(job('preprocess-transform'), {
      input: withAtlantis,
      output: path.join(dir, 'ignored'),
      params: { model: path.join(dir, 'one') },
      workers: 2,
      splitSize: 1024,
    });
    const atlantis = vectorsById(path.join(dir, 'ignored')).get('atlantis')!;
    const islands = [3, 4, 5]; // Island=Biscoe, Dream, Torgersen: none set
    expect(atlantis.indices.filter((i) => islands.includes(i))).toEqual([]);
  });

  it('names what is wrong: text in a numeric column, a column in two roles, an unknown strategy', async () => {
    const csv = path.join(dir, 'bad.csv');
    fs.writeFileSync(csv, 'a,b\n1,x\n2,y\nn/a,z\n');
    const run = (params: Record<string, string>) =>
      runLocal(job('preprocess-fit'), {
        input: csv,
        output: path.join(dir, 'bad'),
        params,
        workers: 1,
        overwrite: true,
      }).then(
        () => '',
        (e: unknown) => `${(e as { errorType: string }).errorType}: ${(e as Error).message}`,
      );
    expect(await run({ standard: 'a' })).toMatch(/InvalidJobError: Column "a" is in --param standard but holds "n\/a"/);
    expect(await run({ standard: 'a', minmax: 'a' })).toMatch(/Column "a" is in --param standard and --param minmax/);
    expect(await run({ onehot: 'b', 'impute.b': 'median' })).toMatch(
      /a one-hot column imputes most_frequent or constant/,
    );
  });
});

describe('split and split-csv', () => {
  it('write through the text output format: each key a line, a key with a line break refused', () => {
    expect(formatRecord('text', 'a,b,"c"', undefined)).toBe('a,b,"c"\n');
    expect(formatRecord('text', { id: 1 }, 'ignored')).toBe('{"id":1}\n');
    expect(() => formatRecord('text', 'two\nlines', undefined)).toThrow(/line break/);
  });

  it('cut documents in two by the hash of their id: every one on exactly one side, the same whatever the splits', async () => {
    const { train } = spamAssassin();
    const docs = train.slice(0, 1500);
    const input = writeJsonl(dir, 'docs', docs);
    const side = (id: string) => ((murmurHash3(id, 7) >>> 0) / 2 ** 32 < 0.3 ? 'test' : 'train');
    const run = (part: string, name: string, opts: object) =>
      runLocal(job('split'), {
        input,
        output: path.join(dir, name),
        params: { part, testFraction: '0.3', seed: '7' },
        ...opts,
      });
    const a = await run('train', 'docs-train', { workers: 1 });
    await run('test', 'docs-test', { workers: 2, splitSize: 64 << 10 });
    await run('train', 'docs-train-2', { workers: 2, splitSize: 32 << 10 });
    const ids = (name: string) => outputLines(path.join(dir, name)).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids('docs-train').sort()).toEqual(
      docs
        .filter((d) => side(d.id) === 'train')
        .map((d) => d.id)
        .sort(),
    );
    expect(ids('docs-test').sort()).toEqual(
      docs
        .filter((d) => side(d.id) === 'test')
        .map((d) => d.id)
        .sort(),
    );
    expect(sortedLines(path.join(dir, 'docs-train-2'))).toEqual(sortedLines(path.join(dir, 'docs-train')));
    expect(a.manifest.counters).toMatchObject({ train: ids('docs-train').length, test: ids('docs-test').length });
    const share = ids('docs-test').length / docs.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    // Lines come out as they went in (re-serialised): documents the text jobs read.
    expect(JSON.parse(outputLines(path.join(dir, 'docs-test'))[0]!)).toMatchObject({ label: expect.any(String) });
  });

  it('cut a table in two, each part a CSV with its header, and preprocess-fit reads them', async () => {
    const csv = path.join(dir, 'penguins.csv');
    fs.writeFileSync(csv, csvOf(penguins, COLUMNS));
    for (const part of ['train', 'test'])
      await runLocal(job('split-csv'), {
        input: csv,
        output: path.join(dir, `penguins-${part}`),
        params: { part },
        workers: 2,
        splitSize: 2048,
      });
    const table = (name: string) => {
      const parts = fs.readdirSync(path.join(dir, name)).filter((f) => f.startsWith('part-'));
      const lines: string[] = [];
      for (const p of parts) {
        const text = fs
          .readFileSync(path.join(dir, name, p), 'utf8')
          .split('\n')
          .filter((l) => l !== '');
        if (text.length > 0) expect(text[0]).toBe(COLUMNS.map(field).join(','));
        lines.push(...text.slice(1));
      }
      return lines;
    };
    const all = fs.readFileSync(csv, 'utf8').trim().split('\n').slice(1);
    const trainRows = table('penguins-train');
    const testRows = table('penguins-test');
    expect([...trainRows, ...testRows].sort()).toEqual([...all].sort());
    // The default key: the row's fields as a JSON list.
    const side = (line: string) => {
      const fields = COLUMNS.map((c) => {
        const v = penguins[all.indexOf(line)]![c];
        return v === null || v === undefined ? '' : String(v);
      });
      return (murmurHash3(JSON.stringify(fields), 0) >>> 0) / 2 ** 32 < 0.2 ? 'test' : 'train';
    };
    expect(testRows.every((l) => side(l) === 'test')).toBe(true);
    expect(trainRows.every((l) => side(l) === 'train')).toBe(true);
    const fitted = await runLocal(job('preprocess-fit'), {
      input: path.join(dir, 'penguins-train'),
      output: path.join(dir, 'penguins-prep'),
      params: { standard: 'Beak Length (mm)', onehot: 'Island' },
      workers: 2,
    });
    expect(fitted.manifest.map.tasks).toBeGreaterThan(0);
    const count = outputLines(path.join(dir, 'penguins-prep'))
      .map((l) => JSON.parse(l) as { key: string[]; value: { count: number; missing: number } })
      .find((l) => l.key[1] === 'Island')!.value;
    expect(count.count + count.missing).toBe(trainRows.length);
  });
});
