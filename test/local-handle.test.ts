import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { JobCancelledError, type JobStatus, runLocal } from '../sdk/index.js';
import { FIXTURES, MOBY, partFiles, ROOT, tempDir } from './helpers.js';

describe('runLocal() returns a handle shaped like startJob()’s', () => {
  it('follows, summarises and streams the results of a local run', async () => {
    const out = path.join(tempDir(), 'out');
    const job = runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
      input: path.join(MOBY, 'data.txt'),
      output: out,
      workers: 2,
      reducers: 3,
      splitSize: 200_000,
    });
    expect(job.id).toMatch(/^wordcount-/);
    expect((await job.status()).state).toBe('RUNNING');
    const seen: JobStatus[] = [];
    const manifest = await job.wait({ onProgress: (s) => seen.push(s) });
    expect(seen.at(-1)).toMatchObject({ state: 'SUCCEEDED', phase: 'done', reduce: { done: 3, total: 3 } });
    expect(seen.some((s) => s.phase === 'map')).toBe(true);
    expect((await job.summary()).jobId).toBe(job.id);
    const records: unknown[] = [];
    for await (const r of job.results()) records.push(r);
    const expected = partFiles(out).flatMap((f) =>
      fs
        .readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ key: l.split('\t')[0], value: l.split('\t')[1] })),
    );
    expect(records).toEqual(expected);
    expect(manifest.records).toBe(records.length);
    expect((await job).manifest).toEqual(manifest); // the handle is also the run's promise
  });

  it('cancel() stops the run: no _SUCCESS, and waiting ends with JobCancelledError', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n'));
    // Cancelled once map tasks are running (a progress event says so), not after a guessed delay.
    let running!: () => void;
    const mapRunning = new Promise<void>((resolve) => {
      running = resolve;
    });
    const job = runLocal(path.join(FIXTURES, 'slow.ts'), {
      input: path.join(dir, 'in.txt'),
      output: path.join(dir, 'out'),
      workers: 2,
      splitSize: 200,
      onProgress: (p) => {
        if (p.map.running > 0) running();
      },
    });
    await mapRunning;
    const before = await job.status();
    expect(before).toMatchObject({ state: 'RUNNING', phase: 'map' });
    expect(before.map.done).toBeLessThan(before.map.total!);
    await job.cancel();
    await expect(job.wait()).rejects.toThrow(JobCancelledError);
    expect((await job.status()).state).toBe('CANCELLED');
    expect(fs.existsSync(path.join(dir, 'out', '_SUCCESS'))).toBe(false);
  });
});
