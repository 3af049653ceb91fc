/**
 * A local run leaves nothing behind in the temp dir or in --scratch, however it ends: cancelled
 * in the middle of the reduce phase (its workers terminated with parts half written and the
 * run's bundle and scratch on disk), a worker thread that died, a task that threw. Each run's local files live in a folder
 * of their own (sdk/local/temp.ts) that the engine removes when the run ends.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { JobCancelledError, JobFailedError, type LocalRunOptions, runLocal } from '../sdk/index.js';
import { FIXTURES, MOBY, tempDir } from './helpers.js';

/** Every file and folder under `dir`, relative to it. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/** What this process has in the OS temp dir that a run makes: its run folders and its jobs' scratch. */
function ours(jobId: string): string[] {
  const tmp = os.tmpdir();
  return [
    ...tree(path.join(tmp, 'streaming-runs')).filter((f) => f.startsWith(`${process.pid}-`)),
    ...fs.readdirSync(tmp).filter((f) => f.includes(jobId)),
    ...tree(path.join(tmp, 'streaming-scratch')).filter((f) => f.includes(jobId)),
  ];
}

/** Many distinct words on many lines: enough reduce work to be caught in the middle of it. */
function input(dir: string): string {
  const file = path.join(dir, 'in.txt');
  const words = fs.readFileSync(path.join(MOBY, 'data.txt'), 'utf8').split(/\s+/).slice(0, 20_000);
  fs.writeFileSync(file, words.join(' ').replace(/(\S+ \S+ \S+ \S+ \S+ \S+) /g, '$1\n'));
  return file;
}

/**
 * Runs the slow-reduce job and cancels it once a reducer is inside `reduce` (its part half
 * written): the fixture writes a marker then, and the test waits for it, not for a delay.
 */
async function cancelledMidReduce(options: Omit<LocalRunOptions, 'onProgress' | 'params'>): Promise<string> {
  const markers = tempDir('streaming-markers-');
  const watcher = fs.watch(markers);
  const inReduce = new Promise<void>((resolve) => watcher.once('change', () => resolve()));
  const handle = runLocal(path.join(FIXTURES, 'slow-reduce.ts'), { ...options, params: { markers } });
  try {
    await Promise.race([inReduce, handle.then(() => {})]);
  } finally {
    watcher.close();
  }
  expect((await handle.status()).phase).toBe('reduce');
  await handle.cancel();
  await expect(handle).rejects.toThrow(JobCancelledError);
  fs.rmSync(markers, { recursive: true, force: true });
  return handle.id;
}

describe('a local run leaves no files behind', () => {
  it('when cancelled in the middle of the reduce phase, in the OS temp dir', async () => {
    const dir = tempDir();
    const id = await cancelledMidReduce({ input: input(dir), output: path.join(dir, 'out'), workers: 2 });
    expect(ours(id)).toEqual([]);
  });

  it('when cancelled in the middle of the reduce phase, in --scratch (where its local files go too)', async () => {
    const dir = tempDir();
    const scratch = path.join(dir, 'scratch');
    await cancelledMidReduce({ input: input(dir), output: path.join(dir, 'out'), workers: 2, scratch });
    expect(tree(scratch)).toEqual([]);
  });

  it('puts the run’s local files (its bundle, its tasks’ files) under --scratch while it runs', async () => {
    const dir = tempDir();
    const scratch = path.join(dir, 'scratch');
    const markers = tempDir('streaming-markers-');
    await runLocal(path.join(FIXTURES, 'slow-reduce.ts'), {
      input: input(dir),
      output: path.join(dir, 'out'),
      workers: 2,
      scratch,
      params: { ms: '1', markers, list: scratch },
    });
    // What each reducer saw under scratch at its first key: the run's folder, where the workers
    // loaded the job's bundle from and the tasks keep their local files (a reducer reads local
    // map outputs where they are, and keeps none).
    const seen = fs.readdirSync(markers).flatMap((m) => fs.readFileSync(path.join(markers, m), 'utf8').split('\n'));
    expect(seen.some((f) => /^streaming-runs\/\d+-[^/]+\/bundle\/job\.mjs$/.test(f))).toBe(true);
    fs.rmSync(markers, { recursive: true, force: true });
    expect(tree(scratch)).toEqual([]);
  });

  it('when a worker thread dies and when a task throws', async () => {
    const dir = tempDir();
    const scratch = path.join(dir, 'scratch');
    const markers = path.join(dir, 'markers');
    fs.mkdirSync(markers);
    const died = runLocal(path.join(FIXTURES, 'dies.ts'), {
      input: input(dir),
      output: path.join(dir, 'out-died'),
      workers: 2,
      scratch,
      taskAttempts: 1,
      params: { markers },
    });
    await expect(died).rejects.toThrow(JobFailedError);
    expect(tree(scratch)).toEqual([]);

    fs.writeFileSync(path.join(dir, 'boom.txt'), 'fine\nboom\nfine\n');
    const threw = runLocal(path.join(FIXTURES, 'throws.ts'), {
      input: path.join(dir, 'boom.txt'),
      output: path.join(dir, 'out-threw'),
      workers: 2,
      taskAttempts: 2,
      retryDelayMs: 0,
    });
    await expect(threw).rejects.toThrow(JobFailedError);
    expect(ours(threw.id)).toEqual([]);
  });

  it('removes the run folders of processes killed before they could, and no living one’s', async () => {
    const dir = tempDir();
    const scratch = path.join(dir, 'scratch');
    // A process that has exited: its pid names no one now.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const orphan = path.join(scratch, 'streaming-runs', `${dead}-abc123`);
    const living = path.join(scratch, 'streaming-runs', `${process.pid}-def456`);
    for (const d of [orphan, living]) fs.mkdirSync(path.join(d, 'bundle'), { recursive: true });
    await runLocal(path.join(FIXTURES, 'echo.ts'), {
      input: input(dir),
      output: path.join(dir, 'out'),
      workers: 1,
      scratch,
    });
    // The folder of runs stays while a living process has a folder in it.
    const kept = `streaming-runs/${path.basename(living)}`;
    expect(tree(scratch)).toEqual(['streaming-runs', kept, `${kept}/bundle`]);
  });
});
