import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { S3Storage, s3ClientFromEnvironment } from '../functions/storage/s3.js';
import { runLocal } from '../sdk/index.js';
import { MOBY, partFiles, ROOT, tempDir } from './helpers.js';
import { type S3Server, startS3Server } from './s3-server.js';

const WORDCOUNT = path.join(ROOT, 'jobs', 'wordcount.ts');
let server: S3Server;
const chapters = fs
  .readdirSync(MOBY)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .slice(0, 40);

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('data');
  for (const f of [...chapters, 'data.txt'])
    await server.client.send(
      new PutObjectCommand({ Bucket: 'data', Key: `input/moby/${f}`, Body: fs.readFileSync(path.join(MOBY, f)) }),
    );
});
afterAll(() => server.stop());

async function objectText(uri: string): Promise<string> {
  return (await new S3Storage(s3ClientFromEnvironment()).readAll(uri)).toString('utf8');
}

describe('the local engine over S3', () => {
  it('reads s3:// inputs (prefixes and globs) and writes s3:// output and scratch, byte for byte as on local files', async () => {
    const local = tempDir();
    fs.mkdirSync(path.join(local, 'in'));
    for (const f of [...chapters, 'data.txt']) fs.copyFileSync(path.join(MOBY, f), path.join(local, 'in', f));
    const onDisk = await runLocal(WORDCOUNT, {
      input: path.join(local, 'in'),
      output: path.join(local, 'out'),
      workers: 2,
      reducers: 3,
      splitSize: 300_000,
    });

    const onS3 = await runLocal(WORDCOUNT, {
      input: ['s3://data/input/moby/chapter_*.txt', 's3://data/input/moby/data.txt'],
      output: 's3://data/output/wordcount',
      scratch: 's3://data/scratch',
      workers: 2,
      reducers: 3,
      splitSize: 300_000,
    });
    expect(onS3.manifest.input.objects).toBe(chapters.length + 1);
    expect(onS3.manifest.map.tasks).toBe(onDisk.manifest.map.tasks);
    const diskParts = partFiles(path.join(local, 'out'));
    expect(onS3.manifest.parts.map((p) => p.uri)).toEqual(
      diskParts.map((p) => `s3://data/output/wordcount/${path.basename(p)}`),
    );
    for (const p of diskParts)
      expect(await objectText(`s3://data/output/wordcount/${path.basename(p)}`)).toBe(fs.readFileSync(p, 'utf8'));
    expect(await objectText('s3://data/output/wordcount/_SUCCESS')).toBe('');

    // Scratch is removed by Commit.
    const left: string[] = [];
    for await (const o of new S3Storage(s3ClientFromEnvironment()).list('s3://data/scratch/')) left.push(o.uri);
    expect(left).toEqual([]);
  });

  it('fails with InputNotFoundError for an empty prefix', async () => {
    await expect(
      runLocal(WORDCOUNT, { input: 's3://data/nothing-here/', output: 's3://data/output/none', workers: 1 }),
    ).rejects.toMatchObject({
      errorType: 'InputNotFoundError',
    });
  });
});
