import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { byteOrder, partitionedOrder } from '../functions/format/byte-order.js';
import { partitionOf, partitionOfBytes } from '../functions/format/hash.js';
import { RunWriter } from '../functions/format/runs.js';
import { LineTable } from '../functions/phases/line-table.js';
import { splitKeyValue } from '../functions/phases/stream.js';

/** Bytes program output is made of: ASCII, separators, CR/LF, NUL, UTF-8 (é, €) and bytes that are not UTF-8. */
const BYTE = fc.constantFrom(
  0x61,
  0x62,
  0x41,
  0x09,
  0x09,
  0x3a,
  0x0a,
  0x0a,
  0x0d,
  0x00,
  0xc3,
  0xa9,
  0xe2,
  0x82,
  0xac,
  0xff,
);

/** Program output cut into chunks anywhere. */
const OUTPUT = fc
  .array(BYTE, { maxLength: 300 })
  .chain((bytes) =>
    fc.tuple(fc.constant(Buffer.from(bytes)), fc.uniqueArray(fc.nat({ max: bytes.length }), { maxLength: 6 })),
  )
  .map(([bytes, cuts]) => {
    const at = [0, ...cuts.sort((x, y) => x - y), bytes.length];
    return { bytes, chunks: at.slice(1).map((e, i) => bytes.subarray(at[i], e)) };
  });

/** The lines the string path hands on (stream.ts: decoded as UTF-8, LF or CRLF ends a line, a last line may lack it). */
function stringLines(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  const lines: string[] = [];
  let i = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', i)) {
    lines.push(text.slice(i, nl > i && text[nl - 1] === '\r' ? nl - 1 : nl));
    i = nl + 1;
  }
  if (i < text.length) lines.push(text.endsWith('\r') ? text.slice(i, -1) : text.slice(i));
  return lines;
}

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The string path's records: each line split by Hadoop's rule, partitioned, stably sorted by key bytes. */
function stringRecords(bytes: Buffer, separator: string, keyFields: number, R: number): [string, string][][] {
  const parts: [string, string][][] = Array.from({ length: R }, () => []);
  for (const line of stringLines(bytes)) {
    const [k, v] = splitKeyValue(line, separator, keyFields);
    parts[partitionOf(k, R)]!.push([k, v]);
  }
  return parts.map((p) => p.sort((x, y) => utf8Order(x[0], y[0]))); // Array#sort is stable
}

async function written(write: (out: RunWriter) => Promise<void>) {
  const chunks: Buffer[] = [];
  const out = new RunWriter((c) => void chunks.push(Buffer.from(c)));
  await write(out);
  await out.finish();
  return { bytes: Buffer.concat(chunks), runs: out.runs };
}

function tableOf(chunks: Buffer[], separator: string, keyFields: number): LineTable {
  const table = new LineTable(separator, keyFields);
  for (const c of chunks) table.chunk(Buffer.from(c)); // the table may not keep the pipe's buffers
  table.end();
  return table;
}

const SEPARATORS = fc.constantFrom('\t', ':', '::', 'é');

/** Checks that the table writes what the string path writes for this output. */
async function expectSameRuns(chunks: Buffer[], sep: string, keyFields: number, R: number): Promise<void> {
  const table = tableOf(chunks, sep, keyFields);
  const expected = stringRecords(Buffer.concat(chunks), sep, keyFields, R);
  expect(table.records).toBe(expected.flat().length);
  const got = await written((out) => table.write(out, R));
  const want = await written(async (out) => {
    for (const part of expected) {
      for (const [k, v] of part) out.append(0, k, v);
      out.endRun();
    }
  });
  expect(got.runs).toEqual(want.runs);
  expect(got.bytes.toString('latin1')).toBe(want.bytes.toString('latin1'));
}

describe('LineTable: program output held as bytes', () => {
  it('writes the runs the string path writes, byte for byte, however the output is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        OUTPUT,
        SEPARATORS,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        (o, sep, k, R) => expectSameRuns(o.chunks, sep, k, R),
      ),
      { numRuns: 400 },
    );
  });

  it('keeps every key when its table grows (past 2,048 distinct keys: several doublings)', async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => `k${(i * 7919) % 20_011}\t${i}\n`).join('');
    await expectSameRuns([Buffer.from(lines)], '\t', 1, 3);
  });

  it('finds the key end as splitKeyValue does where separators run together, overlap or meet a CR', async () => {
    const output = Buffer.from('a:::b:c\n::\n:::\n::::x\nk::v::w\né::é\n:\na\n\n::b::\nax\r\na\rb\r\nx\r\r\nab\r');
    for (const keyFields of [1, 2, 3])
      for (const [sep, R] of [
        ['::', 1],
        [':', 2],
        ['x\r', 1],
        ['\r', 2],
        ['a\n', 1],
      ] as const)
        await expectSameRuns([output], sep, keyFields, R);
  });

  it("feeds a combiner the string path's lines: partition after partition, sorted, key<separator>value", async () => {
    await fc.assert(
      fc.asyncProperty(
        OUTPUT,
        SEPARATORS,
        SEPARATORS,
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        async (o, sep, reduceSep, keyFields, R) => {
          const table = tableOf(o.chunks, sep, keyFields);
          const pieces: Buffer[] = [];
          await table.feed(reduceSep, R, (piece) => void pieces.push(piece));
          const want = stringRecords(o.bytes, sep, keyFields, R)
            .flat()
            .map(([k, v]) => `${k}${reduceSep}${v}\n`)
            .join('');
          expect(Buffer.concat(pieces).toString('utf8')).toBe(want);
          expect(table.size).toBe(0); // emptied
        },
      ),
      { numRuns: 300 },
    );
  });

  it('feeds a long record in a piece of its own, and keeps taking lines after being emptied', async () => {
    const long = `${'x'.repeat(100_000)}\t1\n`;
    const table = tableOf([Buffer.from(`b\t2\n${long}a\t3\n`)], '\t', 1);
    const pieces: Buffer[] = [];
    await table.feed('\t', 1, (piece) => void pieces.push(piece));
    expect(Buffer.concat(pieces).toString()).toBe(`a\t3\nb\t2\n${long}`);
    table.chunk(Buffer.from('z\t9\n'));
    const { bytes } = await written((out) => table.write(out, 1));
    expect(bytes.length).toBe(1 + 4 + 1 + 4 + 1);
  });
});

describe('byteOrder', () => {
  /** The strings in arena form, and byteOrder's order of them as buffers. */
  const ordered = (strings: number[][], fiveBytePositions?: number) => {
    const arena = Buffer.from(strings.flat());
    const offsets = new Int32Array(strings.length);
    const lengths = new Int32Array(strings.length);
    let at = 0;
    strings.forEach((s, i) => {
      offsets[i] = at;
      lengths[i] = s.length;
      at += s.length;
    });
    return [...byteOrder(arena, offsets, lengths, fiveBytePositions)];
  };
  // Few distinct bytes, and often one of a few 4- or 5-byte beginnings, so that strings tie on
  // the keys' five bytes: in small ties (insertion) and large ones (over 16: the merge sort),
  // with zeros that pad a key or are the string's own.
  const byteString = fc
    .tuple(
      fc.constantFrom([], [0x61, 0x61, 0x61, 0x61], [0x61, 0x61, 0x61, 0x61, 0x62], [0, 0, 0, 0, 0]),
      fc.array(fc.constantFrom(0, 1, 0x61, 0x62, 0xff), { maxLength: 5 }),
    )
    .map(([head, tail]) => [...head, ...tail]);
  const many = { maxLength: 600, size: 'max' } as const;

  it('orders byte strings as Buffer.compare does, NUL bytes and prefixes included', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(byteString, { selector: (a) => a.join(','), ...many }),
        fc.constantFrom(undefined, 0, 7),
        (strings, fiveBytePositions) => {
          const got = ordered(strings, fiveBytePositions).map((i) => Buffer.from(strings[i]!));
          const want = strings.map((s) => Buffer.from(s)).sort(Buffer.compare);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('partitionedOrder: partition after partition, each in byteOrder, equal strings by position', () => {
    fc.assert(
      fc.property(
        fc.array(byteString, many),
        fc.constantFrom(1, 2, 3, 7),
        fc.constantFrom(undefined, 0, 7),
        (strings, R, five) => {
          const arena = Buffer.from(strings.flat());
          const offsets = new Int32Array(strings.length);
          const lengths = new Int32Array(strings.length);
          strings.forEach((s, i) => {
            offsets[i] = i === 0 ? 0 : offsets[i - 1]! + lengths[i - 1]!;
            lengths[i] = s.length;
          });
          const part = (i: number) => partitionOfBytes(arena, offsets[i]!, offsets[i]! + lengths[i]!, R);
          const want = strings
            .map((_, i) => i)
            .sort((a, b) => part(a) - part(b) || Buffer.compare(Buffer.from(strings[a]!), Buffer.from(strings[b]!)));
          const { order, ends } = partitionedOrder(arena, offsets, lengths, R, five);
          expect([...order]).toEqual(want);
          expect([...ends]).toEqual(Array.from({ length: R }, (_, p) => want.filter((i) => part(i) <= p).length));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps equal strings in the order of their positions', () => {
    fc.assert(
      fc.property(fc.array(byteString, many), fc.constantFrom(undefined, 0), (strings, five) => {
        const positions = strings.map((_, i) => i);
        // Array.prototype.sort is stable: equal strings stay in position order.
        const want = positions.sort((a, b) => Buffer.compare(Buffer.from(strings[a]!), Buffer.from(strings[b]!)));
        expect(ordered(strings, five)).toEqual(want);
      }),
      { numRuns: 100 },
    );
  });
});
