import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { outputLines, tempDir } from './helpers.js';
import { logS3Requests } from './s3-requests.js';
import { startS3Server } from './s3-server.js';

/** Writes a map-only job that echoes what `map` receives for an input format, as jsonl. */
function echoJob(dir: string, format: string): string {
  const file = path.join(dir, `echo-${format}.ts`);
  fs.writeFileSync(
    file,
    `import { defineJob } from 'streaming';
export default defineJob({
  name: 'echo-${format}',
  input: { format: '${format}' },
  map(record, emit, ctx) {
    ctx.count('seen');
    if (ctx.params.tag) ctx.count('tag:' + ctx.params.tag);
    emit(ctx.inputUri.slice(ctx.inputUri.lastIndexOf('/') + 1), record);
  },
  reducers: 0,
  output: { format: 'jsonl' },
});
`,
  );
  return file;
}

const records = (dir: string) => outputLines(dir).map((l) => JSON.parse(l) as { key: string; value: unknown });

describe('input formats', () => {
  it('csv: every split gets the header, quoted fields parse, records keep their values', async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 300 }, (_, i) => `${i},"name, ${i}","say ""${i}"""`);
    fs.writeFileSync(path.join(dir, 'in.csv'), `id,name,quote\r\n${rows.join('\r\n')}\r\n`);
    const out = path.join(dir, 'out');
    const r = await runLocal(echoJob(dir, 'csv'), {
      input: path.join(dir, 'in.csv'),
      output: out,
      workers: 2,
      splitSize: 512,
    });
    expect(r.manifest.map.tasks).toBeGreaterThan(5);
    const got = records(out).map((x) => x.value as Record<string, string>);
    expect(got).toEqual(rows.map((_, i) => ({ id: String(i), name: `name, ${i}`, quote: `say "${i}"` })));
    expect(r.manifest.counters.seen).toBe(300);
  });

  it('jsonl: parses each non-blank line; a malformed line fails the job naming the file', async () => {
    const dir = tempDir();
    const docs = Array.from({ length: 50 }, (_, i) => ({ id: i, text: `doc\t${i}\n`, tags: ['é', i] }));
    fs.writeFileSync(path.join(dir, 'in.jsonl'), `${docs.map((d) => JSON.stringify(d)).join('\n')}\n\n`);
    const out = path.join(dir, 'out');
    await runLocal(echoJob(dir, 'jsonl'), {
      input: path.join(dir, 'in.jsonl'),
      output: out,
      workers: 2,
      splitSize: 300,
    });
    expect(records(out).map((x) => x.value)).toEqual(docs);

    fs.writeFileSync(path.join(dir, 'bad.jsonl'), '{"ok":1}\n{"broken":\n');
    await expect(
      runLocal(echoJob(dir, 'jsonl'), { input: path.join(dir, 'bad.jsonl'), output: path.join(dir, 'o2'), workers: 1 }),
    ).rejects.toMatchObject({
      errorType: 'MalformedRecordError',
      message: expect.stringMatching(/bad\.jsonl.*line 2 of the split is not JSON/),
    });
  });

  it('whole: one record per object, gzip decompressed, small objects packed into one task', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'in');
    fs.mkdirSync(input);
    fs.writeFileSync(path.join(input, 'a.txt'), 'first\nobject\n');
    fs.writeFileSync(path.join(input, 'b.txt'), 'second');
    fs.writeFileSync(path.join(input, 'c.txt.gz'), zlib.gzipSync('third\r\n'));
    const out = path.join(dir, 'out');
    const r = await runLocal(echoJob(dir, 'whole'), { input, output: out, workers: 2, params: { tag: 'x' } });
    expect(records(out)).toEqual([
      { key: 'a.txt', value: 'first\nobject\n' },
      { key: 'b.txt', value: 'second' },
      { key: 'c.txt.gz', value: 'third\r\n' },
    ]);
    expect(r.manifest.map.tasks).toBe(2); // a+b packed, the gzip alone
    expect(r.manifest.counters).toEqual({ seen: 3, 'tag:x': 3 });
  });

  it('text over globs and several inputs, without duplicates', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, '1.log'), 'one\n');
    fs.writeFileSync(path.join(dir, '2.log'), 'two\n');
    fs.writeFileSync(path.join(dir, '3.txt'), 'three\n');
    const out = path.join(dir, 'out');
    await runLocal(echoJob(dir, 'text'), {
      input: [path.join(dir, '*.log'), path.join(dir, '1.log')],
      output: out,
      workers: 1,
    });
    expect(records(out)).toEqual([
      { key: '1.log', value: 'one' },
      { key: '2.log', value: 'two' },
    ]);
  });

  it('params and side inputs: ctx.sideInput(uri) reads a small file once per worker, as the S3 server sees', async () => {
    const dir = tempDir();
    // Many map tasks on 2 workers; the stop words on S3, where a counting proxy sees every GET of them.
    const lines = Array.from({ length: 400 }, (_, i) => (i % 2 ? 'The cat and the hat' : 'A cat'));
    fs.writeFileSync(path.join(dir, 'in.txt'), `${lines.join('\n')}\n`);
    const out = path.join(dir, 'out');
    const job = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'stopwords.ts');
    const server = await startS3Server();
    const log = await logS3Requests(server.endpoint);
    try {
      await server.createBucket('side');
      await server.client.send(new PutObjectCommand({ Bucket: 'side', Key: 'stop.txt', Body: 'the\na\nand' }));
      process.env.AWS_ENDPOINT_URL_S3 = log.endpoint;
      const r = await runLocal(job, {
        input: path.join(dir, 'in.txt'),
        output: out,
        workers: 2,
        splitSize: 500,
        params: { stopwords: 's3://side/stop.txt' },
      });
      expect(fs.readFileSync(path.join(out, 'part-r-00000'), 'utf8')).toBe('cat\t400\nhat\t200\n');
      expect(r.manifest.map.tasks).toBeGreaterThan(10);
      const reads = log.requests.filter((q) => q.method === 'GET' && q.key === 'side/stop.txt');
      expect(reads.length).toBeGreaterThanOrEqual(1);
      expect(reads.length).toBeLessThanOrEqual(2);
    } finally {
      await log.stop();
      await server.stop();
    }
    const missing = runLocal(job, {
      input: path.join(dir, 'in.txt'),
      output: path.join(dir, 'o2'),
      workers: 1,
      retryDelayMs: 0,
      params: { stopwords: path.join(dir, 'nope.txt') },
    });
    // The side input's own error, not wrapped as the user code's, and not retried.
    await expect(missing).rejects.toMatchObject({
      errorType: 'SideInputNotFoundError',
      message: expect.stringMatching(/Side input not found: .*nope\.txt.*completed job/),
    });
  });
});
