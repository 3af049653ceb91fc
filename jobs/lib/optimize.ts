/**
 * Minimizers for the iterative drivers, whose every function evaluation is a pass over the data
 * (a job): L-BFGS with a strong Wolfe line search (Nocedal & Wright, Numerical Optimization,
 * algorithms 7.4, 3.5 and 3.6), and Newton's method with backtracking for problems small
 * enough to send their Hessian through the shuffle. Both count evaluations, the figure that
 * costs.
 */

export interface Evaluation {
  /** The objective. */
  f: number;
  /** Its gradient. */
  g: Float64Array;
  /** Its Hessian, dense row-major (Newton only). */
  h?: Float64Array;
}

export interface MinimizeOptions {
  x0: Float64Array;
  /** One evaluation at x (a pass over the data). */
  evaluate(x: Float64Array): Promise<Evaluation>;
  /** Stop when max |g_i| <= tol. */
  tol: number;
  /** Iterations (accepted steps) at most. */
  maxIterations: number;
  /** Called after each accepted step. */
  onIteration?(state: { iteration: number; f: number; gradientNorm: number; evaluations: number }): void;
}

export interface MinimizeResult {
  x: Float64Array;
  f: number;
  g: Float64Array;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Why it stopped, in words. */
  reason: string;
}

export const maxAbs = (v: Float64Array): number => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
};

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** x + α·p, new. */
function step(x: Float64Array, p: Float64Array, alpha: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! + alpha * p[i]!;
  return out;
}

/** L-BFGS (m correction pairs) with a strong Wolfe line search (c1 = 1e-4, c2 = 0.9). */
export async function lbfgs(options: MinimizeOptions & { memory?: number }): Promise<MinimizeResult> {
  const m = options.memory ?? 10;
  let evaluations = 0;
  const evaluate = async (x: Float64Array) => {
    evaluations++;
    return options.evaluate(x);
  };
  let x = options.x0;
  let { f, g } = await evaluate(x);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  let iteration = 0;
  const done = (converged: boolean, reason: string): MinimizeResult => ({
    x,
    f,
    g,
    iterations: iteration,
    evaluations,
    converged,
    reason,
  });
  while (true) {
    const gnorm = maxAbs(g);
    if (gnorm <= options.tol) return done(true, `max |gradient| ${gnorm.toExponential(3)} <= tol`);
    if (iteration >= options.maxIterations) return done(false, `${iteration} iterations (maxIterations)`);
    // Two-loop recursion: p = −H·g with H the L-BFGS inverse Hessian, H0 = (sᵀy / yᵀy)·I.
    const q = Float64Array.from(g);
    const alpha = new Array<number>(s.length);
    for (let i = s.length - 1; i >= 0; i--) {
      alpha[i] = rho[i]! * dot(s[i]!, q);
      for (let j = 0; j < q.length; j++) q[j]! -= alpha[i]! * y[i]![j]!;
    }
    const last = s.length - 1;
    const gamma = last >= 0 ? dot(s[last]!, y[last]!) / dot(y[last]!, y[last]!) : 1;
    for (let j = 0; j < q.length; j++) q[j]! *= gamma;
    for (let i = 0; i < s.length; i++) {
      const beta = rho[i]! * dot(y[i]!, q);
      for (let j = 0; j < q.length; j++) q[j]! += s[i]![j]! * (alpha[i]! - beta);
    }
    for (let j = 0; j < q.length; j++) q[j] = -q[j]!;
    let dphi0 = dot(g, q);
    let p = q;
    if (!(dphi0 < 0)) {
      // Not a descent direction (rounding in the pairs): restart from steepest descent.
      s.length = y.length = rho.length = 0;
      p = Float64Array.from(g, (v) => -v);
      dphi0 = dot(g, p);
    }
    const first = s.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(g, g))) : 1;
    const found = await wolfe(x, f, dphi0, p, first, evaluate);
    if (!found)
      return done(
        false,
        `the line search found no better point at max |gradient| ${gnorm.toExponential(3)} (the limit of double precision for this data?)`,
      );
    const sNew = new Float64Array(x.length);
    const yNew = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      sNew[j] = found.x[j]! - x[j]!;
      yNew[j] = found.g[j]! - g[j]!;
    }
    const sy = dot(sNew, yNew);
    x = found.x;
    g = found.g;
    f = found.f;
    iteration++;
    options.onIteration?.({ iteration, f, gradientNorm: maxAbs(g), evaluations });
    if (sy > 1e-10 * dot(yNew, yNew)) {
      s.push(sNew);
      y.push(yNew);
      rho.push(1 / sy);
      if (s.length > m) {
        s.shift();
        y.shift();
        rho.shift();
      }
    }
  }
}

interface Point {
  alpha: number;
  x: Float64Array;
  f: number;
  g: Float64Array;
  dphi: number;
}

/** Strong Wolfe line search along p from x (f0, slope dphi0 < 0); null when no step lowers f. */
async function wolfe(
  x: Float64Array,
  f0: number,
  dphi0: number,
  p: Float64Array,
  alpha1: number,
  evaluate: (x: Float64Array) => Promise<Evaluation>,
): Promise<Point | null> {
  const c1 = 1e-4;
  const c2 = 0.9;
  const at = async (alpha: number): Promise<Point> => {
    const xa = step(x, p, alpha);
    const { f, g } = await evaluate(xa);
    return { alpha, x: xa, f, g, dphi: dot(g, p) };
  };
  // Near the optimum f moves less than its own rounding (a sum over every row): there a point is
  // taken on its slope alone, Hager and Zhang's approximate Wolfe conditions, when f is within
  // that rounding of f0 and the slope has risen from φ'(0) to between 0.9·φ'(0) and −0.8·φ'(0).
  const noise = 1e-12 * Math.abs(f0);
  const approximate = (p: Point) => p.f <= f0 + noise && p.dphi >= c2 * dphi0 && p.dphi <= -0.8 * dphi0;
  let prev: Point = { alpha: 0, x, f: f0, g: new Float64Array(0), dphi: dphi0 };
  let alpha = alpha1;
  for (let i = 0; i < 20; i++) {
    const cur = await at(alpha);
    if (approximate(cur)) return cur;
    if (cur.f > f0 + c1 * alpha * dphi0 || (i > 0 && cur.f >= prev.f)) return zoom(prev, cur);
    if (Math.abs(cur.dphi) <= -c2 * dphi0) return cur;
    if (cur.dphi >= 0) return zoom(cur, prev);
    prev = cur;
    alpha *= 2;
  }
  return prev.alpha > 0 ? prev : null;

  async function zoom(lo: Point, hi: Point): Promise<Point | null> {
    for (let i = 0; i < 30; i++) {
      const a = interpolate(lo, hi);
      const cur = await at(a);
      if (approximate(cur)) return cur;
      if (cur.f > f0 + c1 * a * dphi0 || cur.f >= lo.f) hi = cur;
      else {
        if (Math.abs(cur.dphi) <= -c2 * dphi0) return cur;
        if (cur.dphi * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = cur;
      }
      if (Math.abs(hi.alpha - lo.alpha) <= 1e-16 * Math.max(1, lo.alpha)) break;
    }
    // The interval has shrunk to nothing: take the best point if it lowered f at all.
    return lo.alpha > 0 && lo.f < f0 ? lo : null;
  }
}

/** The minimizer of the cubic through two points (values and slopes), kept inside the middle 80% of the interval. */
function interpolate(a: Point, b: Point): number {
  const d1 = a.dphi + b.dphi - (3 * (a.f - b.f)) / (a.alpha - b.alpha);
  const sq = d1 * d1 - a.dphi * b.dphi;
  const lo = Math.min(a.alpha, b.alpha);
  const hi = Math.max(a.alpha, b.alpha);
  let t = (lo + hi) / 2;
  if (sq >= 0) {
    const d2 = Math.sign(b.alpha - a.alpha) * Math.sqrt(sq);
    const c = b.alpha - (b.alpha - a.alpha) * ((b.dphi + d2 - d1) / (b.dphi - a.dphi + 2 * d2));
    if (Number.isFinite(c)) t = c;
  }
  const margin = 0.1 * (hi - lo);
  return Math.min(Math.max(t, lo + margin), hi - margin);
}

/**
 * Newton's method: x ← x + α·d with (H + u·uᵀ)·d = −g (u: the directions along which the
 * objective is flat, e.g. a multinomial model's intercepts all moved together; with g ⊥ u this
 * is the least-norm Newton step) and α halved from 1 until f decreases enough (Armijo).
 */
export async function newton(options: MinimizeOptions & { flat?: Float64Array[] }): Promise<MinimizeResult> {
  let evaluations = 0;
  const evaluate = async (x: Float64Array) => {
    evaluations++;
    const e = await options.evaluate(x);
    if (!e.h) throw new Error('newton needs the Hessian of each evaluation');
    return e;
  };
  let x = options.x0;
  let cur = await evaluate(x);
  let iteration = 0;
  const done = (converged: boolean, reason: string): MinimizeResult => ({
    x,
    f: cur.f,
    g: cur.g,
    iterations: iteration,
    evaluations,
    converged,
    reason,
  });
  const n = x.length;
  while (true) {
    const gnorm = maxAbs(cur.g);
    if (gnorm <= options.tol) return done(true, `max |gradient| ${gnorm.toExponential(3)} <= tol`);
    if (iteration >= options.maxIterations) return done(false, `${iteration} iterations (maxIterations)`);
    const h = Float64Array.from(cur.h!);
    for (const u of options.flat ?? [])
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j]! += u[i]! * u[j]!;
    const d = solveSpd(
      h,
      Float64Array.from(cur.g, (v) => -v),
      n,
    );
    if (!d) return done(false, 'the Hessian is not positive definite (collinear features without regularisation?)');
    const slope = dot(cur.g, d);
    let alpha = 1;
    let next: Evaluation | undefined;
    for (let i = 0; i < 30; i++) {
      const e = await evaluate(step(x, d, alpha));
      if (e.f <= cur.f + 1e-4 * alpha * slope) {
        next = e;
        break;
      }
      alpha /= 2;
    }
    if (!next) return done(false, 'no Newton step lowers the objective (at the limit of double precision?)');
    x = step(x, d, alpha);
    cur = next;
    iteration++;
    options.onIteration?.({ iteration, f: cur.f, gradientNorm: maxAbs(cur.g), evaluations });
  }
}

/** Solves A·x = b for symmetric positive definite A (n×n, row-major) by Cholesky; null if A is not. */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * z[k]!;
    z[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}
