import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULTS, parseSize } from '../functions/config.js';
import { ChecksumMismatchError } from '../functions/errors.js';
import { crc32c } from '../functions/format/crc32c.js';
import { parseCsvLine } from '../functions/format/csv.js';
import { murmur3, murmur3Bytes, partitionOf, partitionOfBytes } from '../functions/format/hash.js';
import { GroupedMerge } from '../functions/format/merge.js';
import { formatRecord } from '../functions/format/output.js';
import {
  compareUtf8,
  RecordBuffer,
  RecordReader,
  sortByUtf8,
  sortUtf8,
  VALUE_JSON,
} from '../functions/format/records.js';
import { RunWriter } from '../functions/format/runs.js';
import type { AnyJob } from '../functions/job.js';
import { CombineTable, concat, sum } from '../functions/phases/combine-table.js';
import { makeSplits } from '../functions/phases/plan.js';
import { checkedRangeReader } from '../functions/phases/reduce.js';
import type { FetchRange } from '../functions/phases/shuffle.js';
import { LocalStorage } from '../functions/storage/local.js';
import { tokens } from '../sdk/features.js';
import { words } from '../sdk/text.js';
import { tempDir } from './helpers.js';

describe('crc32c', () => {
  it('matches the standard check value and AWS’s implementation, in one call or in pieces', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
        const at = bytes.length === 0 ? 0 : cut % bytes.length;
        expect(crc32c(bytes)).toBe(awsCrc32c(bytes));
        expect(crc32c(bytes, crc32c(bytes, 0, 0, at), at, bytes.length)).toBe(awsCrc32c(bytes));
      }),
    );
  });
});

/**
 * Published MurmurHash3 x86_32 vectors: Ian Boyd's (stackoverflow.com/a/31929528, the set the
 * mmh3 and Bitcoin Core test suites carry) and scikit-learn's (sklearn/utils/tests/
 * test_murmurhash.py: murmurhash3_32("foo") is -156908512), as [UTF-8 text, seed, hash].
 */
const MURMUR3_VECTORS: [string, number, number][] = [
  ['', 0, 0],
  ['', 1, 0x514e28b7],
  ['', 0xffffffff, 0x81f16f39],
  ['\0\0\0\0', 0, 0x2362f9de],
  ['aaaa', 0x9747b28c, 0x5a97808a],
  ['aaa', 0x9747b28c, 0x283e0130],
  ['aa', 0x9747b28c, 0x5d211726],
  ['a', 0x9747b28c, 0x7fa09ea6],
  ['abcd', 0x9747b28c, 0xf0478627],
  ['abc', 0x9747b28c, 0xc84a62dd],
  ['ab', 0x9747b28c, 0x74875592],
  ['Hello, world!', 0x9747b28c, 0x24884cba],
  ['ππππππππ', 0x9747b28c, 0xd58063c1], // U+03C0, two UTF-8 bytes each
  ['a'.repeat(256), 0x9747b28c, 0x37405bdc],
  ['abc', 0, 0xb3dd93fa],
  ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', 0, 0xee925b90],
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ['foo', 0, -156908512 >>> 0],
  ['foo', 42, -1322301282 >>> 0],
];
/** Byte strings that are not UTF-8 text (the Go x/tools vectors of the same set). */
const MURMUR3_BYTE_VECTORS: [number[], number, number][] = [
  [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
  [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
  [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
  [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
  [[0x21, 0x43], 0, 0xa0f7b07a],
  [[0x21], 0, 0x72661cf4],
  [[0, 0, 0], 0, 0x85f0b427],
  [[0, 0], 0, 0x30f4c306],
];

/** Any UTF-16 code units, lone surrogates included (fast-check's own strings are well-formed). */
const utf16 = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 24 }).map((u) => String.fromCharCode(...u));

describe('murmur3 partitioner', () => {
  it('gives the published MurmurHash3 x86_32 values, of strings and of bytes', () => {
    for (const [text, seed, hash] of MURMUR3_VECTORS) {
      expect(murmur3(text, seed) >>> 0).toBe(hash);
      const bytes = Buffer.from(text, 'utf8');
      expect(murmur3Bytes(bytes, 0, bytes.length, seed) >>> 0).toBe(hash);
    }
    for (const [bytes, seed, hash] of MURMUR3_BYTE_VECTORS)
      expect(murmur3Bytes(Uint8Array.from(bytes), 0, bytes.length, seed) >>> 0).toBe(hash);
  });

  it('hashes a string as the bytes Node encodes it to (astral characters, lone surrogates as U+FFFD)', () => {
    // murmur3Bytes is pinned by the published vectors above; Buffer.from is Node's UTF-8 encoder.
    const sample = fc.oneof(utf16, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
    fc.assert(
      fc.property(sample, fc.integer(), (s, seed) => {
        const bytes = Buffer.from(s, 'utf8');
        expect(murmur3(s, seed)).toBe(murmur3Bytes(bytes, 0, bytes.length, seed));
      }),
      { numRuns: 2000 },
    );
    for (const s of ['\ud800', 'a\udfff', '\ud83d\ude00', '\ude00\ud83d', 'x\ud800y\udc00z'])
      expect(murmur3(s)).toBe(murmur3Bytes(Buffer.from(s), 0, Buffer.byteLength(s), 0));
  });

  it('partitions by the unsigned hash modulo R, as Hadoop-style partitioners of a published hash', () => {
    // murmur3('abc') = 0xb3dd93fa and murmur3('abcdbcde...') = 0xee925b90 (published, seed 0):
    // both have the top bit set, so a signed remainder would differ.
    expect(partitionOf('abc', 1000)).toBe(0xb3dd93fa % 1000);
    expect(partitionOf('abc', 7)).toBe(0xb3dd93fa % 7);
    expect(partitionOf('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', 1000)).toBe(0xee925b90 % 1000);
    expect(partitionOf('', 5)).toBe(0);
    fc.assert(
      fc.property(utf16, fc.integer({ min: 1, max: 10_000 }), (s, R) => {
        const p = partitionOf(s, R);
        expect(Number.isInteger(p) && p >= 0 && p < R).toBe(true);
      }),
    );
  });

  it('gives the same hash and partition for the UTF-8 bytes as for the string, anywhere in a buffer', () => {
    fc.assert(
      fc.property(
        fc.oneof(utf16, fc.string({ unit: 'binary' })),
        fc.nat(5),
        fc.nat(5),
        fc.integer({ min: 1, max: 64 }),
        (s, pre, post, R) => {
          const text = Buffer.from(s, 'utf8');
          const buf = Buffer.concat([Buffer.alloc(pre, 0x61), text, Buffer.alloc(post, 0x7a)]);
          expect(murmur3Bytes(buf, pre, pre + text.length, 42)).toBe(murmur3(s, 42));
          expect(partitionOfBytes(buf, pre, pre + text.length, R)).toBe(partitionOf(s, R));
        },
      ),
    );
  });
});

describe('compareUtf8', () => {
  it('orders strings as the bytes of their UTF-8 encodings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const expected = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        // Lone surrogates encode as U+FFFD, so only well-formed strings are compared byte for byte.
        if (a.isWellFormed() && b.isWellFormed()) expect(Math.sign(compareUtf8(a, b))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    expect(compareUtf8('\uffff', '😀')).toBeLessThan(0);
  });

  it('sorts keys in UTF-8 byte order, natively when no key needs compareUtf8, keeping equal keys in order', () => {
    const unit = fc.constantFrom('a', 'b', 'B', '\t', 'é', '\u0800', '\ue000', '\uffff', '😀', '𝄞');
    fc.assert(
      fc.property(fc.array(fc.string({ unit, maxLength: 4 })), fc.boolean(), (keys, ascii) => {
        const ks = ascii ? keys.map((k) => k.replace(/[^\x00-\x7f]/gu, 'z')) : keys;
        const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
        expect(sortUtf8([...ks])).toEqual([...ks].sort(bytes));
        const items = ks.map((k, i) => ({ k, i }));
        const expected = [...items].sort((x, y) => bytes(x.k, y.k) || x.i - y.i);
        expect(sortByUtf8(items, (x) => x.k)).toEqual(expected);
      }),
    );
  });
});

describe('k-way merge', () => {
  it('groups sorted runs like a stable sort by UTF-8 bytes: every record once, equal keys in run order', () => {
    const unit = fc.constantFrom('a', 'b', 'B', '\t', '\n', '\0', 'é', '\ue000', '😀');
    const run = fc.array(fc.tuple(fc.string({ unit, maxLength: 3 }), fc.string({ maxLength: 3 })), { maxLength: 25 });
    const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    fc.assert(
      fc.property(
        fc.array(run, { maxLength: 11 }),
        fc.integer({ min: 16, max: 64 }),
        fc.boolean(),
        fc.boolean(),
        (records, bufferBytes, skipSome, asBytes) => {
          // Each run sorted by key (stably) as a map task writes it, then read through a small buffer.
          const runs = records.map((r) =>
            r.map(([k, v], i) => ({ k, v, i })).sort((x, y) => bytes(x.k, y.k) || x.i - y.i),
          );
          const readers = runs.map((r) => {
            const b = new RecordBuffer(16);
            for (const { k, v } of r) b.append(0, k, v);
            const data = b.view();
            let off = 0;
            return new RecordReader(
              (target, max) => {
                const n = Math.min(max, data.length - off);
                data.copy(target, 0, off, off + n);
                off += n;
                return n;
              },
              data.length,
              bufferBytes,
            );
          });
          const expected = new Map<string, string[]>();
          for (const { k, v } of runs
            .flatMap((r, run) => r.map((x) => ({ ...x, run })))
            .sort((x, y) => bytes(x.k, y.k) || x.run - y.run || x.i - y.i))
            expected.set(k, [...(expected.get(k) ?? []), v]);

          if (asBytes) {
            // The records' bytes copied as they are (a reducer program's input): key, TAB, value, LF.
            const merge = new GroupedMerge(readers);
            const out = Buffer.alloc(64 * 1024);
            let n = 0;
            while (merge.nextGroup())
              for (let rec = merge.groupRecord(); rec; rec = merge.groupRecord()) {
                n = rec.copyKeyTo(out, n);
                out[n++] = 9;
                n = rec.copyValueTo(out, n);
                out[n++] = 10;
                merge.advance();
              }
            const want = [...expected].flatMap(([k, vs]) => vs.map((v) => `${k}\t${v}\n`)).join('');
            expect(out.subarray(0, n).toString()).toBe(want);
            return;
          }
          const merge = new GroupedMerge(readers);
          const got: [string, string[]][] = [];
          let g = 0;
          while (merge.nextGroup()) {
            // Leaving some groups unread: nextGroup skips the rest of them.
            const values = skipSome && g++ % 3 === 1 ? [] : [...merge.rawValues()].map(([text]) => text);
            got.push([merge.key, values]);
          }
          const want = [...expected].map(([k, vs], i) => [k, skipSome && i % 3 === 1 ? [] : vs]);
          expect(got).toEqual(want);
        },
      ),
    );
  });
});

describe('record framing', () => {
  it('round-trips keys and values with tabs, newlines, NUL and non-ASCII', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }))),
        (recs) => {
          const b = new RecordBuffer(16);
          for (const [f, k, v] of recs) b.append(f, k, v);
          const r = RecordReader.ofBuffer(b.view());
          const back: [number, string, string][] = [];
          while (r.next()) back.push([r.flags, r.key, r.value]);
          expect(back).toEqual(recs);
        },
      ),
    );
  });

  it('frames keys and values of every length byte: past 255, 64 Ki and 16 Mi bytes', () => {
    // Lengths whose second, third and fourth little-endian bytes are set; each kind of append.
    const long = (n: number, c: string) => c.repeat(n);
    const key = long(2 ** 24 + 3, 'k');
    const value = long(2 ** 16 + 5, 'v');
    const b = new RecordBuffer(16);
    b.append(0, key, value);
    b.appendKeyBytes(0, Buffer.from(value), 0, value.length, key);
    const one = Int32Array.of(0);
    b.appendKeyCounts(
      0,
      Buffer.from(`x${key}`),
      Int32Array.of(1),
      Int32Array.of(key.length),
      Int32Array.of(2 ** 31 - 1),
      one,
      0,
      1,
      Number.POSITIVE_INFINITY,
    );
    b.appendRecordBytes(0, Buffer.from(long(300, 'a')), 0, 300, Buffer.from(key), 0, key.length);
    const r = RecordReader.ofBuffer(b.view());
    const back: [string, string][] = [];
    while (r.next()) back.push([r.key, r.value]);
    expect(back.map(([k, v]) => [k.length, v.length])).toEqual([
      [key.length, value.length],
      [value.length, key.length],
      [key.length, 10],
      [300, key.length],
    ]);
    expect(back[2]).toEqual([key, String(2 ** 31 - 1)]);
    expect(back[0]![0] === key && back[3]![1] === key).toBe(true);
  });

  it('decodes JSON values as JSON.parse does (integers read from the bytes)', () => {
    const value = fc.oneof(
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double(),
      fc.constantFrom(0, -0, 10, -7, 1e21, 123456789012345, 1234567890123456),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fc.array(value), (values) => {
        const b = new RecordBuffer(16);
        for (const v of values) b.append(VALUE_JSON, 'k', JSON.stringify(v) ?? 'null');
        const r = RecordReader.ofBuffer(b.view());
        const back: unknown[] = [];
        while (r.next()) back.push(r.decodedValue());
        expect(back).toEqual(values.map((v) => JSON.parse(JSON.stringify(v) ?? 'null')));
      }),
    );
  });
});

describe('a reduce task’s range of a local map output, read in place (checkedRangeReader)', () => {
  /** A file holding junk, then one run of `n` records, then junk; the run's range. */
  async function runInFile(n: number): Promise<{ file: string; range: FetchRange }> {
    const chunks: Buffer[] = [];
    const w = new RunWriter((c) => {
      chunks.push(Buffer.from(c));
    });
    for (let i = 0; i < n; i++) await w.append(0, `key ${String(i).padStart(6, '0')}`, `value ${i}`);
    w.endRun();
    await w.finish();
    const [, length, records, crc] = w.runs[0]!;
    const file = path.join(tempDir(), 'm0.data');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('junk'), ...chunks, Buffer.from('more junk')]));
    return { file, range: { uri: pathToFileURL(file).href, offset: 4, length, records, crc32c: crc, task: 0 } };
  }
  const keysOf = (r: RecordReader) => {
    const keys: string[] = [];
    while (r.next()) keys.push(r.key);
    return keys;
  };

  it('reads the range’s records, in buffers smaller than the range', async () => {
    const { range } = await runInFile(5000);
    const keys = keysOf(checkedRangeReader(new LocalStorage(), range, 4096));
    expect(keys).toHaveLength(5000);
    expect(keys[4999]).toBe('key 004999');
  });

  it('fails on its checksum when a byte of the range changed, at the range’s end', async () => {
    const { file, range } = await runInFile(5000);
    const bytes = fs.readFileSync(file);
    bytes[4 + 9 + 3]! ^= 0x01; // a letter of the first key
    fs.writeFileSync(file, bytes);
    expect(() => keysOf(checkedRangeReader(new LocalStorage(), range, 4096))).toThrow(ChecksumMismatchError);
  });
});

describe('output formats', () => {
  it('writes tsv strings as they are, other values as JSON, and quotes strings that would break a line', () => {
    expect(formatRecord('tsv', 'word', 3)).toBe('word\t3\n');
    expect(formatRecord('tsv', { a: 1 }, 'x y')).toBe('{"a":1}\tx y\n');
    expect(formatRecord('tsv', 'a\tb', 'c\nd')).toBe('"a\\tb"\t"c\\nd"\n');
    expect(formatRecord('jsonl', 'k', [1, 2])).toBe('{"key":"k","value":[1,2]}\n');
  });
});

describe('csv', () => {
  it('parses quoted fields with commas and doubled quotes', () => {
    expect(parseCsvLine('a,"b,c","say ""hi""",,')).toEqual(['a', 'b,c', 'say "hi"', '', '']);
    expect(() => parseCsvLine('"open')).toThrow(/unterminated/);
  });
});

describe('splits', () => {
  it('cover every byte of every object exactly once, are of equal size and keep gzip whole', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(5000), { maxLength: 30 }), fc.integer({ min: 1, max: 2000 }), (sizes, splitSize) => {
        const objects = sizes.map((size, i) => ({
          uri: `file:///in/${String(i).padStart(3, '0')}${i % 7 === 3 ? '.gz' : ''}`,
          size,
        }));
        const splits = makeSplits(objects, splitSize, 'text');
        const seen = new Map<string, [number, number][]>();
        for (const s of splits) {
          expect(s.chunks.length).toBeGreaterThan(0);
          for (const c of s.chunks) {
            if (c.gzip) expect([c.start, c.end, s.chunks.length]).toEqual([0, c.size, 1]);
            seen.set(c.uri, [...(seen.get(c.uri) ?? []), [c.start, c.end]]);
          }
        }
        for (const o of objects) {
          const ranges = (seen.get(o.uri) ?? []).sort((a, b) => a[0] - b[0]);
          let at = 0;
          for (const [s, e] of ranges) {
            expect(s).toBe(at);
            at = e;
          }
          expect(at).toBe(o.size);
        }
        expect(splits.map((s) => s.index)).toEqual(splits.map((_, i) => i));
        // Equal sizes: every split of plain objects holds splitSize bytes, give or take the slop
        // (the last one of the input may hold less), so map tasks finish together.
        const slop = Math.floor(splitSize * (DEFAULTS.splitSlop - 1));
        const plain = splits.filter((s) => !s.chunks[0]!.gzip);
        for (const [i, s] of plain.entries()) {
          expect(s.bytes).toBe(s.chunks.reduce((n, c) => n + c.end - c.start, 0));
          expect(s.bytes).toBeLessThanOrEqual(splitSize + slop);
          if (i < plain.length - 1) expect(s.bytes).toBeGreaterThanOrEqual(splitSize - slop);
        }
      }),
    );
  });
});

describe('parseSize', () => {
  it('reads bytes and binary/decimal units', () => {
    expect(parseSize('64MiB')).toBe(64 * 2 ** 20);
    expect(parseSize('1.5 GB')).toBe(1.5e9);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('lots')).toThrow(/Not a size/);
  });
});

describe('tokens', () => {
  it('equals scikit-learn’s pattern on the lower-cased text: runs of 2+ code points', () => {
    const re = (t: string) => t.toLowerCase().match(/[\p{L}\p{N}_]{2,}/gu) ?? [];
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', 'B', '_', '9', ' ', '-', 'É', 'ß', 'İ', 'Σ', '😀', '𝐀', '𐐀', '٣', '.', 'x'),
        }),
        (t) => {
          expect(tokens(t)).toEqual(re(t));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('words', () => {
  it('equals the regular expression on the lower-cased text, ASCII fast path or not', () => {
    const re = (t: string) => t.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', 'B', 'z', '_', '9', ' ', '-', 'É', 'ß', 'İ', 'Σ', '😀', '٣', '.', 'x'),
        }),
        (t) => {
          expect(words(t)).toEqual(re(t));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('words, repeated (interned) words', () => {
  it('gives the same words as the regular expression when words repeat in other cases and lengths', () => {
    const re = (t: string) => t.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
    const word = fc.constantFrom('the', 'The', 'THE', 'thee', 'a', 'A', 'ab', 'aB', '_x9', 'whalebone', 'Whale_BONE');
    const long = fc.constantFrom('abcdefghijklm', 'ABCDEFGHIJKLM', 'abcdefghijklmnopqrstuvwxyz', 'abcdefghijkl');
    const sep = fc.constantFrom(' ', '-', '. ', '\t', '’', 'É');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(word, long), sep), { maxLength: 30 }), (parts) => {
        const t = parts.map(([w, s]) => w + s).join('');
        expect(words(t)).toEqual(re(t));
        expect(words(t)).toEqual(re(t)); // a second time, from the cache
      }),
      { numRuns: 1000 },
    );
  });
});

describe('CombineTable with the SDK sum', () => {
  it('writes what calling sum for every record writes, numbers or not', async () => {
    const write = async (table: CombineTable) => {
      const chunks: Buffer[] = [];
      const out = new RunWriter((c) => {
        chunks.push(Buffer.from(c));
      });
      await table.write(out, 3);
      await out.finish();
      return { data: Buffer.concat(chunks), runs: out.runs };
    };
    const job = (combine: unknown) => ({ name: 'j', map() {}, combine }) as unknown as AnyJob;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.oneof(fc.constantFrom('a', 'b', 'é', '1'), fc.integer({ min: 0, max: 2 })),
            fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double(), fc.constantFrom('7', -0, null)),
          ),
          { maxLength: 40 },
        ),
        async (records) => {
          const fast = new CombineTable(job(sum), 0);
          const slow = new CombineTable(
            job((_k: unknown, v: Iterable<number>) => sum(v)),
            0,
          );
          for (const [k, v] of records) {
            fast.add(k, v);
            slow.add(k, v);
          }
          expect(fast.size).toBe(slow.size);
          expect(await write(fast)).toEqual(await write(slow));
        },
      ),
    );
    expect(sum([1, 2, 3])).toBe(6);
    expect(sum('key', [1, 2, 3])).toBe(6);
  });
});

describe('CombineTable with the SDK concat', () => {
  const job = (combine: unknown) => ({ name: 'j', map() {}, combine }) as unknown as AnyJob;
  const write = async (table: CombineTable) => {
    const chunks: Buffer[] = [];
    const out = new RunWriter((c) => {
      chunks.push(Buffer.from(c));
    });
    await table.write(out, 2);
    await out.finish();
    return { data: Buffer.concat(chunks), runs: out.runs };
  };

  it('writes what calling concat for every record writes, and leaves the emitted lists as they were', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'b', 'é', 'term'),
            fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 3 })), { maxLength: 4 }),
          ),
          { maxLength: 40 },
        ),
        async (records) => {
          const fast = new CombineTable(job(concat), 0);
          const slow = new CombineTable(
            job((_k: unknown, lists: Iterable<unknown[]>) => [...lists].flat()),
            0,
          );
          const emitted = records.map(([k, v]) => [k, [...v]] as const);
          for (const [k, v] of emitted) {
            fast.add(k, v);
            slow.add(k, [...v]);
          }
          expect(emitted).toEqual(records); // appending in place touched only the table's own lists
          expect(await write(fast)).toEqual(await write(slow));
        },
      ),
    );
  });

  it('counts the lists it holds towards the sort buffer, so a task with long lists spills', () => {
    const table = new CombineTable(job(concat), 0);
    table.add('the', [1]);
    const one = table.bytes;
    for (let id = 2; id <= 100_001; id++) table.add('the', [id]);
    expect(table.bytes - one).toBe(8 * 100_000);
  });

  it('says what is wrong when a value is not a list', () => {
    const table = new CombineTable(job(concat), 3);
    table.add('k', [1]);
    expect(() => table.add('k', 2)).toThrow(/concat joins arrays, and was given number/);
    expect(concat([[1], [2, 3]])).toEqual([1, 2, 3]);
    expect(concat('key', [[1], []])).toEqual([1]);
  });
});

describe('mapLimit', () => {
  it('keeps order, bounds concurrency, and after a failure starts nothing new and waits for running calls', async () => {
    const { mapLimit } = await import('../functions/phases/env.js');
    let running = 0;
    let peak = 0;
    const done = await mapLimit([5, 1, 3, 2, 4], 2, async (x) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, x));
      running--;
      return x * 10;
    });
    expect(done).toEqual([50, 10, 30, 20, 40]);
    expect(peak).toBe(2);

    const started: number[] = [];
    let finishedSlow = false;
    await expect(
      mapLimit([0, 1, 2, 3, 4], 2, async (x) => {
        started.push(x);
        if (x === 0) {
          await new Promise((r) => setTimeout(r, 30));
          finishedSlow = true;
          return x;
        }
        throw new Error(`boom ${x}`);
      }),
    ).rejects.toThrow('boom 1');
    expect(finishedSlow).toBe(true); // it waited for the running call
    expect(started).toEqual([0, 1]); // and started nothing after the failure
  });
});
