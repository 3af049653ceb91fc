import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { type JobManifest, runLocal } from '../sdk/index.js';
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
import { logS3Requests, type S3Request } from './s3-requests.js';
import { startS3Server } from './s3-server.js';

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

  it('reads each object of a split with one request (short documents: the request is the cost)', async () => {
    const r = await run(WORDCOUNT, corpus, { workers: 1, splitSize: 64 * 1024 * 1024 });
    const { io, map, input } = r.manifest;
    expect(input.objects).toBeGreaterThan(100);
    expect(map.tasks).toBe(1);
    // Each object once (its compression check rides on that read), then the task's runs and index.
    expect(io.map.requests).toBe(input.objects + 2);
    expect(sortedEntries(countsOf(outputLines(r.dir)))).toEqual(expected);
  });

  it('reports in its manifest the storage requests and bytes its tasks made, as the S3 server saw them', async () => {
    const text = fs.readFileSync(path.join(MOBY, 'data.txt'));
    const server = await startS3Server();
    const log = await logS3Requests(server.endpoint);
    let manifest: JobManifest;
    try {
      await server.createBucket('data');
      await server.client.send(new PutObjectCommand({ Bucket: 'data', Key: 'in/moby.txt', Body: text }));
      process.env.AWS_ENDPOINT_URL_S3 = log.endpoint;
      ({ manifest } = await runLocal(WORDCOUNT, {
        input: 's3://data/in/moby.txt',
        output: 's3://data/out',
        scratch: 's3://data/scratch',
        splitSize: 300_000,
        reducers: 3,
        workers: 2,
      }));
    } finally {
      await log.stop();
      await server.stop();
    }
    const { io, map } = manifest;
    const ok = log.requests.filter((q) => q.status < 300);
    const sum = (qs: S3Request[], f: (q: S3Request) => number) => qs.reduce((n, q) => n + f(q), 0);
    // Only map tasks read the input's bytes and write under scratch's map/ (data objects, indexes).
    const inputReads = ok.filter((q) => q.method === 'GET' && q.key === 'data/in/moby.txt');
    const mapWrites = ok.filter((q) => q.method !== 'GET' && /^data\/scratch\/[^/]+\/map\//.test(q.key));
    // Every byte of the input, and no more than the server sent: a split's read past its end
    // (to finish its last line) stops when the line ends, and what was in flight goes uncounted.
    expect(io.map.bytesRead).toBeGreaterThanOrEqual(text.length);
    expect(io.map.bytesRead).toBeLessThanOrEqual(sum(inputReads, (q) => q.received));
    expect(io.map.bytesWritten).toBe(sum(mapWrites, (q) => q.sent));
    expect(io.map.requests).toBe(inputReads.length + mapWrites.length);
    expect(map.tasks).toBeGreaterThan(3);
    // Only reducers read the map data objects, and write the parts.
    const dataReads = ok.filter((q) => q.method === 'GET' && q.key.endsWith('.data'));
    const partWrites = ok.filter((q) => q.method !== 'GET' && /^data\/out\/part-r-\d+$/.test(q.key));
    expect(io.reduce.bytesRead).toBeGreaterThanOrEqual(sum(dataReads, (q) => q.received));
    expect(sum(dataReads, (q) => q.received)).toBe(map.shuffleBytes);
    expect(io.reduce.bytesWritten).toBeGreaterThanOrEqual(sum(partWrites, (q) => q.sent));
    expect(sum(partWrites, (q) => q.sent)).toBe(manifest.bytes);
    expect(io.reduce.requests).toBeGreaterThanOrEqual(dataReads.length + partWrites.length);
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
