/**
 * The control phases at the issue's cloud scale, on generated listings and indexes (no AWS):
 * what they produce must be right and every state payload must fit Step Functions' limit.
 * How fast and how much memory: `npm run bench:scale` prints those figures.
 */
import { describe, expect, it } from '@jest/globals';
import { planAtScale, runOf, STATE_PAYLOAD_LIMIT, shuffleAtScale } from '../bench/scale.js';
import { DEFAULTS } from '../functions/config.js';
import { layout } from '../functions/spec.js';

describe('cloud scale (generated listings, in memory)', () => {
  it('plans 1,000,000 objects into ~10,000 splits covering every byte once, each split a small state payload', async () => {
    const { figures, splits, sizes } = await planAtScale(1_000_000);
    expect(figures.splits).toBeGreaterThan(9_000);
    expect(figures.splits).toBeLessThan(11_000);
    expect(figures.maxMapItemBytes).toBeLessThan(STATE_PAYLOAD_LIMIT);
    expect(figures.planResultBytes).toBeLessThan(STATE_PAYLOAD_LIMIT);
    // Every object in order, whole or cut into adjacent ranges, exactly once. (Plain checks:
    // a million expect() calls would take most of a minute.)
    const wrong: string[] = [];
    let next = 0;
    let offset = 0;
    splits.forEach((split, i) => {
      if (split.index !== i) wrong.push(`split ${i} has index ${split.index}`);
      for (const c of split.chunks) {
        const n = Number(c.uri.slice(-11, -4));
        const ok = c.start === 0 ? n === next++ && offset === 0 : n === next - 1 && c.start === offset;
        if (!ok || c.size !== sizes(n)) wrong.push(`split ${i}: ${JSON.stringify(c)}`);
        offset = c.end === c.size ? 0 : c.end;
      }
    });
    expect(wrong.slice(0, 5)).toEqual([]);
    expect([next, offset]).toEqual([1_000_000, 0]);
  }, 120_000);

  it('packs at most DEFAULTS.maxObjectsPerSplit tiny S3 objects per split; their chunks go by reference, the items stay small', async () => {
    const { figures, splits, items } = await planAtScale(200_000, 64 * 2 ** 20, () => 100);
    expect(figures.splits).toBe(200);
    expect(Math.max(...splits.map((s) => [...s.chunks].length))).toBe(DEFAULTS.maxObjectsPerSplit);
    expect(items.every((i) => 'chunksAt' in i)).toBe(true);
    expect(figures.maxMapItemBytes).toBeLessThan(4096);
  }, 60_000);

  it('a split of 1,000 objects with 200-character keys (~280 KB of chunks) is one task whose input stays small', async () => {
    const keyPrefix = `${'d'.repeat(49)}/`.repeat(4); // 200 characters of folders
    const { figures, splits } = await planAtScale(1_000, 64 * 2 ** 20, () => 100, keyPrefix);
    expect(Buffer.byteLength(JSON.stringify([...splits[0]!.chunks]))).toBeGreaterThan(STATE_PAYLOAD_LIMIT);
    expect(figures.maxMapItemBytes).toBeLessThan(4096);
    expect(splits).toHaveLength(1); // neither the bytes (100 KB) nor the count (1,000) nor the JSON cut it
    expect([...splits[0]!.chunks].map((c) => c.uri)).toEqual(
      Array.from({ length: 1000 }, (_, i) => `s3://bench/input/${keyPrefix}part-${String(i).padStart(7, '0')}.txt`),
    );
  });

  it('plans the shuffle of 10,000 map tasks × 1,000 reducers: every reducer’s ranges, in map task order', async () => {
    const M = 10_000;
    const R = 1_000;
    const { figures, ranges } = await shuffleAtScale(M, R, [0, 13, R - 1]);
    expect(figures.maxReduceItemBytes).toBeLessThan(STATE_PAYLOAD_LIMIT);
    expect(figures.shuffleResultBytes).toBeLessThan(STATE_PAYLOAD_LIMIT);
    expect(figures.commitResultBytes).toBeLessThan(STATE_PAYLOAD_LIMIT);
    for (const [r, got] of ranges) {
      const expected = [];
      for (let task = 0; task < M; task++) {
        const [offset, length, records, crc32c] = runOf(task, r);
        if (length > 0)
          expected.push({
            uri: layout.mapData({ scratch: 's3://bench/scratch/shuffle-at-scale' } as never, task, `attempt-${task}`),
            offset,
            length,
            records,
            crc32c,
            task,
          });
      }
      expect(got).toEqual(expected);
    }
    expect(ranges.get(13)).toEqual([]); // reducer 13 gets nothing from any task (runOf leaves it empty)
  }, 120_000);
});
