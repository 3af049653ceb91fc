/** How far a local run is: tasks done, running and failed per phase, followed from the worker pool. */
import type { Phase } from '../../functions/runtime.js';
import type { TaskEvent } from './pool.js';

export interface PhaseProgress {
  total: number | undefined;
  done: number;
  running: number;
  failedAttempts: number;
}

export interface Progress {
  phase: Phase;
  /** Of a multi-step job: the running step (from 0) and the number of steps (1 for a single job). */
  step: number;
  steps: number;
  map: PhaseProgress;
  reduce: PhaseProgress;
  /** The latest status a task reported (`reporter:status:…`, `ctx.status(…)`), if any did. */
  status?: { phase: 'map' | 'reduce'; task: number; message: string };
}

/** The progress of a step about to plan: nothing known yet. */
export function progressAtStart(step = 0, steps = 1): Progress {
  const none = (): PhaseProgress => ({ total: undefined, done: 0, running: 0, failedAttempts: 0 });
  return { phase: 'plan', step, steps, map: none(), reduce: none() };
}

/**
 * Keeps a run's Progress up to date from the pool's task events and the results of the
 * planning tasks, and hands a copy to `onChange` whenever a task starts or ends (or a step begins).
 */
export class ProgressTracker {
  private progress = progressAtStart();

  constructor(private readonly onChange: (p: Progress) => void) {}

  /** A task attempt started or ended on the worker pool, or said how it is doing. */
  readonly onTaskEvent = (e: TaskEvent): void => {
    const progress = this.progress;
    if (e.type === 'status') {
      progress.status = { phase: e.phase, task: e.task, message: e.message };
      this.publish();
      return;
    }
    progress.phase = e.phase;
    const p = e.phase === 'map' ? progress.map : e.phase === 'reduce' ? progress.reduce : undefined;
    if (p) {
      if (e.type === 'start') p.running++;
      else {
        p.running--;
        if (e.error) p.failedAttempts++;
        else p.done++;
      }
    }
    this.publish();
  };

  /** The job module is loaded: how many steps it has. */
  setSteps(steps: number): void {
    this.progress.steps = steps;
  }

  /** Plan of a step returned: a new step starts afresh; its map tasks are known. */
  planned(step: number, steps: number, mapTasks: number): void {
    if (step !== this.progress.step) {
      this.progress = progressAtStart(step, steps);
      this.publish();
    }
    this.progress.map.total = mapTasks;
  }

  /** The shuffle plan returned (or a map-only step has none): the reduce tasks are known (partitions are grouped into them). */
  reducersKnown(tasks: number): void {
    this.progress.reduce.total = tasks;
  }

  private publish(): void {
    this.onChange(structuredClone(this.progress));
  }
}
