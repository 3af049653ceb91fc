import { StreamingError } from '../functions/errors.js';

export interface IterateOptions<S> {
  /** The state before the first iteration (e.g. the initial centroids). */
  initial: S;
  /** One iteration: run a job (runLocal or startJob) from `state` and return the new state. */
  step(state: S, iteration: number): Promise<S>;
  /** Whether the change from `previous` to `next` is small enough to stop (e.g. no centroid moved more than a tolerance). */
  converged(previous: S, next: S): boolean;
  /** Stop after this many iterations even if not converged. */
  maxIterations: number;
}

export interface IterateResult<S> {
  state: S;
  /** Iterations run. */
  iterations: number;
  /** False when it stopped at maxIterations. */
  converged: boolean;
}

/**
 * A driver loop for iterative jobs (k-means, gradient steps): runs `step` until `converged`
 * says so or `maxIterations` is reached. Each step usually runs one job whose side input is
 * the state, and reads the state back from the job's output.
 */
export async function iterate<S>(options: IterateOptions<S>): Promise<IterateResult<S>> {
  const { maxIterations } = options;
  if (!Number.isInteger(maxIterations) || maxIterations < 1)
    throw new StreamingError(`maxIterations must be a whole number >= 1 (got ${maxIterations})`);
  let state = options.initial;
  for (let i = 1; i <= maxIterations; i++) {
    const next = await options.step(state, i);
    const done = options.converged(state, next);
    state = next;
    if (done) return { state, iterations: i, converged: true };
  }
  return { state, iterations: maxIterations, converged: false };
}
