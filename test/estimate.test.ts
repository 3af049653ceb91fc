import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import { estimateCost, runLocal } from '../sdk/index.js';
import { MOBY, ROOT } from './helpers.js';
import { logS3Requests, type S3Request } from './s3-requests.js';
import { startS3Server } from './s3-server.js';

describe('estimateCost', () => {
  it('counts the S3 requests a run really makes, as the S3 server sees them', async () => {
    // A real word count on S3 through a counting proxy; the estimate is given the run's shape
    // (input bytes, split size, reducers, one object) and the data ratios the run had.
    const text = fs.readFileSync(path.join(MOBY, 'data.txt'));
    const server = await startS3Server();
    const log = await logS3Requests(server.endpoint);
    let observed: S3Request[];
    let run: Awaited<ReturnType<typeof runLocal>>;
    try {
      await server.createBucket('data');
      await server.client.send(new PutObjectCommand({ Bucket: 'data', Key: 'input/moby.txt', Body: text }));
      process.env.AWS_ENDPOINT_URL_S3 = log.endpoint;
      log.requests.length = 0;
      run = await runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
        input: 's3://data/input/moby.txt',
        output: 's3://data/out',
        scratch: 's3://data/scratch',
        splitSize: 200_000,
        reducers: 4,
        workers: 2,
      });
      // Left out: requests the SDK retried (s3rver answers some with 500), DELETEs and
      // DeleteObjects (free), and the local engine's own read of the manifest after Commit.
      observed = log.requests.filter(
        (q) =>
          q.status < 500 &&
          q.method !== 'DELETE' &&
          !(q.method === 'POST' && q.query.includes('delete')) &&
          q.key !== 'data/out/_manifest.json',
      );
    } finally {
      await log.stop();
      await server.stop();
    }
    const { manifest } = run;
    expect(manifest.map.tasks).toBeGreaterThanOrEqual(6);
    // The run's shape: its map tasks (Plan lets the last split grow to 1.1 × splitSize, Hadoop's
    // slop, which the estimate leaves out), reducers, one input object, and its data ratios.
    const e = estimateCost({
      inputBytes: text.length,
      splitSize: Math.ceil(text.length / manifest.map.tasks),
      reducers: 4,
      objects: 1,
      shuffleRatio: manifest.map.shuffleBytes / text.length,
      outputRatio: manifest.bytes / text.length,
    });
    expect(e.mapTasks).toBe(manifest.map.tasks);
    const isRead = (q: S3Request) => (q.method === 'GET' && !q.query.includes('list-type')) || q.method === 'HEAD';
    const reads = observed.filter(isRead).length;
    const writes = observed.length - reads; // PUT, POST and LIST, priced alike
    // Within 10%: the estimate is a model (a split's read past its end, one stat per input path).
    expect(Math.abs(e.s3.reads - reads)).toBeLessThanOrEqual(0.1 * reads);
    expect(Math.abs(e.s3.writes - writes)).toBeLessThanOrEqual(0.1 * writes);
  });

  it('grows the range reads as map tasks × reducers, and refuses impossible settings', () => {
    const small = estimateCost({ inputBytes: 100e9, splitSize: 64 * 2 ** 20, reducers: 64 });
    expect(small.mapTasks).toBe(1491);
    expect(small.s3.reads).toBeGreaterThan(1491 * 64);
    expect(() => estimateCost({ inputBytes: 0, memoryMiB: 20_000 })).toThrow(
      /inputBytes must be > 0.*memory must be 128-10240/,
    );
  });

  it('streaming estimate prints the table, or JSON', () => {
    const cli = path.join(ROOT, 'dist', 'sdk', 'cli.js');
    const args = ['estimate', '--input-size', '100GB', '--split-size', '64MiB', '--reducers', '64', '--memory', '1769'];
    const table = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    expect(table.status).toBe(0);
    for (const item of ['S3 PUT/LIST requests', 'S3 GET requests', 'Lambda compute', 'Step Functions', 'total'])
      expect(table.stdout).toContain(item);
    expect(table.stdout).toMatch(/1,491 map tasks of 64 MiB, 64 reducers/);
    const json = spawnSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(json.stdout)).toMatchObject({ mapTasks: 1491, reducers: 64 });
  });
});
