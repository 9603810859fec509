/**
 * Limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., Algorithm 7.4 and 7.5)
 * on Float64Array parameters, with a backtracking Armijo line search and the usual curvature guard
 * (a pair (s, y) is stored only when sᵀy > 0). Intended for smooth convex objectives such as
 * L2-regularised logistic regression, where backtracking is enough.
 */

/** Returns the objective value and writes the gradient into `grad`. */
export type ObjectiveFn = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** History size m (default 10). */
  readonly memory?: number;
  /** Maximum iterations (default 1000). */
  readonly maxIterations?: number;
  /** Stop when max |gradient| ≤ gradientTolerance (default 1e-7). */
  readonly gradientTolerance?: number;
  /** Stop when the relative decrease of f in one iteration is ≤ this (default 1e-12). */
  readonly functionTolerance?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly gradientMaxAbs: number;
  readonly converged: boolean;
  /** Why the loop stopped. */
  readonly reason: 'gradient' | 'function' | 'max-iterations' | 'line-search';
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** Minimises `fn` from `x0` (not modified). */
export function minimizeLbfgs(fn: ObjectiveFn, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const m = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 1000;
  const gtol = options.gradientTolerance ?? 1e-7;
  const ftol = options.functionTolerance ?? 1e-12;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fn(x, g);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rhoHist: number[] = [];
  const alpha = new Float64Array(m);
  const d = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  let iterations = 0;
  let reason: LbfgsResult['reason'] = 'max-iterations';
  if (maxAbs(g) <= gtol) reason = 'gradient';
  while (reason === 'max-iterations' && iterations < maxIterations) {
    // Two-loop recursion: d = -H g.
    for (let i = 0; i < n; i++) d[i] = -(g[i] as number);
    for (let j = sHist.length - 1; j >= 0; j--) {
      const a = (rhoHist[j] as number) * dot(sHist[j] as Float64Array, d);
      alpha[j] = a;
      const y = yHist[j] as Float64Array;
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) - a * (y[i] as number);
    }
    if (sHist.length > 0) {
      const sLast = sHist[sHist.length - 1] as Float64Array;
      const yLast = yHist[yHist.length - 1] as Float64Array;
      const gamma = dot(sLast, yLast) / dot(yLast, yLast);
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) * gamma;
    }
    for (let j = 0; j < sHist.length; j++) {
      const b = (rhoHist[j] as number) * dot(yHist[j] as Float64Array, d);
      const s = sHist[j] as Float64Array;
      const a = alpha[j] as number;
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) + (a - b) * (s[i] as number);
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sHist.length = 0;
      yHist.length = 0;
      rhoHist.length = 0;
      for (let i = 0; i < n; i++) d[i] = -(g[i] as number);
      slope = dot(g, d);
    }
    // First iteration: a step of unit length along -g; afterwards the quasi-Newton step 1.
    let step = sHist.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Number.POSITIVE_INFINITY;
    let accepted = false;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = (x[i] as number) + step * (d[i] as number);
      fNew = fn(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    iterations++;
    if (!accepted) {
      reason = 'line-search';
      break;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = (xNew[i] as number) - (x[i] as number);
      y[i] = (gNew[i] as number) - (g[i] as number);
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      sHist.push(s);
      yHist.push(y);
      rhoHist.push(1 / sy);
      if (sHist.length > m) {
        sHist.shift();
        yHist.shift();
        rhoHist.shift();
      }
    }
    const decrease = f - fNew;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;
    if (maxAbs(g) <= gtol) reason = 'gradient';
    else if (decrease <= ftol * Math.max(1, Math.abs(f))) reason = 'function';
  }
  const gradientMaxAbs = maxAbs(g);
  return { x, value: f, iterations, gradientMaxAbs, converged: reason === 'gradient' || reason === 'function', reason };
}
