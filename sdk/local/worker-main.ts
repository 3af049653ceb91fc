/**
 * The code of each local worker thread. It is bundled with the job module (see bundle.ts) and
 * runs tasks the pool sends it through `runPhase`, the same entry the Lambda handlers use.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { toErrorCause } from '../../functions/errors.js';
import { assertJobModule, type JobModule, stepCount } from '../../functions/job.js';
import type { TaskLog, TaskRef } from '../../functions/phases/env.js';
import { programGroups } from '../../functions/phases/stream.js';
import { type Phase, runPhase } from '../../functions/runtime.js';
import { pad } from '../../functions/spec.js';
import { StorageRouter } from '../../functions/storage/index.js';
import { helpStat, lendStatThreads, type StatJob } from '../../functions/storage/stat-names.js';
import { installSourceMappedStacks } from './source-map.js';

export interface TaskRequest {
  id: number;
  phase: Phase;
  event: unknown;
  attempt: string;
}

/** Another worker's listing asks this idle one to size some of its files (stat-names.ts). */
export interface StatHelpRequest {
  kind: 'stat-help';
  job: StatJob;
}

/** What the pool gives each worker thread. */
export interface WorkerData {
  streamingWorker: true;
  /** The run's folder for local files (spills, stream programs' folders), removed when the run ends. */
  tmpDir: string;
  /** The job file's directory: stream programs' relative paths are found there. */
  programRoot?: string;
  /** Where each task attempt's stream program stderr is kept: `<logDir>/<job id>/<phase>-<task>-<attempt>.stderr`. */
  logDir?: string;
  /** The job module's path as the user gave it, for messages. */
  jobModule?: string;
  /** Threads in the pool: with another one, a listing may borrow it while it is idle. */
  poolSize?: number;
}

export type TaskReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ReturnType<typeof toErrorCause> };

/** What a worker tells the pool besides replies: its stream programs' process groups, task statuses. */
export type WorkerMessage =
  | TaskReply
  | { kind: 'loaded'; steps: number }
  | { kind: 'invalid'; message: string }
  | { kind: 'program'; pid: number; running: boolean }
  | { kind: 'status'; phase: 'map' | 'reduce'; task: number; message: string }
  | StatHelpRequest;

/** What the engine tells every worker's tasks about the run's stream programs (part of WorkerData). */
export type WorkerSettings = Pick<WorkerData, 'programRoot' | 'logDir' | 'jobModule'>;

/** Starts serving tasks when this module runs inside a Streaming worker; does nothing elsewhere. */
export function startWorker(job: JobModule): void {
  const data = workerData as Partial<WorkerData> | undefined;
  if (isMainThread || !parentPort || !data?.streamingWorker) return;
  const port = parentPort;
  installSourceMappedStacks();
  // The pool names the run's folder with the bundle: a worker without one would leave its
  // tasks' files where nothing removes them.
  const { tmpDir } = data;
  if (!tmpDir) throw new Error('A Streaming worker thread was started without the run folder (WorkerData.tmpDir).');
  const storage = new StorageRouter();
  const settings: WorkerSettings = data;
  const post = (m: WorkerMessage) => port.postMessage(m);
  // The pool kills a dead or stopped worker's programs: it must know them.
  programGroups.listener = (pid, running) => post({ kind: 'program', pid, running });
  const taskLog = fileTaskLog(settings.logDir, (task, message) =>
    post({ kind: 'status', phase: task.phase, task: task.task, message }),
  );
  const env = {
    storage,
    tmpDir,
    taskLog,
    worker: `thread ${threadId}`,
    ...(settings.programRoot !== undefined ? { programRoot: settings.programRoot } : {}),
  };
  // The engine waits for the first worker's word before it runs anything: a default export that
  // is no job fails the run before a task starts (the engine's own thread never loads the module).
  try {
    assertJobModule(
      job,
      `job module ${settings.jobModule ?? ''} (its default export must be defineJob({...}) or definePipeline({...}))`,
    );
    post({ kind: 'loaded', steps: stepCount(job) });
  } catch (e) {
    post({ kind: 'invalid', message: (e as Error).message });
  }
  // Plan's listing of a large folder sizes it on an idle worker too: the pool hands the job on.
  if ((data.poolSize ?? 1) > 1)
    lendStatThreads((job) => {
      post({ kind: 'stat-help', job });
      return true;
    });
  port.on('message', async (req: TaskRequest | StatHelpRequest) => {
    if ('kind' in req) {
      helpStat(req.job);
      return;
    }
    let reply: TaskReply;
    try {
      const result = await runPhase(req.phase, req.event, { ...env, attempt: req.attempt }, job);
      reply = { id: req.id, ok: true, result };
    } catch (e) {
      reply = { id: req.id, ok: false, error: toErrorCause(e) };
    }
    port.postMessage(reply);
  });
}

/** Bytes of stderr held per attempt before they are appended to its log file. */
const LOG_BUFFER = 64 * 1024;

/**
 * The task log of a local worker: each attempt's program stderr in a file of its own (made
 * only when there is something to write), statuses to the progress display.
 */
function fileTaskLog(logDir: string | undefined, onStatus: (task: TaskRef, message: string) => void): TaskLog {
  const pending = new Map<string, { file: string; lines: string[]; bytes: number }>();
  const fileOf = (t: TaskRef) =>
    path.join(
      logDir ?? path.join(os.tmpdir(), 'streaming-logs'),
      t.jobId,
      `${t.phase}-${pad(t.task)}-${t.attempt}.stderr`,
    );
  const flush = (p: { file: string; lines: string[]; bytes: number }) => {
    if (p.lines.length === 0) return;
    fs.mkdirSync(path.dirname(p.file), { recursive: true });
    fs.appendFileSync(p.file, `${p.lines.join('\n')}\n`);
    p.lines = [];
    p.bytes = 0;
  };
  return {
    stderr(task, line) {
      const key = fileOf(task);
      let p = pending.get(key);
      if (!p) pending.set(key, (p = { file: key, lines: [], bytes: 0 }));
      p.lines.push(line);
      p.bytes += line.length + 1;
      if (p.bytes >= LOG_BUFFER)
        try {
          flush(p);
        } catch {
          p.lines = []; // the log is a convenience: a full disk must not fail the task
          p.bytes = 0;
        }
    },
    status: onStatus,
    close(task) {
      const key = fileOf(task);
      const p = pending.get(key);
      if (!p) return undefined;
      pending.delete(key);
      try {
        flush(p);
      } catch {
        return undefined; // the log is a convenience: a full disk must not fail the task
      }
      return p.file;
    },
  };
}
