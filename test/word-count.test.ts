import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { RunWriter } from '../functions/format/runs.js';
import { countWords } from '../functions/format/words.js';
import { CombineTable, sum } from '../functions/phases/combine-table.js';
import { initialSlots, WordCountTable } from '../functions/phases/word-count.js';
import { defineJob } from '../sdk/index.js';

/** The job the byte path stands in for: countWords per line, combined by sum. */
const job = defineJob({
  name: 'wc',
  map: countWords,
  combine: sum,
  reduce: (w: string, c: Iterable<number>, emit) => emit(w, sum(c)),
});

/** Runs written by a table, as bytes and run entries. */
async function runsOf(table: { write(out: RunWriter, R: number): Promise<void> }, R: number) {
  const chunks: Buffer[] = [];
  const out = new RunWriter((c) => void chunks.push(Buffer.from(c)));
  await table.write(out, R);
  await out.finish();
  return { bytes: Buffer.concat(chunks), runs: out.runs };
}

/** The string path: each line (as readLines gives it) through countWords into a CombineTable. */
function viaStrings(text: string): { table: CombineTable; lines: number } {
  const table = new CombineTable(job, 0);
  if (text === '') return { table, lines: 0 };
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines = body.split('\n');
  for (const line of lines) countWords(line.endsWith('\r') ? line.slice(0, -1) : line, table.add);
  return { table, lines: lines.length };
}

/** Cuts bytes into blocks of whole lines at the given LF positions, as readLineBlocks hands them. */
function blocksOf(bytes: Buffer, cuts: number[]): Buffer[] {
  const ends = new Set<number>();
  const nls: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) nls.push(i + 1);
  for (const c of cuts) if (nls.length > 0) ends.add(nls[c % nls.length]!);
  ends.add(bytes.length);
  const out: Buffer[] = [];
  let s = 0;
  for (const e of [...ends].sort((a, b) => a - b)) {
    if (e > s) out.push(Buffer.from(bytes.subarray(s, e))); // a copy: the table lower-cases in place
    s = e;
  }
  return out;
}

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'Word', 'THE', 'the', '_x9', '42', ' ', ', ', '.', '-', '\t') },
  { weight: 3, arbitrary: fc.constantFrom('\n', '\r\n', '\r', '\n\n') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'É',
      'ß',
      'İ',
      'ΣΑΣ',
      'όσος',
      '😀',
      '٣',
      'naïve',
      'Straße',
      '\u00a0',
      '\ufeff',
      '𝐀𝐁',
      '𐐀x',
      '’s',
      '—',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 5 }) },
);

describe('word count on bytes (WordCountTable)', () => {
  it('writes exactly the runs of countWords + sum on strings, for any text cut into any blocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(fc.constantFrom(0xff, 0xc3, 0x80, 0xe2), { maxLength: 2 }),
        fc.constantFrom(1, 3),
        fc.constantFrom('x\n', '', 'x', 'é', 'Σ x\r'),
        async (parts, cuts, invalid, R, ending) => {
          // Invalid UTF-8 reads as U+FFFD on both paths: put some bytes in.
          const bytes = Buffer.concat([Buffer.from(parts.join('')), Buffer.from(invalid), Buffer.from(ending)]);
          const strings = viaStrings(bytes.toString('utf8'));
          const table = new WordCountTable();
          let lines = 0;
          for (const block of blocksOf(bytes, cuts)) lines += table.countBlock(block);
          expect(lines).toBe(strings.lines);
          expect(table.records).toBe(strings.table.records);
          expect(table.size).toBe(strings.table.size);
          const a = await runsOf(table, R);
          const b = await runsOf(strings.table, R);
          expect(a.runs).toEqual(b.runs);
          expect(a.bytes.equals(b.bytes)).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('keeps every word when its table grows (from 2^16 slots, past 32,768 distinct words: two doublings)', async () => {
    const words = Array.from({ length: 140_000 }, (_, i) => `w${(i * 7919) % 100_003}`);
    const text = `${words.join(' ')}\n${words.slice(0, 5000).join(' ')}\n`;
    const table = new WordCountTable(undefined, 1 << 16);
    table.countBlock(Buffer.from(text));
    const strings = viaStrings(text);
    expect(table.size).toBe(strings.table.size);
    expect(table.size).toBeGreaterThan(2 * 32_768);
    expect((await runsOf(table, 3)).bytes.equals((await runsOf(strings.table, 3)).bytes)).toBe(true);
  });

  it('counts a last line without LF, CRLF lines and long pieces of ASCII and non-ASCII text', async () => {
    const text = `${'Alpha beta, GAMMA\r\n'.repeat(3000)}Ünïcode wörds ΣΑΣ here\n${'x_1 y '.repeat(5000)}end`;
    const table = new WordCountTable();
    const lines = table.countBlock(Buffer.from(text));
    const strings = viaStrings(text);
    expect(lines).toBe(3002);
    expect(lines).toBe(strings.lines);
    expect((await runsOf(table, 2)).bytes.equals((await runsOf(strings.table, 2)).bytes)).toBe(true);
  });

  it('starts with 2^18 slots under the default sort buffer, fewer under a small one', () => {
    expect(initialSlots(64 * 2 ** 20)).toBe(2 ** 18);
    expect(initialSlots(1 << 20)).toBe(2 ** 12);
    expect(initialSlots(1024)).toBe(1024);
    // What a new table holds against the sort buffer: its arena (1 MiB), its slots (16 bytes each)
    // and the list of the filled ones (4 bytes for each of half the slots).
    expect(new WordCountTable(undefined, initialSlots(1 << 20)).bytes).toBe(2 ** 20 + 2 ** 16 + 2 ** 13);
  });

  it('asks to be written out before a count could overflow, and starts empty after', async () => {
    const table = new WordCountTable(1000);
    table.countBlock(Buffer.from('same '.repeat(999)));
    expect(table.bytes).toBeLessThan(Number.POSITIVE_INFINITY);
    table.countBlock(Buffer.from('same\n'));
    expect(table.bytes).toBe(Number.POSITIVE_INFINITY);
    const { runs } = await runsOf(table, 1);
    expect(runs[0]![2]).toBe(1);
    expect(table.size).toBe(0);
    expect(table.bytes).toBeLessThan(Number.POSITIVE_INFINITY);
  });
});
