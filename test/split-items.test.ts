/**
 * The map manifest's items (split-items.ts): a split's chunks inline while short, else by
 * reference into the side object Plan writes; either way the map task gets its split back
 * exactly. And how many objects a split packs (makeSplits): S3 objects capped, local files not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULTS } from '../functions/config.js';
import { makeSplits, type Split } from '../functions/phases/plan.js';
import { loadSplit, splitItems } from '../functions/phases/split-items.js';
import { StorageRouter } from '../functions/storage/index.js';
import { normalizeUri } from '../functions/storage/uri.js';
import { tempDir } from './helpers.js';

const router = () => new StorageRouter();

/** Folders the objects lie in: a split's chunks share some of their URI, or only the scheme. */
const FOLDERS = ['s3://bucket/', 's3://bucket/a/', 's3://bucket/a/b/', 's3://other/a/'];

/**
 * Splits of `counts[i]` chunks each, over objects named from `names` (any Unicode, `/` too) in
 * `folders[k]` of FOLDERS: whole objects, ranges of them, and gzip objects.
 */
const splitsOf = (counts: number[], names: string[], folders: number[] = [0]): Split[] =>
  counts.map((n, index) => {
    const chunks = Array.from({ length: n }, (_, j) => {
      const size = 1 + ((index * 31 + j * 7) % 5000);
      const uri = `${FOLDERS[folders[(index + j) % folders.length]!]}${names[(index + j) % names.length]}-${index}-${j}`;
      if (j % 4 === 3) return { uri: `${uri}.gz`, start: 0, end: size, size, gzip: true };
      const start = j % 3 === 1 ? Math.floor(size / 2) : 0;
      return { uri, start, end: size, size };
    });
    return { index, chunks, bytes: chunks.reduce((b, c) => b + c.end - c.start, 0) };
  });

describe('map manifest items', () => {
  it('carries a short split inline and a long one by reference; every split loads back as it was', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 200, max: 4000 }),
        fc.array(fc.integer({ min: 0, max: FOLDERS.length - 1 }), { minLength: 1, maxLength: 4 }),
        async (counts, names, inline, folders) => {
          const splits = splitsOf(counts, names, folders);
          const listingUri = normalizeUri(path.join(tempDir(), 'split-chunks.jsonl'));
          const { items, listing } = splitItems(splits, listingUri, inline);
          for (const [i, item] of items.entries()) {
            const inlineJson = Buffer.byteLength(JSON.stringify(splits[i]!.chunks));
            expect('chunksAt' in item).toBe(inlineJson > inline);
            // An item by reference is small whatever its split holds.
            if ('chunksAt' in item)
              expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(400 + listingUri.length);
          }
          if (listing !== undefined) fs.writeFileSync(new URL(listingUri), listing);
          else expect(items.every((i) => 'chunks' in i)).toBe(true);
          const loaded = await Promise.all(items.map((item) => loadSplit(router(), item)));
          // A chunk list read back yields its chunks as often as it is walked.
          for (const s of loaded) expect([...s.chunks]).toEqual([...s.chunks]);
          expect(loaded.map((s) => ({ ...s, chunks: [...s.chunks] }))).toEqual(splits);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('puts every split inline when each is short: no side object', () => {
    const { items, listing } = splitItems(splitsOf([1, 2, 3], ['a']), 'file:///nowhere');
    expect(listing).toBeUndefined();
    expect(items.map((i) => 'chunks' in i)).toEqual([true, true, true]);
  });

  it('fails a task whose item has neither chunks nor where they are, or whose chunk list is cut short', async () => {
    await expect(loadSplit(router(), { index: 3, bytes: 1 } as never)).rejects.toThrow(/neither chunks nor chunksAt/);
    const uri = normalizeUri(path.join(tempDir(), 'split-chunks.jsonl'));
    fs.writeFileSync(new URL(uri), '[]\n');
    await expect(
      loadSplit(router(), { index: 3, bytes: 1, objects: 1, chunksAt: { uri, start: 0, end: 100 } }),
    ).rejects.toThrow(/read back 3 bytes/);
  });

  it('refuses a chunk list in another form (a run planned by another version), naming it', async () => {
    const uri = normalizeUri(path.join(tempDir(), 'split-chunks.jsonl'));
    const rows = JSON.stringify(['s3://bucket/', [['a', 0, 10, 10]]]); // a row per chunk: the form before columns
    fs.writeFileSync(new URL(uri), `${rows}\n`);
    const item = { index: 0, bytes: 10, objects: 1, chunksAt: { uri, start: 0, end: rows.length } };
    await expect(loadSplit(router(), item)).rejects.toThrow(/not in the form this version reads.*Run the job again/);
  });
});

describe('objects per split', () => {
  const tiny = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ uri: `${prefix}/doc-${String(i).padStart(5, '0')}.txt`, size: 100 }));

  it('packs at most DEFAULTS.maxObjectsPerSplit S3 objects into a split (each is a request)', () => {
    const splits = makeSplits(tiny('s3://bucket/docs', 2500), 64 * 2 ** 20, 'text');
    expect(splits.map((s) => s.chunks.length)).toEqual([DEFAULTS.maxObjectsPerSplit, DEFAULTS.maxObjectsPerSplit, 500]);
  });

  it('packs local files by bytes alone', () => {
    const splits = makeSplits(tiny('file:///data/docs', 2500), 64 * 2 ** 20, 'text');
    expect(splits.map((s) => s.chunks.length)).toEqual([2500]);
    expect(makeSplits(tiny('file:///data/docs', 2500), 100_000, 'text').map((s) => s.chunks.length)).toEqual([
      1000, 1000, 500,
    ]);
  });
});
