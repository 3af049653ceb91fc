import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { Progress } from '../sdk/index.js';
import { InvalidJobError, JobCancelledError, JobFailedError, runLocal } from '../sdk/index.js';
import { countsOf, FIXTURES, MOBY, outputLines, partFiles, ROOT, sortedEntries, tempDir } from './helpers.js';

const WORDCOUNT = path.join(ROOT, 'jobs', 'wordcount.ts');
const fixture = (name: string) => path.join(FIXTURES, name);
const listing = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

async function failureOf(p: PromiseLike<unknown>): Promise<JobFailedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(JobFailedError);
    return e as JobFailedError;
  }
  throw new Error('the job succeeded but should have failed');
}

describe('empty and missing input', () => {
  it('turns empty files and empty directories into empty output marked _SUCCESS', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    fs.mkdirSync(path.join(dir, 'nothing'));
    const out = path.join(dir, 'out');
    const r = await runLocal(WORDCOUNT, {
      input: [path.join(dir, 'empty.txt'), path.join(dir, 'nothing')],
      output: out,
      workers: 1,
    });
    expect(r.manifest.records).toBe(0);
    expect(r.manifest.map.tasks).toBe(0);
    expect(listing(out)).toEqual([
      '_SUCCESS',
      '_manifest.json',
      'part-r-00000',
      'part-r-00001',
      'part-r-00002',
      'part-r-00003',
    ]);
    expect(partFiles(out).every((f) => fs.statSync(f).size === 0)).toBe(true);
  });

  it('fails with InputNotFoundError naming the path, and marks the output failed (_FAILED), nothing complete', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const err = await failureOf(runLocal(WORDCOUNT, { input: path.join(dir, 'missing'), output: out, workers: 1 }));
    expect(err.errorType).toBe('InputNotFoundError');
    expect(err.message).toContain(path.join(dir, 'missing'));
    expect(err.markedFailed).toBe(true);
    expect(listing(out)).toEqual(['_FAILED']);
    expect(JSON.parse(fs.readFileSync(path.join(out, '_FAILED'), 'utf8')).error).toBe('InputNotFoundError');
  });

  it('fails on a glob that matches nothing', async () => {
    const dir = tempDir();
    const err = await failureOf(
      runLocal(WORDCOUNT, { input: path.join(dir, '*.txt'), output: path.join(dir, 'out'), workers: 1 }),
    );
    expect(err.errorType).toBe('InputNotFoundError');
  });
});

describe('failing user code', () => {
  it('fails the job with the user’s message and stack, writes _FAILED, leaves no _SUCCESS or parts', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'fine\nboom here\nfine\n');
    const out = path.join(dir, 'out');
    const err = await failureOf(
      runLocal(fixture('throws.ts'), { input: path.join(dir, 'in.txt'), output: out, workers: 1, retryDelayMs: 0 }),
    );
    expect(err.errorType).toBe('UserCodeError');
    expect(err.message).toContain('user map failed on purpose: boom here');
    // Source maps point the stack at the user's TypeScript file.
    // The line that throws (7), though no worker loads the bundle's source map up front.
    expect(err.causeStack).toMatch(/throws\.ts:7:\d+/);
    expect(listing(out)).toEqual(['_FAILED']);
    const marker = JSON.parse(fs.readFileSync(path.join(out, '_FAILED'), 'utf8'));
    expect(marker.message).toContain('user map failed on purpose');
  });

  it('retries tasks that fail on their first attempt (map and reduce) and gives the clean output', async () => {
    const dir = tempDir();
    const input = path.join(MOBY, 'data.txt');
    const clean = await runLocal(WORDCOUNT, {
      input,
      output: path.join(dir, 'clean'),
      workers: 2,
      splitSize: 200_000,
      reducers: 3,
    });
    const markers = path.join(dir, 'markers');
    fs.mkdirSync(markers);
    const seen: Progress[] = [];
    const flaky = await runLocal(fixture('flaky.ts'), {
      input,
      output: path.join(dir, 'flaky'),
      workers: 2,
      splitSize: 200_000,
      reducers: 3,
      retryDelayMs: 10,
      params: { markers, phases: 'map,reduce' },
      onProgress: (p) => seen.push(p),
    });
    const last = seen.at(-1)!;
    expect(last.map.failedAttempts).toBe(clean.manifest.map.tasks);
    expect(last.reduce.failedAttempts).toBe(3);
    const bytes = (d: string) => partFiles(d).map((f) => fs.readFileSync(f, 'utf8'));
    expect(bytes(flaky.output.replace('file://', ''))).toEqual(bytes(clean.output.replace('file://', '')));
  });

  it('retries a task whose worker thread died, on a new worker', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a\nb\na\n');
    const markers = path.join(dir, 'm');
    fs.mkdirSync(markers);
    const out = path.join(dir, 'out');
    const r = await runLocal(fixture('dies.ts'), {
      input: path.join(dir, 'in.txt'),
      output: out,
      workers: 1,
      reducers: 1,
      retryDelayMs: 0,
      params: { markers },
    });
    expect(r.manifest.records).toBe(2);
    expect(fs.readFileSync(path.join(out, 'part-r-00000'), 'utf8')).toBe('a\t2\nb\t1\n');
  });

  it('fails after the configured attempts when a task always fails', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'boom\n');
    const attempts: Progress[] = [];
    await failureOf(
      runLocal(fixture('throws.ts'), {
        input: path.join(dir, 'in.txt'),
        output: path.join(dir, 'o'),
        workers: 1,
        taskAttempts: 4,
        retryDelayMs: 0,
        onProgress: (p) => attempts.push(p),
      }),
    );
    expect(attempts.at(-1)!.map.failedAttempts).toBe(4);
  });
});

describe('invalid jobs and options', () => {
  it('rejects a module without a default export, and a job whose map is not a function, before running', async () => {
    const dir = tempDir();
    const opts = { input: MOBY, output: path.join(dir, 'o') };
    await expect(runLocal(fixture('no-default.ts'), opts)).rejects.toThrow(InvalidJobError);
    await expect(runLocal(fixture('bad-map.ts'), opts)).rejects.toThrow(
      /map must be a function.*reducers must be a whole number/,
    );
    await expect(runLocal(path.join(dir, 'nope.ts'), opts)).rejects.toThrow(/Job module not found/);
    // Found by the workers as they load the module: the output is never touched.
    expect(fs.existsSync(opts.output)).toBe(false);
  });

  it('stops, and says why, when the workers die loading a module whose top-level code exhausts their heap', async () => {
    const dir = tempDir();
    const output = path.join(dir, 'o');
    const run = runLocal(fixture('heavy-on-load.ts'), { input: MOBY, output, workers: 1, workerHeapMiB: 192 });
    await expect(run).rejects.toThrow(/died while loading the job's module.*raise the worker heap/);
    expect(fs.existsSync(output)).toBe(false);
  }, 60_000);

  it('rejects a module that throws as it loads, with its message and its own source line, before running', async () => {
    const dir = tempDir();
    const output = path.join(dir, 'o');
    const err = await runLocal(fixture('throws-on-load.ts'), { input: MOBY, output, workers: 2 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(InvalidJobError);
    expect(err!.message).toMatch(/failed to load in a worker thread: Error: cannot load the tokenizer model/);
    expect(err!.stack).toMatch(/throws-on-load\.ts:4:\d+/);
    expect(fs.existsSync(output)).toBe(false);
  });

  it('rejects invalid options with every problem at once', async () => {
    const dir = tempDir();
    const err = await failureOf(
      runLocal(WORDCOUNT, { input: MOBY, output: path.join(dir, 'o'), reducers: -2, splitSize: 0, workers: 1 }),
    );
    expect(err.errorType).toBe('InvalidJobError');
    expect(err.message).toMatch(/reducers must be.*splitSize must be/);
    await expect(
      runLocal(WORDCOUNT, { input: MOBY, output: path.join(dir, 'o2'), workerHeapMiB: 100 }),
    ).rejects.toThrow(
      /workerHeapMiB, --worker-memory\) is 100 MiB; it must be at least twice the sort buffer \(sortBufferBytes, --sort-buffer: 64 MiB\) plus 64 MiB, i.e. 192 MiB/,
    );
  });

  it('refuses an output that holds a completed job unless overwrite, and output inside the input', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'one two\n');
    const out = path.join(dir, 'out');
    await runLocal(WORDCOUNT, { input: path.join(dir, 'in.txt'), output: out, workers: 1, reducers: 1 });
    const before = fs.readFileSync(path.join(out, 'part-r-00000'), 'utf8');
    const err = await failureOf(
      runLocal(WORDCOUNT, { input: path.join(dir, 'in.txt'), output: out, workers: 1, reducers: 1 }),
    );
    expect(err.errorType).toBe('OutputExistsError');
    expect(fs.readFileSync(path.join(out, 'part-r-00000'), 'utf8')).toBe(before);
    expect(listing(out)).toEqual(['_SUCCESS', '_manifest.json', 'part-r-00000']);
    // Overwrite replaces every part, even when there are fewer reducers now.
    fs.writeFileSync(path.join(dir, 'in.txt'), 'three\n');
    await runLocal(WORDCOUNT, {
      input: path.join(dir, 'in.txt'),
      output: out,
      workers: 1,
      reducers: 1,
      overwrite: true,
    });
    expect(fs.readFileSync(path.join(out, 'part-r-00000'), 'utf8')).toBe('three\t1\n');

    const inside = await failureOf(
      runLocal(WORDCOUNT, { input: dir, output: path.join(dir, 'sub', 'out'), workers: 1 }),
    );
    expect(inside.errorType).toBe('InvalidJobError');
    expect(inside.message).toMatch(/inside input/);
  });
});

describe('input edge cases', () => {
  it('counts CRLF and LF text alike, and skips hidden files (_ and . prefixes)', async () => {
    const dir = tempDir();
    const text = fs.readFileSync(path.join(MOBY, 'chapter_1.txt'), 'utf8');
    fs.mkdirSync(path.join(dir, 'lf'));
    fs.mkdirSync(path.join(dir, 'crlf'));
    fs.writeFileSync(path.join(dir, 'lf', 'a.txt'), text);
    fs.writeFileSync(path.join(dir, 'crlf', 'a.txt'), text.replace(/\n/g, '\r\n'));
    fs.writeFileSync(path.join(dir, 'crlf', '_SUCCESS'), 'not data');
    fs.writeFileSync(path.join(dir, 'crlf', '.hidden'), 'not data');
    const lf = await runLocal(WORDCOUNT, {
      input: path.join(dir, 'lf'),
      output: path.join(dir, 'o1'),
      workers: 1,
      splitSize: 1000,
    });
    const crlf = await runLocal(WORDCOUNT, {
      input: path.join(dir, 'crlf'),
      output: path.join(dir, 'o2'),
      workers: 1,
      splitSize: 1000,
    });
    expect(sortedEntries(countsOf(outputLines(path.join(dir, 'o2'))))).toEqual(
      sortedEntries(countsOf(outputLines(path.join(dir, 'o1')))),
    );
    expect(crlf.manifest.input.objects).toBe(1);
    expect(lf.manifest.input.records).toBe(crlf.manifest.input.records);
  });
});

describe('cancellation', () => {
  it('stops a running job: no _SUCCESS, _FAILED says cancelled, scratch removed, and a second run succeeds', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n'));
    const out = path.join(dir, 'out');
    const scratch = path.join(dir, 'scratch');
    const controller = new AbortController();
    const job = runLocal(fixture('slow.ts'), {
      input: path.join(dir, 'in.txt'),
      output: out,
      scratch,
      workers: 2,
      splitSize: 200,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.map.done >= 1) controller.abort();
      },
    });
    await expect(job).rejects.toThrow(JobCancelledError);
    expect(listing(out)).toEqual(['_FAILED']);
    expect(JSON.parse(fs.readFileSync(path.join(out, '_FAILED'), 'utf8')).error).toBe('JobCancelledError');
    expect(listing(scratch)).toEqual([]);
    const again = await runLocal(fixture('slow.ts'), {
      input: path.join(dir, 'in.txt'),
      output: out,
      scratch,
      workers: 2,
      params: { ms: '0' },
    });
    expect(again.manifest.records).toBe(200);
  });
});
