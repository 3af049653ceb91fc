/**
 * S3 throttling and faults survived (test/s3-faults.ts): word count over S3 through a server
 * that answers 503 SlowDown above a per-prefix request rate (scaled down) and fails a few
 * percent of requests with 500s and dropped connections. The output is byte for byte the one
 * the same job writes on local files, and the reducers' fetches spread over one prefix per map
 * task, so the per-prefix rate a job needs does not grow with its number of map tasks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { S3Storage, s3ClientFromEnvironment } from '../functions/storage/s3.js';
import { runLocal } from '../sdk/index.js';
import { MOBY, partFiles, ROOT, tempDir } from './helpers.js';
import { type FaultyS3, prefixOf, startFaultyS3 } from './s3-faults.js';
import { type S3Server, startS3Server } from './s3-server.js';

const WORDCOUNT = path.join(ROOT, 'jobs', 'wordcount.ts');
const FILES = fs
  .readdirSync(MOBY)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .slice(0, 60);
const OPTIONS = { workers: 2, reducers: 5, splitSize: 15_000 };

let server: S3Server;
let faulty: FaultyS3;
let localDir: string;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('faults');
  localDir = tempDir();
  fs.mkdirSync(path.join(localDir, 'in'));
  for (const f of FILES) {
    const body = fs.readFileSync(path.join(MOBY, f));
    fs.writeFileSync(path.join(localDir, 'in', f), body);
    await server.client.send(new PutObjectCommand({ Bucket: 'faults', Key: `input/${f}`, Body: body }));
  }
  // The reference: the same job on local files, before any S3 client exists.
  await runLocal(WORDCOUNT, { input: path.join(localDir, 'in'), output: path.join(localDir, 'out'), ...OPTIONS });
  faulty = await startFaultyS3(server.endpoint, {
    readsPerSecond: 30,
    writesPerSecond: 20,
    serverErrors: 0.03,
    drops: 0.02,
    seed: 14,
  });
  // Every client of the run (this process's and its workers') goes through the faulty server.
  process.env.AWS_ENDPOINT_URL_S3 = faulty.endpoint;
}, 120_000);

afterAll(async () => {
  process.env.AWS_ENDPOINT_URL_S3 = server.endpoint;
  await faulty?.stop();
  await server?.stop();
});

describe('S3 that throttles (503 SlowDown per prefix) and fails (500s, dropped connections)', () => {
  it('word count finishes with the output it writes on local files, byte for byte', async () => {
    const { manifest } = await runLocal(WORDCOUNT, {
      input: 's3://faults/input/',
      output: 's3://faults/output/wordcount',
      scratch: 's3://faults/scratch',
      ...OPTIONS,
    });
    const injected = faulty.injected();
    // The run met every kind of trouble, and rode it out.
    expect(injected.slowDown).toBeGreaterThan(0);
    expect(injected.serverErrors).toBeGreaterThan(0);
    expect(injected.drops).toBeGreaterThan(0);
    const s3 = new S3Storage(s3ClientFromEnvironment());
    const parts = partFiles(path.join(localDir, 'out'));
    expect(manifest.parts.map((p) => path.basename(p.uri))).toEqual(parts.map((p) => path.basename(p)));
    for (const p of parts)
      expect((await s3.readAll(`s3://faults/output/wordcount/${path.basename(p)}`)).equals(fs.readFileSync(p))).toBe(
        true,
      );
    expect(await s3.stat('s3://faults/output/wordcount/_SUCCESS')).toBeDefined();

    // How the reducers' ranged GETs of map data spread: one prefix per map task, each read by
    // at most one fetch per reducer, so a prefix's load is bounded by R whatever M is.
    const fetches = faulty.requests.filter(
      (r) => r.method === 'GET' && r.range && /\/map\//.test(r.key) && r.status === 206,
    );
    const perPrefix = new Map<string, number>();
    for (const f of fetches) perPrefix.set(prefixOf(f.key), (perPrefix.get(prefixOf(f.key)) ?? 0) + 1);
    expect(manifest.map.tasks).toBeGreaterThan(20);
    expect(perPrefix.size).toBe(manifest.map.tasks);
    expect(Math.max(...perPrefix.values())).toBeLessThanOrEqual(OPTIONS.reducers);
  }, 300_000);
});
