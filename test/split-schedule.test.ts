/**
 * The plan's split schedule (plan.ts: shrinkingSplitSizes, makeSplits with a list of sizes):
 * every byte is read once, in input order, whatever the schedule; the schedule's shape; and,
 * simulated with the pool's rule (the next split goes to the first worker free), that workers
 * finish together on input whose bytes are not equal work, where equal splits leave one idle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULTS } from '../functions/config.js';
import { readLines } from '../functions/format/lines.js';
import { makeSplits, type Split, shrinkingSplitSizes, splitSizes } from '../functions/phases/plan.js';
import { largestFirst } from '../functions/phases/shuffle.js';
import { resolveSpec, runContextOf } from '../functions/spec.js';
import { LocalStorage } from '../functions/storage/local.js';
import { normalizeUri } from '../functions/storage/uri.js';
import { defineJob } from '../sdk/index.js';
import { tempDir } from './helpers.js';

const MiB = 2 ** 20;

/**
 * Finish time of each worker when `workers` of them run the splits in order, each taking the
 * next as it becomes free (the local pool's FIFO queue, a Distributed Map under MaxConcurrency);
 * a split's time is the sum of `cost(byte)` over its bytes, in the input's one stream of bytes.
 */
function finishTimes(splits: Split[], workers: number, secondsOf: (start: number, end: number) => number): number[] {
  const free = new Array<number>(workers).fill(0);
  let offset = 0;
  for (const s of splits) {
    const w = free.indexOf(Math.min(...free));
    free[w]! += secondsOf(offset, offset + s.bytes);
    offset += s.bytes;
  }
  return free;
}

/** Seconds of bytes [a, b) when the first `cut` bytes take `slow` s/MiB and the rest `fast`. */
const skewed = (cut: number, slow: number, fast: number) => (a: number, b: number) =>
  (Math.max(0, Math.min(b, cut) - a) * slow + Math.max(0, b - Math.max(a, cut)) * fast) / MiB;

const spread = (t: number[]) => Math.max(...t) - Math.min(...t);

describe('shrinkingSplitSizes', () => {
  it('covers the input in rounds of one split per worker, shrinking to minSplit, never above splitSize', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2048 }),
        fc.integer({ min: 2, max: 16 }),
        fc.integer({ min: 1, max: 128 }),
        fc.integer({ min: 4, max: 16 }),
        (total, workers, splitSize, minSplit) => {
          const sizes = shrinkingSplitSizes(total, workers, splitSize, minSplit);
          const sum = sizes.reduce((a, b) => a + b, 0);
          expect(sum).toBeGreaterThanOrEqual(total);
          expect(sum - sizes[sizes.length - 1]!).toBeLessThan(total); // no split past the input
          for (const [i, s] of sizes.entries()) {
            expect(s).toBeLessThanOrEqual(splitSize);
            expect(s).toBeGreaterThanOrEqual(Math.min(minSplit, splitSize));
            if (i > 0) expect(s).toBeLessThanOrEqual(sizes[i - 1]!); // large first
            // Rounds: a size changes only at a multiple of `workers`.
            if (i % workers !== 0) expect(s).toBe(sizes[i - 1]);
          }
        },
      ),
    );
  });

  it('is 64 MiB splits while much is left, then halves each round down to 4 MiB (1 GiB, 2 workers)', () => {
    const sizes = shrinkingSplitSizes(1024 * MiB, 2, 64 * MiB, 4 * MiB).map((s) => s / MiB);
    expect(sizes).toEqual([...new Array(14).fill(64), 32, 32, 16, 16, 8, 8, 4, 4, 4, 4]);
  });
});

describe('makeSplits with a schedule', () => {
  const objectsOf = (sizes: number[]) =>
    sizes.map((size, i) => ({ uri: `file:///in/${String(i).padStart(3, '0')}${i % 7 === 3 ? '.gz' : ''}`, size }));

  it('reads every byte of every object once, in input order, each split as large as its turn', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(5000), { maxLength: 30 }),
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 16, max: 500 }),
        (objectSizes, workers, splitSize, minSplit) => {
          const objects = objectsOf(objectSizes);
          const total = objectSizes.reduce((a, b) => a + b, 0);
          const sizes = shrinkingSplitSizes(total, workers, splitSize, minSplit);
          const splits = makeSplits(objects, sizes, 'text');
          // Each chunk starts where the previous one of its object ended, and ends with it.
          const at = new Map<string, number>();
          for (const s of splits)
            for (const c of s.chunks) {
              expect(c.start).toBe(at.get(c.uri) ?? 0);
              at.set(c.uri, c.end);
            }
          for (const o of objects) expect(at.get(o.uri) ?? 0).toBe(o.size);
          expect(splits.map((s) => s.index)).toEqual(splits.map((_, i) => i));
          // Plain objects only (a gzip object is a split of its own, made as it is met): one
          // stream in input order, each split as large as its turn, give or take the slop, but the last.
          if (objects.some((o) => o.uri.endsWith('.gz'))) return;
          const order = splits.flatMap((s) => s.chunks.map((c) => c.uri));
          expect(order).toEqual([...order].sort());
          for (const [i, s] of splits.entries()) {
            const size = sizes[Math.min(i, sizes.length - 1)]!;
            const slop = Math.floor(size * (DEFAULTS.splitSlop - 1));
            expect(s.bytes).toBeLessThanOrEqual(size + slop);
            if (i < splits.length - 1) expect(s.bytes).toBeGreaterThanOrEqual(size - slop);
          }
        },
      ),
    );
  });

  it("reads every line exactly once through a schedule's splits of any sizes", async () => {
    const storage = new LocalStorage();
    const dir = tempDir();
    let n = 0;
    const piece = fc.constantFrom('\n', '\r\n', 'a', 'word ', 'é', '😀', 'x'.repeat(40));
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 60 }).map((p) => p.join('')),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 64 }),
        async (text, workers, splitSize) => {
          const file = path.join(dir, `s${n++}.txt`);
          fs.writeFileSync(file, text);
          const size = fs.statSync(file).size;
          const splits = makeSplits(
            [{ uri: normalizeUri(file), size }],
            shrinkingSplitSizes(size, workers, splitSize, 1),
            'text',
          );
          const lines: string[] = [];
          for (const s of splits) for (const c of s.chunks) await readLines(storage, c, (l) => void lines.push(l));
          const body = text.endsWith('\n') ? text.slice(0, -1) : text;
          const expected = text === '' ? [] : body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
          expect(lines).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('balance (the pool rule simulated)', () => {
  const oneObject = (bytes: number) => [{ uri: 'file:///in/all.txt', size: bytes }];

  it("finishes the issue's skewed word count within a small split where equal splits idle a worker 1.3 s", () => {
    // Issue 18: 64 MiB in two halves, the first 5.25 s of work, the second 3.96 s, 2 workers.
    const total = 64 * MiB;
    const cost = skewed(total / 2, 5.25 / 32, 3.96 / 32);
    const equal = finishTimes(makeSplits(oneObject(total), total / 2, 'text'), 2, cost);
    expect(spread(equal)).toBeCloseTo(1.29, 2);
    const splits = makeSplits(oneObject(total), shrinkingSplitSizes(total, 2, 64 * MiB, 4 * MiB), 'text');
    expect(splits.map((s) => s.bytes / MiB)).toEqual([16, 16, 8, 8, 4, 4, 4, 4]);
    const balanced = finishTimes(splits, 2, cost);
    expect(spread(balanced)).toBeLessThanOrEqual(4 * (5.25 / 32)); // at most one 4 MiB split of the slow kind
    expect(Math.max(...balanced)).toBeLessThan(Math.max(...equal) - 0.5);
  });

  it('keeps the workers within one last (4 MiB) split of each other for any cut and skew up to 2×', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 16, max: 2048 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 1, max: 2, noNaN: true }),
        fc.boolean(),
        (workers, totalMiB, cutAt, skew, slowFirst) => {
          const total = totalMiB * MiB;
          const [first, second] = slowFirst ? [skew, 1] : [1, skew];
          const cost = skewed(Math.floor(total * cutAt), first, second);
          const sizes = shrinkingSplitSizes(total, workers, 64 * MiB, 4 * MiB);
          const times = finishTimes(makeSplits(oneObject(total), sizes, 'text'), workers, cost);
          // The last round is of 4 MiB splits: the workers end within the slowest one's time.
          expect(sizes[sizes.length - 1]).toBe(4 * MiB);
          expect(spread(times)).toBeLessThanOrEqual(4 * skew * 1.1);
        },
      ),
    );
  });
});

describe('splitSizes (what Plan cuts by)', () => {
  const spec = (parallelism: number | undefined) =>
    ({ splitSize: 64 * MiB, ...(parallelism === undefined ? {} : { parallelism }) }) as Parameters<
      typeof splitSizes
    >[0];
  const objects = [{ uri: 'file:///in/a.txt', size: 100 * MiB }];

  it('shrinks the splits for two or more workers; equal splits for one, an unknown number, or even work', () => {
    expect(splitSizes(spec(2), objects)).toEqual(shrinkingSplitSizes(100 * MiB, 2, 64 * MiB, DEFAULTS.minSplitSize));
    expect(splitSizes(spec(1), objects)).toBe(64 * MiB);
    expect(splitSizes(spec(undefined), objects)).toBe(64 * MiB);
    // Even work (the word count on bytes): one equal split per worker.
    expect(splitSizes(spec(2), objects, true)).toBe(50 * MiB);
  });

  it("takes a deployment's parallelism (the Maps' MaxConcurrency, STREAMING_PARALLELISM) unless the call names one", () => {
    const job = defineJob({ name: 'j', map: (line: string, emit) => emit(line, 1), reduce: () => {} });
    const call = { input: 'file:///in/', output: 'file:///out/' };
    const saved = process.env.STREAMING_PARALLELISM;
    try {
      delete process.env.STREAMING_PARALLELISM;
      expect(resolveSpec(call, job).mapConcurrency).toBeUndefined();
      process.env.STREAMING_PARALLELISM = '200';
      const deployed = resolveSpec(call, job);
      expect(deployed.mapConcurrency).toBe(200);
      // The reduce side keeps packing small partitions (each reduce task is an invocation).
      expect(runContextOf(deployed, job).parallelism).toBeUndefined();
      // 1 GiB on 200 concurrent tasks: shrinking splits, not 16 of 64 MiB.
      const sizes = splitSizes(deployed, [{ uri: 'file:///in/a', size: 1024 * MiB }]);
      expect(sizes).toEqual(shrinkingSplitSizes(1024 * MiB, 200, DEFAULTS.splitSize, DEFAULTS.minSplitSize));
      const called = resolveSpec({ ...call, parallelism: 3 }, job);
      expect(splitSizes(called, [{ uri: 'file:///in/a', size: 1024 * MiB }])).toEqual(
        shrinkingSplitSizes(1024 * MiB, 3, DEFAULTS.splitSize, DEFAULTS.minSplitSize),
      );
      process.env.STREAMING_PARALLELISM = 'many';
      expect(() => resolveSpec(call, job)).toThrow(/STREAMING_PARALLELISM must be a whole number >= 1 \(got NaN\)/);
    } finally {
      if (saved === undefined) delete process.env.STREAMING_PARALLELISM;
      else process.env.STREAMING_PARALLELISM = saved;
    }
  });
});

describe('reduce tasks largest first', () => {
  /** The best finish time of `sizes` on `workers` workers, by trying every assignment. */
  const best = (sizes: number[], workers: number): number => {
    let min = Number.POSITIVE_INFINITY;
    const load = new Array<number>(workers).fill(0);
    const go = (i: number) => {
      if (i === sizes.length) {
        min = Math.min(min, Math.max(...load));
        return;
      }
      for (let w = 0; w < workers; w++) {
        load[w]! += sizes[i]!;
        go(i + 1);
        load[w]! -= sizes[i]!;
      }
    };
    go(0);
    return min;
  };

  it('finish within 4/3 of the best schedule when each goes to the first worker free', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 7 }),
        fc.integer({ min: 2, max: 3 }),
        (bytes, workers) => {
          const items = bytes.map((b, task) => ({ task, first: task, count: 1, bytes: b, attempts: '' }));
          const order = largestFirst(items);
          expect(order.map((i) => i.task).sort((a, b) => a - b)).toEqual(items.map((i) => i.task));
          const free = new Array<number>(workers).fill(0);
          for (const item of order) free[free.indexOf(Math.min(...free))]! += item.bytes;
          expect(Math.max(...free)).toBeLessThanOrEqual((4 / 3) * best(bytes, workers));
        },
      ),
    );
  });
});
