/** Types of parameter-sweep.mjs, for the tests that import it. */
export interface Trained {
  rate: number;
  steps: number;
  a: number;
  b: number;
  loss: number;
}
export function train(p: { rate: number; steps: number }): Trained;
export function best(results: Trained[]): Trained;
