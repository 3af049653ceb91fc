/** A local run, followed like a cloud job (see JobHandle in sdk/client.ts). */
import path from 'node:path';
import { JobCancelledError } from '../../functions/errors.js';
import type { JobManifest } from '../../functions/phases/commit.js';
import { newJobId } from '../../functions/spec.js';
import { StorageRouter } from '../../functions/storage/index.js';
import { normalizeUri } from '../../functions/storage/uri.js';
import { type JobHandle, type JobStatus, type OutputRecord, readResults } from '../client.js';
import { sourceModule } from './bundle.js';
import type { LocalJobResult, LocalRunOptions, LocalRunSource } from './engine.js';
import { executeJob } from './orchestrate.js';
import { type Progress, progressAtStart } from './task-progress.js';

type LocalState = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/**
 * Starts the run at once and answers for it: status, wait, results, summary, cancel. Also a
 * promise of the run's result, so `await runLocal(...)` waits for it.
 */
export class LocalJobHandle implements JobHandle, PromiseLike<LocalJobResult> {
  readonly id: string;
  readonly output: string;
  private readonly controller = new AbortController();
  private readonly done: Promise<LocalJobResult>;
  private progress: Progress = progressAtStart();
  private state: LocalState = 'RUNNING';
  private readonly listeners = new Set<(p: Progress) => void>();

  constructor(run: LocalRunSource, options: LocalRunOptions) {
    const name = run.job?.name ?? path.basename(sourceModule(run.source)).replace(/\.[cm]?[jt]s$/, '');
    this.id = options.jobId ?? newJobId(name || 'job');
    this.output = normalizeUri(options.output);
    options.signal?.addEventListener('abort', () => this.controller.abort(), { once: true });
    this.done = executeJob(run, { ...options, jobId: this.id, signal: this.controller.signal }, (p) => {
      this.progress = p;
      options.onProgress?.(p);
      for (const l of this.listeners) l(p);
    });
    this.done.then(
      () => {
        this.state = 'SUCCEEDED';
      },
      (e) => {
        this.state = e instanceof JobCancelledError ? 'CANCELLED' : 'FAILED';
      },
    );
  }

  // biome-ignore lint/suspicious/noThenProperty: awaitable by design: `await runLocal(...)` gives the run's result.
  then<A = LocalJobResult, B = never>(
    onFulfilled?: ((r: LocalJobResult) => A | PromiseLike<A>) | null,
    onRejected?: ((e: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.done.then(onFulfilled, onRejected);
  }

  async status(): Promise<JobStatus> {
    const p = this.progress;
    const phase =
      this.state !== 'RUNNING' ? 'done' : p.phase === 'shuffle' ? 'reduce' : p.phase === 'abort' ? 'done' : p.phase;
    return {
      id: this.id,
      state: this.state,
      phase,
      map: { done: p.map.done, total: p.map.total },
      reduce: { done: p.reduce.done, total: p.reduce.total },
    };
  }

  async wait(options: { onProgress?: (s: JobStatus) => void; signal?: AbortSignal } = {}): Promise<JobManifest> {
    const listener = () => void this.status().then((s) => options.onProgress?.(s));
    this.listeners.add(listener);
    try {
      const stop = new Promise<never>((_, reject) =>
        options.signal?.addEventListener(
          'abort',
          () => reject(new JobCancelledError('Stopped waiting (the job goes on; cancel() stops it).')),
          { once: true },
        ),
      );
      const r = await Promise.race([this.done, stop]);
      options.onProgress?.(await this.status());
      return r.manifest;
    } finally {
      this.listeners.delete(listener);
    }
  }

  async summary(): Promise<JobManifest> {
    return (await this.done).manifest;
  }

  async *results(): AsyncIterable<OutputRecord> {
    yield* readResults(new StorageRouter(), await this.summary());
  }

  async cancel(): Promise<void> {
    this.controller.abort();
    await this.done.catch(() => {});
  }
}
