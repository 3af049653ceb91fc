/**
 * The code of each local worker thread. It is bundled with the job module (see bundle.ts) and
 * runs tasks the pool sends it through `runPhase`, the same entry the Lambda handlers use.
 */
import os from 'node:os';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { toErrorCause } from '../../functions/errors.js';
import type { JobModule } from '../../functions/job.js';
import { type Phase, runPhase } from '../../functions/runtime.js';
import { StorageRouter } from '../../functions/storage/index.js';

export interface TaskRequest {
  id: number;
  phase: Phase;
  event: unknown;
  attempt: string;
}

/** What the pool gives each worker thread. */
export interface WorkerData {
  streamingWorker: true;
  /** The run's folder for local files (spills, fetched ranges), removed when the run ends. */
  tmpDir: string;
}

export type TaskReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ReturnType<typeof toErrorCause> };

/** Starts serving tasks when this module runs inside a Streaming worker; does nothing elsewhere. */
export function startWorker(job: JobModule): void {
  const data = workerData as Partial<WorkerData> | undefined;
  if (isMainThread || !parentPort || !data?.streamingWorker) return;
  const port = parentPort;
  const tmpDir = data.tmpDir ?? os.tmpdir();
  const storage = new StorageRouter();
  port.on('message', async (req: TaskRequest) => {
    let reply: TaskReply;
    try {
      const result = await runPhase(req.phase, req.event, { storage, attempt: req.attempt, tmpDir }, job);
      reply = { id: req.id, ok: true, result };
    } catch (e) {
      reply = { id: req.id, ok: false, error: toErrorCause(e) };
    }
    port.postMessage(reply);
  });
}
