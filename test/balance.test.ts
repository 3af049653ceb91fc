/**
 * Balance on the local engine: with two workers Plan's splits shrink toward the end of the
 * input for a job without a combiner, one split per worker of equal estimated work for one with
 * a combiner (each map task's table costs more than the balance saves: plan.ts), and a user-written job's output
 * stays exact; every task says which worker ran
 * it, and the run's summary and report give each worker's idle time per phase (sdk/report.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DEFAULTS } from '../functions/config.js';
import { type JobManifest, runLocal } from '../sdk/index.js';
import { describeIdle, idleByWorker, renderReport } from '../sdk/report.js';
import { countsOf, expectedWordCounts, FIXTURES, MOBY, outputLines, ROOT, sortedEntries, tempDir } from './helpers.js';

const USER_WORDCOUNT = path.join(ROOT, 'bench', 'jobs', 'user-wordcount.ts');
const WITHOUT_COMBINE = path.join(FIXTURES, 'user-wordcount-no-combine.ts');

/** Just over the size at which the splits shrink (2 workers × 2 × minSplitSize): real text,
 * Moby-Dick repeated, the second half with its lines joined (longer lines, other work per byte). */
function skewedInput(): string[] {
  const dir = tempDir();
  const book = fs.readFileSync(path.join(MOBY, 'data.txt'), 'utf8');
  const copies = Math.ceil((4 * DEFAULTS.minSplitSize + 1) / Buffer.byteLength(book) / 2);
  fs.writeFileSync(path.join(dir, 'a.txt'), book.repeat(copies));
  fs.writeFileSync(path.join(dir, 'b.txt'), book.repeat(copies).replace(/\n(?!\n)/g, ' '));
  return [path.join(dir, 'a.txt'), path.join(dir, 'b.txt')];
}

describe('balanced map tasks', () => {
  it("run a user's own word count without a combiner over shrinking splits on two workers, exactly, each task naming its worker", async () => {
    const files = skewedInput();
    const output = path.join(tempDir(), 'out');
    const { manifest } = await runLocal(WITHOUT_COMBINE, { input: path.dirname(files[0]!), output, workers: 2 });

    expect(sortedEntries(countsOf(outputLines(output)))).toEqual(sortedEntries(expectedWordCounts(files)));
    // More map tasks than workers (equal splits made one per worker: 2).
    expect(manifest.map.tasks).toBeGreaterThan(2);
    // Two worker threads ran the tasks, and the summary's idle times come from them.
    expect(new Set(manifest.tasks.map((t) => t.worker)).size).toBe(2);
    const idle = idleByWorker(manifest);
    expect(idle?.map.idle).toHaveLength(2);
    expect(idle?.reduce?.idle).toHaveLength(2);
    // The report's phase table shows them.
    expect(renderReport(manifest)).toContain(`<td>${describeIdle(idle!.map)}</td>`);
  }, 120_000);

  it('give a job with a combiner one split per worker, cut at equal estimated work (fewer bytes of the shorter lines), exactly', async () => {
    const files = skewedInput();
    const output = path.join(tempDir(), 'out');
    const { manifest } = await runLocal(USER_WORDCOUNT, { input: path.dirname(files[0]!), output, workers: 2 });
    expect(sortedEntries(countsOf(outputLines(output)))).toEqual(sortedEntries(expectedWordCounts(files)));
    expect(manifest.map.tasks).toBe(2);
    // a.txt has Moby-Dick's lines (~60 columns), b.txt the same bytes as paragraphs: the first
    // task's share of the bytes is smaller by about the lines' cost (recordCostBytes per line).
    const [first, second] = manifest.tasks.filter((t) => t.phase === 'map').sort((x, y) => x.task - y.task);
    const a = fs.statSync(files[0]!).size;
    expect(first!.bytes).toBeLessThan(a - 0.03 * a);
    expect(first!.bytes + second!.bytes).toBe(a + fs.statSync(files[1]!).size);
  }, 120_000);
});

describe('idle time per worker', () => {
  const task = (phase: 'map' | 'reduce', n: number, worker: string | undefined, start: number, end: number) => ({
    phase,
    task: n,
    start,
    end,
    attempt: `a${n}`,
    ...(worker ? { worker } : {}),
    records: 0,
    bytes: 0,
  });
  const manifest = (tasks: JobManifest['tasks']) => ({ tasks }) as JobManifest;

  it("is each worker's time in a phase's span (first start to last end) outside its own tasks", () => {
    // Map: A runs 0-4 s and 4-6 s; B runs 0-3 s, then waits. Reduce: A 7-8 s, B 6.5-8 s.
    const m = manifest([
      task('map', 0, 'A', 0, 4000),
      task('map', 1, 'B', 0, 3000),
      task('map', 2, 'A', 4000, 6000),
      task('reduce', 0, 'B', 6500, 8000),
      task('reduce', 1, 'A', 7000, 8000),
    ]);
    expect(idleByWorker(m)).toEqual({
      map: {
        span: 6,
        idle: [
          { worker: 'A', seconds: 0 },
          { worker: 'B', seconds: 3 },
        ],
      },
      reduce: {
        span: 1.5,
        idle: [
          { worker: 'A', seconds: 0.5 },
          { worker: 'B', seconds: 0 },
        ],
      },
    });
  });

  it('is not told when the tasks do not name their workers (the cloud) or one worker ran them all', () => {
    expect(idleByWorker(manifest([task('map', 0, undefined, 0, 1), task('map', 1, undefined, 0, 1)]))).toBeUndefined();
    expect(idleByWorker(manifest([task('map', 0, 'A', 0, 1), task('reduce', 0, 'A', 1, 2)]))).toBeUndefined();
  });
});
