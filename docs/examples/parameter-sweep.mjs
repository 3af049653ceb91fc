#!/usr/bin/env node
// A parameter sweep with the executor API (docs/executor.md), after `npm run build`:
//   node docs/examples/parameter-sweep.mjs
// trains a tiny model for every (learning rate, steps) pair of a grid, one executor call each,
// on the local engine's worker threads, then picks the best with mapReduce. Deployed as a
// StreamingJob's job, the same module serves executor({ deployed: '<name>' }).
import { executor, isMain } from 'streaming';

/**
 * Gradient descent on the least-squares line through points of y = 2x + 1 (plus a fixed wobble),
 * from (0, 0): the loss after `steps` steps of size `rate`.
 */
export function train({ rate, steps }) {
  const points = Array.from({ length: 50 }, (_, i) => [i / 10, (2 * i) / 10 + 1 + Math.sin(i) / 10]);
  let a = 0;
  let b = 0;
  const loss = () => points.reduce((s, [x, y]) => s + (a * x + b - y) ** 2, 0) / points.length;
  for (let k = 0; k < steps; k++) {
    let ga = 0;
    let gb = 0;
    for (const [x, y] of points) {
      ga += (2 * (a * x + b - y) * x) / points.length;
      gb += (2 * (a * x + b - y)) / points.length;
    }
    a -= rate * ga;
    b -= rate * gb;
  }
  return { rate, steps, a, b, loss: loss() };
}

/** The run with the lowest finite loss (a rate too large diverges). */
export function best(results) {
  return results.filter((r) => Number.isFinite(r.loss)).reduce((x, y) => (y.loss < x.loss ? y : x));
}

// Every worker loads this module to find `train` and `best`: the sweep itself runs only here.
if (isMain(import.meta)) {
  const grid = [];
  for (const rate of [0.001, 0.01, 0.03, 0.06, 0.1]) for (const steps of [10, 100, 1000]) grid.push({ rate, steps });
  const ex = executor({ workers: 2 });
  const results = await ex.map(train, grid);
  for (const r of results) console.log(`rate ${r.rate}\tsteps ${r.steps}\tloss ${r.loss.toPrecision(4)}`);
  const winner = await ex.mapReduce(train, grid, best);
  console.log(`best: rate ${winner.rate}, ${winner.steps} steps: y = ${winner.a.toFixed(3)}x + ${winner.b.toFixed(3)}`);
}
