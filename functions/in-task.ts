/**
 * Whether this code runs inside a Streaming task: a local worker thread, or a deployed function
 * (the Lambda entry point imports in-task-mark.ts first). A module handed over by value is
 * loaded there too, top-level code included; starting runs from there is refused, so a driver
 * left unguarded fails with a message instead of starting runs from every worker.
 */
import { isMainThread, workerData } from 'node:worker_threads';

const MARK = Symbol.for('streaming.inTask');

export function markInTask(): void {
  (globalThis as Record<symbol, unknown>)[MARK] = true;
}

export function inStreamingTask(): boolean {
  if ((globalThis as Record<symbol, unknown>)[MARK] === true) return true;
  return !isMainThread && (workerData as { streamingWorker?: boolean } | undefined)?.streamingWorker === true;
}
