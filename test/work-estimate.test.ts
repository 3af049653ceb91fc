/**
 * Equal-work splits (work-estimate.ts): the cuts add up to the input and give each split the
 * same estimated work; the estimate sees short lines as more work per byte than long ones, and
 * is not made for input that is not local.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULTS } from '../functions/config.js';
import { equalWorkSplitSizes, makeSplits } from '../functions/phases/plan.js';
import { equalWorkSizes, sampledWork, type WorkPiece } from '../functions/phases/work-estimate.js';
import { resolveSpec } from '../functions/spec.js';
import { StorageRouter } from '../functions/storage/index.js';
import { LocalStorage } from '../functions/storage/local.js';
import { normalizeUri } from '../functions/storage/uri.js';
import { defineJob } from '../sdk/index.js';
import { tempDir } from './helpers.js';

const MiB = 2 ** 20;

/** The work of bytes [a, b) of the pieces' stream. */
function workOf(pieces: readonly WorkPiece[], a: number, b: number): number {
  let w = 0;
  let at = 0;
  for (const p of pieces) {
    const lo = Math.max(a, at);
    const hi = Math.min(b, at + p.bytes);
    if (hi > lo) w += ((hi - lo) * p.work) / p.bytes;
    at += p.bytes;
  }
  return w;
}

describe('equalWorkSizes', () => {
  it('cuts the pieces into at most `parts` sizes that add up to their bytes, each of equal work to within a byte', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ bytes: fc.integer({ min: 0, max: 5000 }), perByte: fc.double({ min: 1, max: 20, noNaN: true }) }),
          { minLength: 1, maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 8 }),
        (raw, parts) => {
          const pieces = raw.map((p) => ({ bytes: p.bytes, work: p.bytes * p.perByte }));
          const total = pieces.reduce((n, p) => n + p.bytes, 0);
          const sizes = equalWorkSizes(pieces, parts);
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
          expect(sizes.length).toBeLessThanOrEqual(parts);
          for (const s of sizes) expect(s).toBeGreaterThan(0);
          const target = workOf(pieces, 0, total) / parts;
          let at = 0;
          // Every split but the last holds its share, give or take a byte of the densest piece.
          for (const s of sizes.slice(0, -1)) {
            expect(Math.abs(workOf(pieces, at, at + s) - target)).toBeLessThanOrEqual(20 + 1e-6 * target);
            at += s;
          }
        },
      ),
    );
  });

  it('gives equal bytes where the work per byte is the same everywhere', () => {
    expect(
      equalWorkSizes(
        [
          { bytes: 1000, work: 3000 },
          { bytes: 1000, work: 3000 },
        ],
        4,
      ),
    ).toEqual([500, 500, 500, 500]);
  });
});

describe('sampledWork', () => {
  const lines = (n: number, width: number) => `${'w '.repeat(width / 2 - 1)}w\n`.repeat(n);

  it('estimates short lines as more work per byte than long lines, as bytes + recordCostBytes per line', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a-short.txt'), lines(20_000, 20)); // 400 KB
    fs.writeFileSync(path.join(dir, 'b-long.txt'), lines(200, 2000));
    const objects = ['a-short.txt', 'b-long.txt'].map((f) => ({
      uri: normalizeUri(path.join(dir, f)),
      size: fs.statSync(path.join(dir, f)).size,
    }));
    const pieces = sampledWork(new StorageRouter(), objects)!;
    const perByte = (from: number, to: number) => workOf(pieces, from, to) / (to - from);
    const a = objects[0]!.size;
    expect(perByte(0, a)).toBeCloseTo(1 + DEFAULTS.recordCostBytes / 20, 2);
    expect(perByte(a, a + objects[1]!.size)).toBeCloseTo(1 + DEFAULTS.recordCostBytes / 2000, 2);
  });

  it('reads at most 64 samples, however many objects', () => {
    const dir = tempDir();
    const objects = Array.from({ length: 1000 }, (_, i) => {
      const file = path.join(dir, `doc-${String(i).padStart(4, '0')}.txt`);
      fs.writeFileSync(file, lines(10, i < 500 ? 20 : 200));
      return { uri: normalizeUri(file), size: fs.statSync(file).size };
    });
    const reads = jest.spyOn(LocalStorage.prototype, 'readNow');
    try {
      const pieces = sampledWork(new StorageRouter(), objects)!;
      expect(reads.mock.calls.length).toBeLessThanOrEqual(64);
      expect(pieces.reduce((n, p) => n + p.bytes, 0)).toBe(objects.reduce((n, o) => n + o.size, 0));
      // The first half's short lines weigh more per byte than the second half's long ones.
      const half = objects.slice(0, 500).reduce((n, o) => n + o.size, 0);
      const total = objects.reduce((n, o) => n + o.size, 0);
      expect(workOf(pieces, 0, half) / half).toBeGreaterThan(workOf(pieces, half, total) / (total - half));
    } finally {
      reads.mockRestore();
    }
  });

  it('is not made for objects on S3 (a sample would be a request), nor for compressed ones (a split each)', () => {
    expect(sampledWork(new StorageRouter(), [{ uri: 's3://bucket/a.txt', size: 100 }])).toBeUndefined();
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a.txt'), lines(100, 20));
    const local = { uri: normalizeUri(path.join(dir, 'a.txt')), size: 2000 };
    expect(sampledWork(new StorageRouter(), [local])).toBeDefined();
    expect(sampledWork(new StorageRouter(), [local, { uri: `${local.uri}.gz`, size: 50 }])).toBeUndefined();
  });
});

describe('equalWorkSplitSizes', () => {
  const job = defineJob({ name: 'w', map() {}, combine: (_k: string, v: Iterable<number>) => [...v].length });
  const specOf = (parallelism: number, splitSize = 64 * MiB) =>
    resolveSpec({ input: ['/in'], output: '/out', parallelism, splitSize }, job);
  const objects = [
    { uri: 'file:///in/a', size: 8 * MiB },
    { uri: 'file:///in/b', size: 8 * MiB },
  ];
  // a: 3 units of work per byte, b: 1.
  const work = () => [
    { bytes: 8 * MiB, work: 24 * MiB },
    { bytes: 8 * MiB, work: 8 * MiB },
  ];

  it('cuts one split per worker at equal work, exactly (no slop to an object’s end)', () => {
    const sizes = equalWorkSplitSizes(specOf(2), objects, work)!;
    // Half the work (16 MiB of it) is a third of a's bytes' worth: 5.33 MiB of a, the rest after.
    expect(sizes).toEqual([Math.ceil((16 * MiB) / 3), 16 * MiB - Math.ceil((16 * MiB) / 3)]);
    const splits = makeSplits(objects, sizes, 'text', 1);
    expect(splits.map((s) => s.bytes)).toEqual(sizes);
  });

  it('is not made where the splits would not be one per worker, or one would pass splitSize', () => {
    expect(equalWorkSplitSizes(specOf(1), objects, work)).toBeUndefined();
    expect(equalWorkSplitSizes(specOf(8), objects, work)).toBeUndefined(); // 2 MiB each: under minSplitSize
    expect(equalWorkSplitSizes(specOf(2, 9 * MiB), objects, work)).toBeUndefined(); // 10.7 MiB > 9 MiB
    expect(equalWorkSplitSizes(specOf(2), objects, () => undefined)).toBeUndefined();
  });
});
