import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { type ErrorCause, InvalidJobError, WorkerDiedError } from '../../functions/errors.js';
import { killGroup } from '../../functions/phases/stream.js';
import type { Phase } from '../../functions/runtime.js';
import { compilesInline, startCompilingInline } from './inline-compiles.js';
import { sourceMappedStack } from './source-map.js';
import type { StatHelpRequest, TaskRequest, WorkerData, WorkerMessage, WorkerSettings } from './worker-main.js';

/** A task that failed in a worker, shaped as Step Functions sees a failed Lambda invocation. */
export class TaskError extends Error {
  constructor(override readonly cause: ErrorCause) {
    // Step Functions matches Retry/Catch on `Error` (the name) and puts Lambda's JSON into `Cause`.
    super(JSON.stringify(cause));
    this.name = cause.errorType;
  }
}

export type TaskEvent =
  | {
      type: 'start' | 'end';
      phase: Phase;
      attempt: string;
      /** Set on 'end' when the attempt failed. */
      error?: ErrorCause;
    }
  | {
      /** A map or reduce task's status changed (`reporter:status:…`, `ctx.status`). */
      type: 'status';
      phase: 'map' | 'reduce';
      task: number;
      message: string;
    };

/** Stream programs' process groups of every pool in this process: none may outlive it. */
const everyProgram = new Set<number>();
process.once('exit', () => {
  for (const pid of everyProgram) killGroup(pid);
});

interface BootError {
  bootError: { name: string; message: string; stack: string };
}

interface Pending {
  req: TaskRequest;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** What a worker learns once the run is set up: where the bundle is, and the run's folder. */
interface RunReady {
  bundle: string;
  tmpDir: string;
}

/** How a worker's boot script learns RunReady: at once, or on a port once the bundle is found. */
type BootData = RunReady | { bundlePort: MessagePort };

interface Slot {
  worker: Worker;
  /** Where RunReady is sent to a worker started before the bundle was found. */
  bundlePort?: MessagePort | undefined;
  /** Whether it has loaded the job's module: only then is it given tasks. */
  loaded: boolean;
  busy?: Pending | undefined;
  /** Process groups of the stream programs its task runs. */
  programs: Set<number>;
}

/**
 * A fixed set of worker threads, each loaded with the job bundle, running one task at a time.
 * A worker that dies fails its task with WorkerDiedError (retryable: the state machine retries
 * it) and is replaced.
 *
 * The threads start when the pool is made, before the bundle or the run's folder exists: a
 * thread's own start-up (~50-80 ms of Node's bootstrap) overlaps with making the folder and
 * building or finding the bundle, and `load` then hands each thread the bundle to import.
 * Tasks go to threads that have loaded it, so that the first task (Plan) never waits for the
 * slower thread's import.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  /** Threads retireIdle stopped: close() waits for them too. */
  private readonly retiring: Promise<number>[] = [];
  private nextId = 0;
  private closed = false;
  private broken: ErrorCause | undefined;
  private ready: RunReady | undefined;
  /** The job's steps, once the first worker has loaded the bundle and found a job in it. */
  readonly loaded: Promise<number>;
  private jobLoaded = false;
  private settle!: { resolve: (steps: number) => void; reject: (e: Error) => void };
  /** Whether its workers optimize hot code on their own threads (inline-compiles.ts). */
  private readonly inlineCompiles: boolean;

  /**
   * @param heapMiB each worker's V8 heap limit: what makes the engine's memory a setting rather
   *   than a consequence of the input (a worker over it dies, and its task is retried)
   */
  constructor(
    readonly size: number,
    private readonly heapMiB: number,
    private readonly onEvent: (e: TaskEvent) => void = () => {},
    /** What every worker's tasks run with (where the job's program files are, where task logs go). */
    private readonly settings: WorkerSettings = {},
  ) {
    this.loaded = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.loaded.catch(() => {}); // a caller with the job at hand never asks
    this.inlineCompiles = compilesInline(size);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /**
   * Gives every worker the job bundle to load (a worker started later loads it at once), and
   * the run's folder for the tasks' local files (see temp.ts).
   */
  load(bundle: string, tmpDir: string): void {
    this.ready = { bundle: pathToFileURL(bundle).href, tmpDir };
    for (const s of this.slots) {
      s.bundlePort?.postMessage(this.ready);
      s.bundlePort?.close();
      s.bundlePort = undefined;
    }
  }

  /** The run's folder, once `load` has named it. */
  get tmpDir(): string | undefined {
    return this.ready?.tmpDir;
  }

  private spawn(): Slot {
    // A bundle that fails to load (its module threw at the top level) is reported, not retried.
    const boot = `const { parentPort, workerData } = require('node:worker_threads');
const load = ({ bundle, tmpDir }) => {
  workerData.tmpDir = tmpDir;
  import(bundle).catch((e) => {
    parentPort.postMessage({ bootError: { name: e?.name ?? 'Error', message: String(e?.message ?? e), stack: String(e?.stack ?? '') } });
  });
};
if (workerData.bundle) load(workerData);
else workerData.bundlePort.once('message', (ready) => { workerData.bundlePort.close(); load(ready); });`;
    const channel = this.ready === undefined ? new MessageChannel() : undefined;
    const boots: BootData = channel ? { bundlePort: channel.port2 } : this.ready!;
    // The environment as it is now (AWS settings made after start-up included).
    const make = () =>
      new Worker(boot, {
        eval: true,
        env: { ...process.env },
        workerData: { streamingWorker: true, ...this.settings, poolSize: this.size, ...boots } satisfies Omit<
          WorkerData,
          'tmpDir'
        > &
          BootData,
        transferList: channel ? [channel.port2] : [],
        resourceLimits: { maxOldGenerationSizeMb: this.heapMiB },
      });
    const worker = this.inlineCompiles ? startCompilingInline(make) : make();
    const slot: Slot = { worker, programs: new Set(), bundlePort: channel?.port1, loaded: false };
    // Messages posted before the worker listens are queued by its port, so no handshake is needed.
    worker.on('message', (m: WorkerMessage | BootError) => {
      if ('bootError' in m) {
        this.fail(m.bootError);
        return;
      }
      if ('kind' in m) {
        if (m.kind === 'loaded') {
          this.jobLoaded = true;
          slot.loaded = true;
          this.settle.resolve(m.steps);
          this.dispatch();
        } else if (m.kind === 'invalid') this.settle.reject(new InvalidJobError(m.message));
        else if (m.kind === 'status')
          this.onEvent({ type: 'status', phase: m.phase, task: m.task, message: m.message });
        else if (m.kind === 'stat-help') this.lend(slot, m);
        else if (m.running) {
          slot.programs.add(m.pid);
          everyProgram.add(m.pid);
        } else {
          slot.programs.delete(m.pid);
          everyProgram.delete(m.pid);
        }
        return;
      }
      const p = slot.busy;
      if (!p || p.req.id !== m.id) return;
      slot.busy = undefined;
      this.finish(p, m.ok ? undefined : m.error);
      if (m.ok) p.resolve(m.result);
      else p.reject(new TaskError(m.error));
      this.dispatch();
    });
    const died = (why: string) => {
      this.killPrograms(slot);
      const p = slot.busy;
      slot.busy = undefined;
      const i = this.slots.indexOf(slot);
      if (this.closed || this.broken || i < 0) return;
      // Before any worker has loaded the module, a worker that dies (its heap exhausted by the
      // module's top-level code, say) would die again in its place: the run stops here.
      if (!this.jobLoaded)
        this.settle.reject(
          new WorkerDiedError(
            `A worker thread died while loading the job's module (${why}): if its top-level code loads large data, raise the worker heap (workerHeapMiB, --worker-memory) or load the data in setup().`,
          ),
        );
      this.slots[i] = this.spawn();
      if (p) {
        const err = new WorkerDiedError(`A worker thread died while running a ${p.req.phase} task (${why}).`);
        const cause: ErrorCause = { errorType: err.name, errorMessage: err.message, retryable: true };
        this.finish(p, cause);
        p.reject(new TaskError(cause));
      }
      this.dispatch();
    };
    worker.on('error', (e) => died(e.message));
    worker.on('exit', (code) => died(`exit code ${code}`));
    return slot;
  }

  /**
   * Hands a listing's stat job to a thread with no task (stat-names.ts); with none idle, the
   * asking thread does it all.
   */
  private lend(asking: Slot, request: StatHelpRequest): void {
    const idle = this.closed ? undefined : this.slots.find((s) => s !== asking && s.loaded && !s.busy);
    if (!idle) return;
    idle.worker.postMessage(request);
    this.statJobsLent++;
  }

  /** Listing jobs handed to an idle worker (see lend). */
  statJobsLent = 0;

  private finish(p: Pending, error?: ErrorCause): void {
    this.onEvent({ phase: p.req.phase, attempt: p.req.attempt, type: 'end', ...(error ? { error } : {}) });
  }

  /**
   * The job's code cannot load in a worker: every task, queued, running or to come, fails with
   * a non-retryable InvalidJobError naming the cause, and no worker is started again.
   */
  private fail(e: BootError['bootError']): void {
    if (this.broken) return;
    const err = new InvalidJobError(`The job's module failed to load in a worker thread: ${e.name}: ${e.message}`);
    const stackTrace = sourceMappedStack(e.stack.split('\n'));
    this.broken = { errorType: err.name, errorMessage: err.message, stackTrace, retryable: false };
    this.settle.reject(Object.assign(err, { stack: `${err.name}: ${err.message}\n${stackTrace.slice(1).join('\n')}` }));
    for (const s of this.slots) {
      const p = s.busy;
      s.busy = undefined;
      if (p) {
        this.finish(p, this.broken);
        p.reject(new TaskError(this.broken));
      }
      void s.worker.terminate();
    }
    for (const p of this.queue.splice(0)) p.reject(new TaskError(this.broken));
  }

  /** Runs one task; each call is a new attempt with its own id. */
  run(phase: Phase, event: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('The worker pool is closed.'));
    if (this.broken) return Promise.reject(new TaskError(this.broken));
    return new Promise((resolve, reject) => {
      const req: TaskRequest = { id: this.nextId++, phase, event, attempt: randomBytes(6).toString('hex') };
      this.queue.push({ req, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy || !slot.loaded) continue;
      const p = this.queue.shift()!;
      slot.busy = p;
      this.onEvent({ phase: p.req.phase, attempt: p.req.attempt, type: 'start' });
      slot.worker.postMessage(p.req);
    }
  }

  /** Ends the stream programs a worker's task runs, with everything they started (their process groups). */
  private killPrograms(slot: Slot): void {
    for (const pid of slot.programs) {
      killGroup(pid);
      everyProgram.delete(pid);
    }
    slot.programs.clear();
  }

  /**
   * Stops the threads that have nothing to do, keeping those running a task (and one at
   * least): once the run's last task has started, their teardown (~20 ms each, their heaps
   * freed) overlaps with it instead of following it. A task queued later (a retry, Abort)
   * waits for the threads kept.
   */
  retireIdle(): void {
    if (this.closed || this.queue.length > 0) return;
    const idle = this.slots.filter((s) => !s.busy);
    const keep = idle.length === this.slots.length ? 1 : 0;
    for (const s of idle.slice(keep)) {
      this.slots.splice(this.slots.indexOf(s), 1);
      this.retiring.push(s.worker.terminate());
    }
  }

  /** Stops every worker, and every stream program their tasks run; tasks queued or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const closed = () => new Error('The worker pool was closed.');
    for (const p of this.queue.splice(0)) p.reject(closed());
    for (const s of this.slots) {
      s.busy?.reject(closed());
      s.busy = undefined;
      this.killPrograms(s);
    }
    await Promise.all([...this.slots.map((s) => s.worker.terminate()), ...this.retiring]);
  }
}
