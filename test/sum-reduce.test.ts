/**
 * `reduce: sum`: the SDK's sum as a reduce emits each key with its total, and the reduce phase
 * adds the totals up on the merged bytes (tsv output). Whatever the keys and values, the output
 * must be byte for byte that of a reduce written by hand, `emit(key, sum(values))`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { LineWriter } from '../functions/format/output.js';
import { RecordBuffer } from '../functions/format/records.js';
import { concat, sum } from '../functions/phases/combine-table.js';
import type { ObjectWriter } from '../functions/storage/index.js';
import { runLocal } from '../sdk/local/engine.js';
import { partFiles, tempDir } from './helpers.js';

/** Records as `{k, v}` JSON lines: keys that need quoting or are not text, values beyond small counts. */
function records(): string {
  const keys: unknown[] = ['apple', 'Äpfel', 'tab\there', 'line\nbreak', 'cr\rhere', '', 7, 'z'.repeat(300), '日本'];
  const values = [1, 2, -3, 0, 0.5, 2 ** 53, 2 ** 53, 1e21, -0];
  const lines: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const k = keys[i % keys.length];
    const v = i % 97 === 0 ? values[(i / 97) % values.length] : (i % 13) - 4;
    lines.push(JSON.stringify({ k, v }));
  }
  // Keys whose totals go past 2^53 (written by add, as JSON) and float totals.
  for (let i = 0; i < 3; i++) lines.push(JSON.stringify({ k: 'huge', v: 2 ** 53 }));
  lines.push(JSON.stringify({ k: 'half', v: 0.5 }), JSON.stringify({ k: 'half', v: 0.25 }));
  return `${lines.join('\n')}\n`;
}

const job = (name: string, reduce: string, output: 'tsv' | 'jsonl', combine: boolean) => `
import { defineJob, sum } from 'streaming';
export default defineJob({
  name: '${name}',
  input: { format: 'jsonl' },
  map(r: { k: unknown; v: number }, emit) { emit(r.k, r.v); },
  ${combine ? 'combine: sum,' : ''}
  reduce: ${reduce},
  reducers: 3,
  output: { format: '${output}' },
});
`;

async function run(dir: string, file: string, input: string): Promise<string[]> {
  const out = path.join(dir, `out-${path.basename(file, '.ts')}`);
  await runLocal(file, { input, output: out, workers: 2, splitSize: 16 * 1024 });
  return partFiles(out).map((f) => fs.readFileSync(f, 'utf8'));
}

describe('reduce: sum', () => {
  for (const output of ['tsv', 'jsonl'] as const)
    for (const combine of [false, true])
      it(`writes what emit(key, sum(values)) writes (${output}, ${combine ? 'with' : 'without'} combine: sum)`, async () => {
        const dir = tempDir();
        const input = path.join(dir, 'records.jsonl');
        fs.writeFileSync(input, records());
        const bySdk = path.join(dir, 'by-sdk.ts');
        const byHand = path.join(dir, 'by-hand.ts');
        fs.writeFileSync(bySdk, job('by-sdk', 'sum', output, combine));
        fs.writeFileSync(
          byHand,
          job('by-hand', '(key, values: Iterable<number>, emit) => emit(key, sum(values))', output, combine),
        );
        const expected = await run(dir, byHand, input);
        expect(expected.join('')).toContain(output === 'tsv' ? '"tab\\there"\t' : '"key":"tab\\there"');
        expect(await run(dir, bySdk, input)).toEqual(expected);
      });

  it('sum and concat called with an emit emit the key with their result; without one they return it', () => {
    const emitted: [unknown, unknown][] = [];
    const emit = (k: unknown, v: unknown) => emitted.push([k, v]);
    expect(sum('a', [1, 2, 3], emit)).toBeUndefined();
    expect(concat('b', [[1], [2, 3]], emit)).toBeUndefined();
    expect(emitted).toEqual([
      ['a', 6],
      ['b', [1, 2, 3]],
    ]);
    expect(sum('a', [1, 2])).toBe(3);
    expect(sum([4, 5])).toBe(9);
    // As a callback given an index and the array, it sums (no emit among its arguments).
    expect([[1, 2], [3]].map(sum as (v: number[]) => number)).toEqual([3, 3]);
    expect(concat('b', [[1], [2]])).toEqual([1, 2]);
  });
});

describe('writing counts as bytes', () => {
  it('LineWriter.addCount writes what add(key, n) writes, in order with lines added as strings', async () => {
    const chunks: Buffer[] = [];
    const sink: ObjectWriter = {
      write: async (b: Uint8Array) => {
        chunks.push(Buffer.from(b));
      },
      end: async () => chunks.reduce((n, c) => n + c.length, 0),
      abort: async () => {},
    } as ObjectWriter;
    const byBytes = new LineWriter(sink, 'tsv');
    const byText = new LineWriter(
      { write: async () => {}, end: async () => 0, abort: async () => {} } as unknown as ObjectWriter,
      'tsv',
    );
    const expected: string[] = [];
    const numbers = [0, -0, 1, 9, 10, 99, 100, -1, -10, 123456789, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1)];
    for (let i = 0; i < 30_000; i++) {
      const key = i % 7 === 0 ? `wörd${i}` : `w${i}`;
      const n = numbers[i % numbers.length]!;
      if (i % 5 === 0) byBytes.add(key, n);
      else {
        const bytes = Buffer.from(`..${key}..`);
        byBytes.addCount(bytes, 2, bytes.length - 2, n);
      }
      byText.add(key, n);
      expected.push(`${key}\t${JSON.stringify(n)}\n`);
      if (byBytes.full) await byBytes.flush();
    }
    await byBytes.end();
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected.join(''));
    expect(byBytes.records).toBe(30_000);
  });

  it('RecordBuffer.appendKeyCounts frames what appendKeyBytes frames with the count as JSON, in the order given', () => {
    const a = new RecordBuffer(16);
    const b = new RecordBuffer(16);
    // Keys of 0-9 bytes and one past the loop copy's length, in an arena; counts of 1-10 digits.
    const keys = ['', 'a', 'counted', 'xyzzy', 'é', 'k'.repeat(200), 'z9', 'abcdefghi', 'q', 'w'];
    const counts = Int32Array.from([0, 1, 9, 10, 11, 99, 100, 65_535, 1_000_000, 2 ** 31 - 1]);
    const arena = Buffer.from(`--${keys.join('')}`);
    const offsets = new Int32Array(keys.length);
    const lengths = new Int32Array(keys.length);
    for (let z = 0, at = 2; z < keys.length; at += lengths[z]!, z++) {
      offsets[z] = at;
      lengths[z] = Buffer.byteLength(keys[z]!);
    }
    const order = Int32Array.from([3, 9, 0, 5, 1, 8, 2, 7, 4, 6]);
    // Stopped by the limit after the first record, then the rest.
    expect(a.appendKeyCounts(1, arena, offsets, lengths, counts, order, 0, 10, 1)).toBe(1);
    expect(a.appendKeyCounts(1, arena, offsets, lengths, counts, order, 1, 10, Number.POSITIVE_INFINITY)).toBe(10);
    for (const z of order) b.appendKeyBytes(1 | 2, arena, offsets[z]!, offsets[z]! + lengths[z]!, String(counts[z]));
    expect(a.view()).toEqual(b.view());
  });
});
