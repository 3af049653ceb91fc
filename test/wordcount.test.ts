import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULTS } from '../functions/config.js';
import { runLocal } from '../sdk/index.js';
import {
  countsOf,
  expectedWordCounts,
  FIXTURES,
  MOBY,
  outputLines,
  partFiles,
  ROOT,
  sortedEntries,
  tempDir,
} from './helpers.js';

const WORDCOUNT = path.join(ROOT, 'jobs', 'wordcount.ts');
let corpus: string;
let gzCorpus: string;
let expected: [string, number][];

beforeAll(() => {
  // Real text: Moby-Dick, the whole book plus its chapters as separate files (many small objects to pack).
  corpus = tempDir('streaming-corpus-');
  gzCorpus = tempDir('streaming-corpus-gz-');
  const files = ['data.txt', ...fs.readdirSync(MOBY).filter((f) => /^chapter_\d+\.txt$/.test(f))];
  for (const f of files) {
    const body = fs.readFileSync(path.join(MOBY, f));
    fs.writeFileSync(path.join(corpus, f), body);
    fs.writeFileSync(path.join(gzCorpus, `${f}.gz`), zlib.gzipSync(body));
  }
  expected = sortedEntries(expectedWordCounts(files.map((f) => path.join(corpus, f))));
}, 60_000);

const run = (job: string, input: string, extra: Partial<Parameters<typeof runLocal>[1]> = {}) => {
  const output = path.join(tempDir(), 'out');
  return runLocal(job, { input, output, workers: 2, splitSize: 256 * 1024, ...extra }).then((r) => ({
    ...r,
    dir: output,
  }));
};

describe('word count over a real corpus (Moby-Dick)', () => {
  it('equals an independent count, with many map tasks and reducers', async () => {
    const r = await run(WORDCOUNT, corpus, { reducers: 5 });
    expect(r.manifest.map.tasks).toBeGreaterThan(4);
    expect(partFiles(r.dir)).toHaveLength(5);
    expect(sortedEntries(countsOf(outputLines(r.dir)))).toEqual(expected);
    expect(fs.existsSync(path.join(r.dir, '_SUCCESS'))).toBe(true);
    expect(r.manifest.records).toBe(expected.length);
    // The combiner aggregates map-side: far fewer records are shuffled than emitted.
    expect(r.manifest.map.shuffleRecords).toBeLessThan(r.manifest.map.outputRecords / 5);
  });

  it('reports in its manifest the storage requests and bytes its tasks made', async () => {
    const dir = tempDir();
    const r = await runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
      input: path.join(MOBY, 'data.txt'),
      output: path.join(dir, 'out'),
      splitSize: 300_000,
      reducers: 3,
      workers: 2,
    });
    const { io, map, input, bytes } = r.manifest;
    // Every map task read its split (and a little past it, to finish its last line) and wrote data and index.
    expect(io.map.bytesRead).toBeGreaterThanOrEqual(input.bytes);
    expect(io.map.bytesRead).toBeLessThanOrEqual(input.bytes + map.tasks * DEFAULTS.overreadBytes);
    expect(io.map.bytesWritten).toBeGreaterThan(map.shuffleBytes);
    expect(io.map.requests).toBeGreaterThanOrEqual(3 * map.tasks);
    // The reducers read what the maps shuffled and wrote the output.
    expect(io.reduce.bytesRead).toBeGreaterThanOrEqual(map.shuffleBytes);
    expect(io.reduce.bytesWritten).toBeGreaterThan(bytes);
    expect(io.total.requests).toBe(io.map.requests + io.reduce.requests + io.commit.requests);
  });

  it('gives byte-identical parts with the combiner on and off, and when every task spills', async () => {
    const withCombiner = await run(WORDCOUNT, corpus, { reducers: 3 });
    const without = await run(path.join(FIXTURES, 'wordcount-nocombine.ts'), corpus, { reducers: 3 });
    const spilling = await run(WORDCOUNT, corpus, { reducers: 3, sortBufferBytes: 64 * 1024 });
    expect(spilling.manifest.map.spills).toBeGreaterThan(spilling.manifest.map.tasks);
    const bytes = (dir: string) => partFiles(dir).map((f) => fs.readFileSync(f, 'utf8'));
    expect(bytes(without.dir)).toEqual(bytes(withCombiner.dir));
    expect(bytes(spilling.dir)).toEqual(bytes(withCombiner.dir));
  });

  it('gives the same counts with 1 reducer and with none (map-only)', async () => {
    const one = await run(WORDCOUNT, corpus, { reducers: 1 });
    expect(partFiles(one.dir).map((f) => path.basename(f))).toEqual(['part-r-00000']);
    expect(sortedEntries(countsOf(outputLines(one.dir)))).toEqual(expected);

    const mapOnly = await run(path.join(FIXTURES, 'wordcount-maponly.ts'), corpus);
    const parts = partFiles(mapOnly.dir);
    expect(parts.length).toBe(mapOnly.manifest.map.tasks);
    expect(parts.every((p) => /part-m-\d{5}$/.test(p))).toBe(true);
    expect(sortedEntries(countsOf(outputLines(mapOnly.dir)))).toEqual(expected);
  });

  it('reads gzip inputs (one split each, decompressed while streaming) to the same output as plain ones', async () => {
    const plain = await run(WORDCOUNT, corpus, { reducers: 2 });
    const gz = await run(WORDCOUNT, gzCorpus, { reducers: 2 });
    expect(gz.manifest.map.tasks).toBe(fs.readdirSync(gzCorpus).length);
    const bytes = (dir: string) => partFiles(dir).map((f) => fs.readFileSync(f, 'utf8'));
    expect(bytes(gz.dir)).toEqual(bytes(plain.dir));
  });
});
