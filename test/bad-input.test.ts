/**
 * The bad-input table of docs/reliability.md: each row is an input or a setting a user can get
 * wrong, run through the local engine, with the output it must give or the error it must
 * raise. Failed rows must leave `_FAILED` and never `_SUCCESS`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { type LocalRunOptions, runLocal } from '../sdk/index.js';
import { FIXTURES, outputLines, ROOT, tempDir } from './helpers.js';

const ECHO = path.join(FIXTURES, 'echo.ts');
const listing = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

interface Row {
  name: string;
  /** Files to write (name → content) in a fresh input directory. */
  files: Record<string, string | Buffer>;
  job?: string;
  options?: Partial<LocalRunOptions>;
  /** Records the job must output (jsonl lines parsed to [key, value]). */
  output?: [unknown, unknown][];
  /** Or the error it must fail with. */
  error?: { errorType: string; message: RegExp };
}

const LONG = 'x'.repeat(3 << 20);
const BAD_UTF8 = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' ok\nfine\n')]);
const gz = gzipSync('one\ntwo\n');

const rows: Row[] = [
  {
    name: 'empty files and an empty directory: an empty, successful output',
    files: { 'a.txt': '', 'b.txt': '', 'sub/.keep': '' },
    output: [],
  },
  {
    name: 'invalid UTF-8, by default: read with U+FFFD',
    files: { 'in.txt': BAD_UTF8 },
    output: [
      ['caf\uFFFD ok', 7],
      ['fine', 4],
    ],
  },
  {
    name: 'invalid UTF-8 with strictUtf8 (--strict-utf8): fails naming the file and byte',
    files: { 'in.txt': BAD_UTF8 },
    options: { strictUtf8: true },
    error: { errorType: 'MalformedRecordError', message: /in\.txt near byte 0: invalid UTF-8.*strict UTF-8 is on/ },
  },
  {
    name: 'a line longer than the split and than the sort buffer: read whole, once',
    files: { 'in.txt': `short\n${LONG}\nend\n` },
    job: path.join(FIXTURES, 'wordcount-nocombine.ts'),
    options: { splitSize: 1 << 20, sortBufferBytes: 1 << 20, reducers: 2 },
    output: [
      ['end', 1],
      ['short', 1],
      [LONG, 1],
    ],
  },
  {
    name: 'CRLF line ends: the CR is not part of the line',
    files: { 'in.txt': 'a b\r\nc\r\n' },
    output: [
      ['a b', 3],
      ['c', 1],
    ],
  },
  {
    name: 'valid gzip: decompressed while read',
    files: { 'in.txt.gz': gz },
    output: [
      ['one', 3],
      ['two', 3],
    ],
  },
  {
    name: 'corrupt gzip (truncated): fails naming the file, not retried',
    files: { 'in.txt.gz': gz.subarray(0, gz.length - 9) },
    error: { errorType: 'MalformedRecordError', message: /in\.txt\.gz near byte 0: corrupt gzip data/ },
  },
  {
    name: 'corrupt gzip (a flipped byte in the data)',
    files: { 'in.txt.gz': Buffer.from(gz.map((b, i) => (i === 12 ? b ^ 0xff : b))) },
    error: { errorType: 'MalformedRecordError', message: /corrupt gzip data/ },
  },
  {
    name: 'keys and values with tabs, newlines, NUL and non-ASCII: through the shuffle unchanged',
    files: {
      'in.jsonl': [
        { k: 'tab\there', v: 'line\nbreak' },
        { k: 'nul\u0000key', v: 'crlf\r\n' },
        { k: 'naïve ☃ 😀', v: { nested: ['ü', 1] } },
        { k: ['array', 'key'], v: null },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    },
    job: path.join(FIXTURES, 'pairs.ts'),
    output: [
      ['tab\there', 'line\nbreak'],
      ['nul\u0000key', 'crlf\r\n'],
      ['naïve ☃ 😀', { nested: ['ü', 1] }],
      [['array', 'key'], null],
    ],
  },
  {
    name: 'a job module without a default export',
    files: { 'in.txt': 'x\n' },
    job: path.join(FIXTURES, 'no-default.ts'),
    error: {
      errorType: 'InvalidJobError',
      message: /no-default\.ts has no default export: end it with export default defineJob/,
    },
  },
  {
    name: 'a job whose map is not a function',
    files: { 'in.txt': 'x\n' },
    job: path.join(FIXTURES, 'bad-map.ts'),
    error: { errorType: 'InvalidJobError', message: /map must be a function/ },
  },
  {
    name: 'negative reducers',
    files: { 'in.txt': 'x\n' },
    job: path.join(ROOT, 'jobs', 'wordcount.ts'),
    options: { reducers: -1 },
    error: { errorType: 'InvalidJobError', message: /reducers must be a whole number >= 0 \(got -1\)/ },
  },
  {
    name: 'zero split size',
    files: { 'in.txt': 'x\n' },
    options: { splitSize: 0 },
    error: { errorType: 'InvalidJobError', message: /splitSize must be a whole number of bytes > 0 \(got 0\)/ },
  },
];

describe('bad input: clear errors, nothing lost', () => {
  for (const row of rows) {
    it(row.name, async () => {
      const dir = tempDir();
      const input = path.join(dir, 'in');
      for (const [name, body] of Object.entries(row.files)) {
        fs.mkdirSync(path.dirname(path.join(input, name)), { recursive: true });
        fs.writeFileSync(path.join(input, name), body);
      }
      const output = path.join(dir, 'out');
      const run = runLocal(row.job ?? ECHO, { input, output, workers: 2, taskAttempts: 2, ...row.options });
      if (row.error) {
        // A job that ran fails with JobFailedError naming the cause; one refused before running, with the cause itself.
        const e = (await run.then(
          () => undefined,
          (err: unknown) => err,
        )) as { errorType?: string; name: string; message: string } | undefined;
        expect(e).toBeDefined();
        expect([e!.errorType ?? e!.name, e!.message]).toEqual([
          row.error.errorType,
          expect.stringMatching(row.error.message),
        ]);
        expect(listing(output)).not.toContain('_SUCCESS');
        return;
      }
      const result = await run;
      expect(listing(output)).toContain('_SUCCESS');
      const lines = outputLines(output);
      const records = lines.map((l) => {
        if (l.startsWith('{')) {
          const { key, value } = JSON.parse(l) as { key: unknown; value: unknown };
          return [key, value];
        }
        const tab = l.lastIndexOf('\t');
        return [l.slice(0, tab), Number(l.slice(tab + 1))];
      });
      const order = (a: unknown[], b: unknown[]) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1);
      expect(records.sort(order)).toEqual([...row.output!].sort(order));
      expect(result.manifest.records).toBe(row.output!.length);
    });
  }

  it('an unknown input format is refused when the module loads', async () => {
    const dir = tempDir();
    const job = path.join(dir, 'xml.ts');
    fs.writeFileSync(
      job,
      "import { defineJob } from 'streaming';\nexport default defineJob({ name: 'xml', input: { format: 'xml' as never }, map() {}, reducers: 0 });\n",
    );
    fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n');
    await expect(
      runLocal(job, { input: path.join(dir, 'in.txt'), output: path.join(dir, 'out') }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/input\.format must be one of text, jsonl, csv, whole/),
    });
  });
});
