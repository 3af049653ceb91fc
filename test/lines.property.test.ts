import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { linesAsWritten, readLineBlocks, readLines } from '../functions/format/lines.js';
import { makeSplits } from '../functions/phases/plan.js';
import { LocalStorage } from '../functions/storage/local.js';
import { normalizeUri } from '../functions/storage/uri.js';
import { tempDir } from './helpers.js';

const storage = new LocalStorage();
const dir = tempDir();

/** The lines a reader must produce: LF-separated, a CR before the LF dropped, no line after a final LF. */
function expectedLines(text: string): string[] {
  if (text === '') return [];
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

async function readAllSplits(file: string, splitSize: number): Promise<string[]> {
  const uri = normalizeUri(file);
  const size = fs.statSync(file).size;
  const splits = makeSplits([{ uri, size }], splitSize, 'text');
  const lines: string[] = [];
  let bytes = 0;
  for (const s of splits) for (const c of s.chunks) bytes += await readLines(storage, c, (l) => void lines.push(l));
  expect(bytes).toBe(size); // every byte belongs to exactly one split's lines
  return lines;
}

const piece = fc.oneof(
  fc.constantFrom('\n', '\r\n', '\n\n', '\r', 'a', ' ', 'é', '€', '😀', '\t', '\u0000'),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);
const text = fc.array(piece, { maxLength: 25 }).map((parts) => parts.join(''));

describe('line rule (Hadoop LineRecordReader)', () => {
  it('reads every line exactly once for any split size down to 1 byte', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 200 })),
        async (t, splitSize) => {
          const file = path.join(dir, `p${n++}.txt`);
          fs.writeFileSync(file, t);
          expect(await readAllSplits(file, splitSize)).toEqual(expectedLines(t));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads a line longer than the split and than the read-ahead, exactly once', async () => {
    const long = 'x'.repeat(300_000);
    const t = `first\n${long}\nmiddle\r\n${long}é${long}\nlast`;
    const file = path.join(dir, 'long.txt');
    fs.writeFileSync(file, t);
    for (const size of [4096, 65_536, 100_000, 1 << 20])
      expect(await readAllSplits(file, size)).toEqual(expectedLines(t));
  });

  it('drops a UTF-8 byte-order mark at the start of an object only', async () => {
    const file = path.join(dir, 'bom.txt');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a\n\uFEFFb\n')]));
    // Cut into splits, and whole (a small local object is read at once: lines.ts, wholeObjectNow).
    for (const size of [2, 1 << 20]) expect(await readAllSplits(file, size)).toEqual(['a', '\uFEFFb']);
    const offsets: number[] = [];
    await readLines(
      storage,
      { uri: normalizeUri(file), start: 0, end: 11, size: 11 },
      (_l, at) => void offsets.push(at),
    );
    expect(offsets).toEqual([3, 5]);
  });

  it('decodes invalid UTF-8 with replacement characters, losing no line', async () => {
    const file = path.join(dir, 'bad.txt');
    fs.writeFileSync(file, Buffer.from([0x61, 0xff, 0x0a, 0xc3, 0x0a, 0x62]));
    expect(await readAllSplits(file, 1)).toEqual(['a\uFFFD', '\uFFFD', 'b']);
  });

  it('decodes any bytes as decoding the whole object would, and gives each line its byte offset', async () => {
    let n = 0;
    // ASCII, CR, LF, a two-byte and a four-byte sequence cut anywhere, stray continuation bytes.
    const bytes = fc.array(fc.constantFrom(0x61, 0x0a, 0x0a, 0x0d, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0x80), {
      maxLength: 80,
    });
    await fc.assert(
      fc.asyncProperty(bytes, fc.integer({ min: 1, max: 30 }), async (content, splitSize) => {
        const file = path.join(dir, `decoded-${n++}.txt`);
        const body = Buffer.from(content);
        fs.writeFileSync(file, body);
        const uri = normalizeUri(file);
        const lines: string[] = [];
        const offsets: number[] = [];
        for (const s of makeSplits([{ uri, size: body.length }], splitSize, 'text'))
          for (const c of s.chunks)
            await readLines(storage, c, (l, at) => {
              lines.push(l);
              offsets.push(at);
            });
        expect(lines).toEqual(expectedLines(body.toString('utf8')));
        const starts = [0];
        for (let i = body.indexOf(0x0a); i >= 0 && i + 1 < body.length; i = body.indexOf(0x0a, i + 1))
          starts.push(i + 1);
        expect(offsets).toEqual(body.length === 0 ? [] : starts);
      }),
      { numRuns: 500 },
    );
  });

  it('reads whole objects into one reused buffer only for a sink that copies: each block holds its own object', async () => {
    let n = 0;
    // Bytes that make no byte-order mark or compression magic, and no CR: each block is its object.
    const byte = fc.constantFrom(0x61, 0x0a, 0x20, 0xc3, 0xa9, 0xff, 0x09, 0x00);
    const contents = fc.array(fc.array(byte, { maxLength: 3000 }), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(contents, async (objects) => {
        const chunks = objects.map((bytes) => {
          const file = path.join(dir, `reuse-${n++}.bin`);
          fs.writeFileSync(file, Buffer.from(bytes));
          return { uri: normalizeUri(file), start: 0, end: bytes.length, size: bytes.length };
        });
        const expected = objects.map((bytes) => Buffer.from(bytes));
        const copied: Buffer[] = [];
        const kept: Buffer[] = [];
        for (const c of chunks) {
          let got: Buffer = Buffer.alloc(0);
          await readLineBlocks(storage, c, { sinkCopies: true }, (block) => {
            got = Buffer.concat([got, block]);
          });
          copied.push(got);
          let mine: Buffer = Buffer.alloc(0);
          await readLineBlocks(storage, c, {}, (block) => {
            mine = block; // kept as it is, not copied
          });
          kept.push(mine);
        }
        expect(copied).toEqual(expected);
        expect(kept).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('hands a program the lines readLines gives, as bytes, each with a LF, for any split size', async () => {
    let n = 0;
    const bytes = fc.array(fc.constantFrom(0x61, 0x0a, 0x0a, 0x0d, 0xc3, 0xa9, 0xff, 0x09), { maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(bytes, fc.integer({ min: 1, max: 20 }), async (content, splitSize) => {
        const file = path.join(dir, `written-${n++}.txt`);
        fs.writeFileSync(file, Buffer.from(content));
        const uri = normalizeUri(file);
        const lines: string[] = [];
        const written: Buffer[] = [];
        let count = 0;
        for (const s of makeSplits([{ uri, size: content.length }], splitSize, 'text'))
          for (const c of s.chunks) {
            await readLines(storage, c, (l) => void lines.push(l));
            await readLineBlocks(storage, c, {}, (block) => {
              const w = linesAsWritten(Buffer.from(block));
              written.push(w.bytes);
              count += w.lines;
            });
          }
        expect(Buffer.concat(written).toString('utf8')).toBe(lines.map((l) => `${l}\n`).join(''));
        expect(count).toBe(lines.length);
      }),
      { numRuns: 300 },
    );
  });
});
