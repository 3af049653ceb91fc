import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { PlanResult } from '../functions/phases/plan.js';
import { bundleJob, pinBundle } from '../sdk/local/bundle.js';
import { type TaskEvent, WorkerPool } from '../sdk/local/pool.js';
import { FIXTURES, tempDir } from './helpers.js';

describe('WorkerPool', () => {
  it('gives a task only to a worker that has loaded the job, and names the run folder with the bundle', async () => {
    const events: TaskEvent[] = [];
    const pool = new WorkerPool(2, 256, (e) => events.push(e));
    try {
      // Plan refuses an event without input or output: the task fails, after it has started.
      const task = pool.run('plan', {}).then(
        () => undefined,
        (e: Error) => e,
      );
      await new Promise((r) => setTimeout(r, 400));
      // The threads are up by now, but none has the job: the task waits in the queue.
      expect(events).toEqual([]);
      const tmp = tempDir();
      pool.load(await pinBundle(await bundleJob(path.join(FIXTURES, 'echo.ts')), tmp), tmp);
      expect(pool.tmpDir).toBe(tmp);
      await expect(pool.loaded).resolves.toBe(1);
      const error = await task;
      expect(error?.message).toMatch(/input/);
      expect(events.map((e) => e.type)).toEqual(['start', 'end']);
    } finally {
      await pool.close();
    }
  });

  it('lends an idle worker to a listing of a large folder, which sizes every file right', async () => {
    const pool = new WorkerPool(2, 256);
    try {
      const tmp = tempDir();
      pool.load(await pinBundle(await bundleJob(path.join(FIXTURES, 'echo.ts')), tmp), tmp);
      await pool.loaded;
      const input = tempDir();
      let bytes = 0;
      for (let i = 0; i < 5000; i++) {
        const line = `line ${i}\n`.repeat(1 + (i % 7));
        fs.writeFileSync(path.join(input, `doc-${String(i).padStart(5, '0')}.txt`), line);
        bytes += line.length;
      }
      // One worker plans; the other has no task once it has loaded the job too (Plan may start
      // before it has: then Plan's thread sizes every file, and it plans again).
      for (let attempt = 0; attempt < 20 && pool.statJobsLent === 0; attempt++) {
        const planned = (await pool.run('plan', { input: [input], output: path.join(tempDir(), 'out') })) as PlanResult;
        expect(planned.plan.inputObjects).toBe(5000);
        expect(planned.plan.inputBytes).toBe(bytes);
        if (pool.statJobsLent === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(pool.statJobsLent).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('retires idle threads but keeps one, which runs the tasks that come after', async () => {
    const events: TaskEvent[] = [];
    const pool = new WorkerPool(3, 256, (e) => events.push(e));
    try {
      const tmp = tempDir();
      pool.load(await pinBundle(await bundleJob(path.join(FIXTURES, 'echo.ts')), tmp), tmp);
      await pool.loaded;
      pool.retireIdle();
      // Two tasks at once on the one thread left: one after the other, never both running.
      await Promise.all([pool.run('plan', {}).catch(() => {}), pool.run('plan', {}).catch(() => {})]);
      expect(events.map((e) => e.type)).toEqual(['start', 'end', 'start', 'end']);
    } finally {
      await pool.close();
    }
  });
});
