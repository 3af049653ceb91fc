/**
 * Quantiles: the mergeable sketch (jobs/lib/quantiles.ts) against exact ranks, for any order of
 * values and merges (fast-check), and column-stats' medians and quartiles on real data —
 * exact where the sketch holds every value, within the bound it certifies where it does not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addValue, errorBound, mergeSketch, newSketch, quantiles, rankError } from '../jobs/lib/quantiles.js';
import { runLocal } from '../sdk/index.js';
import { outputLines, tempDir } from './helpers.js';
import { job, VEGA } from './ml-fixtures.js';

/** numpy's default quantile: linear interpolation at q·(n − 1) of the sorted values. */
function exactQuantile(sorted: number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** How far position q·(n − 1) lies from the positions v occupies in the sorted values (0 inside). */
function rankDistance(sorted: number[], v: number, q: number): number {
  const pos = q * (sorted.length - 1);
  let below = 0;
  let upTo = 0;
  for (const x of sorted) {
    if (x < v) below++;
    if (x <= v) upTo++;
  }
  if (upTo === 0) return pos + 1; // v below every value
  return pos < below ? below - pos : pos > upTo - 1 ? pos - (upTo - 1) : 0;
}

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

describe('the quantile sketch', () => {
  it('answers every quantile within the rank error it certifies, for any values, chunks and merge order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 2, max: 40 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        (values, k, cuts) => {
          // Chunks sketched separately, then merged in a shuffled order.
          const bounds = [...new Set(cuts.map((c) => c % values.length))].sort((a, b) => a - b);
          const chunks = [0, ...bounds, values.length]
            .slice(0, -1)
            .map((from, i, all) => values.slice(from, i + 1 < all.length ? all[i + 1] : values.length));
          const sketches = chunks.map((chunk) => {
            const s = newSketch(k);
            for (const v of chunk) addValue(s, v);
            return s;
          });
          const order = sketches
            .map((_, i) => i)
            .sort((a, b) => ((a * 7919 + cuts.length) % 13) - ((b * 7919 + cuts.length) % 13));
          const merged = newSketch(k);
          for (const i of order) mergeSketch(merged, sketches[i]!);
          const sorted = [...values].sort((a, b) => a - b);
          const error = rankError(merged);
          expect(merged.n).toBe(values.length);
          expect(error).toBeLessThanOrEqual(errorBound(values.length, k));
          quantiles(merged, QS).forEach((v, i) => {
            if (error === 0) expect(v).toBeCloseTo(exactQuantile(sorted, QS[i]!), 12);
            else expect(rankDistance(sorted, v, QS[i]!)).toBeLessThanOrEqual(error);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps its real error far below the certified one on real data, by alternating which half moves up', () => {
    // 200,000 flight delays through a sketch of 16 values per level: the certificate is the
    // worst case; alternating halves cancel most of it (always the same half would not).
    const delays = (
      JSON.parse(fs.readFileSync(path.join(VEGA, 'flights-200k.json'), 'utf8')) as { delay: number }[]
    ).map((r) => r.delay);
    const s = newSketch(16);
    for (const v of delays) addValue(s, v);
    const sorted = [...delays].sort((a, b) => a - b);
    const qs = Array.from({ length: 101 }, (_, i) => i / 100);
    const worst = Math.max(...quantiles(s, qs).map((v, i) => rankDistance(sorted, v, qs[i]!)));
    expect(worst).toBeLessThanOrEqual(rankError(s) / 4);
  });

  it('is exact, numpy’s linear interpolation, while it holds every value', () => {
    const s = newSketch(8);
    for (const v of [4, 1, 3, 2]) addValue(s, v);
    expect(quantiles(s, [0, 0.25, 0.5, 0.75, 1])).toEqual([1, 1.75, 2.5, 3.25, 4]);
    expect(rankError(s)).toBe(0);
  });
});

describe('column-stats quantiles', () => {
  let dir: string;
  let flights: string;
  let rows: { delay: number; distance: number }[];
  beforeAll(() => {
    dir = tempDir();
    rows = JSON.parse(fs.readFileSync(path.join(VEGA, 'flights-200k.json'), 'utf8'));
    flights = path.join(dir, 'flights.csv');
    fs.writeFileSync(flights, `delay,distance\n${rows.map((r) => `${r.delay},${r.distance}`).join('\n')}\n`);
  });

  type Numeric = { median: number; quantiles: Record<string, number>; quantileRankError: number; count: number };
  const statsOf = (out: string) =>
    new Map(
      outputLines(out).map((l) => {
        const { key, value } = JSON.parse(l) as { key: string; value: Numeric };
        return [key, value];
      }),
    );

  it('are pandas’ medians and quartiles exactly where a column fits the sketch (Seattle’s weather)', async () => {
    const csv = path.join(VEGA, 'seattle-weather.csv');
    const out = path.join(dir, 'weather');
    await runLocal(job('column-stats'), { input: csv, output: out, workers: 2, splitSize: 8192 });
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n').slice(1);
    const got = statsOf(out);
    ['precipitation', 'temp_max', 'temp_min', 'wind'].forEach((column, c) => {
      const sorted = lines.map((l) => Number(l.split(',')[c + 1])).sort((a, b) => a - b);
      const s = got.get(column)!;
      expect(s.quantileRankError).toBe(0);
      expect(s.median).toBeCloseTo(exactQuantile(sorted, 0.5), 12);
      for (const q of [0.25, 0.5, 0.75]) expect(s.quantiles[String(q)]).toBeCloseTo(exactQuantile(sorted, q), 12);
    });
  });

  it('are within the certified rank error on 200,000 flights, whatever the splits, and the bound is what the docs state', async () => {
    const qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];
    for (const [name, opts] of [
      ['one', { workers: 1, splitSize: 1 << 30 }],
      ['many', { workers: 2, splitSize: 256 << 10, reducers: 3 }],
    ] as const) {
      const out = path.join(dir, `flights-${name}`);
      await runLocal(job('column-stats'), {
        input: flights,
        output: out,
        params: { quantiles: qs.join(','), sketchSize: '512' },
        ...opts,
      });
      const got = statsOf(out);
      for (const column of ['delay', 'distance'] as const) {
        const sorted = rows.map((r) => r[column]).sort((a, b) => a - b);
        const s = got.get(column)!;
        expect(s.count).toBe(rows.length);
        expect(s.quantileRankError).toBeGreaterThan(0);
        expect(s.quantileRankError).toBeLessThanOrEqual(errorBound(rows.length, 512));
        for (const q of qs)
          expect(rankDistance(sorted, s.quantiles[String(q)]!, q)).toBeLessThanOrEqual(s.quantileRankError);
        expect(rankDistance(sorted, s.median, 0.5)).toBeLessThanOrEqual(s.quantileRankError);
        process.stdout.write(
          `column-stats ${column} (${name}): median ${s.median} (exact ${exactQuantile(sorted, 0.5)}), rank error bound ${s.quantileRankError} of ${rows.length}\n`,
        );
      }
    }
  });
});
