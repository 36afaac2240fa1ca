// Conjugate gradients for the refit's masked normal equations (refit.ts): for every output neuron
// j at once, G[S_j, S_j] w_j = r_j[S_j], with G = X^T X (n x n, shared) and S_j the neuron's kept
// inputs (mask column j). Entries outside S_j stay exactly zero. The masked operator
// w -> mask * (G w) is symmetric positive (semi)definite on the support, so CG applies column by
// column, all columns' scalars side by side (as cg.ts); preconditioned by the inverse diagonal of G
// (Jacobi), which already rescales the inputs (pixels differ in energy by orders of magnitude).
import { gemm } from './gemm';
import { arenaAllocF32, getF, setF } from './memory';

// Workspace, reserved once per refit by refitCgReserve: four n x m blocks and four m-vectors.
let resid: usize = 0, dir: usize = 0, prod: usize = 0, pre: usize = 0;
let rz: usize = 0, coef: usize = 0, rr: usize = 0, bb: usize = 0;

/** Reserves the workspace for n x m systems; false when memory cannot grow. */
export function refitCgReserve(n: i32, m: i32): bool {
  const nm = <usize>n * m;
  resid = arenaAllocF32(nm); dir = arenaAllocF32(nm); prod = arenaAllocF32(nm); pre = arenaAllocF32(nm);
  rz = arenaAllocF32(m); coef = arenaAllocF32(m); rr = arenaAllocF32(m); bb = arenaAllocF32(m);
  return bb != 0;
}

/**
 * Improves W (n x m, zero off the mask) toward the solution of mask * (G W) = mask * rhs in at
 * most maxSteps steps, stopping when every column's residual is below tol times its right-hand
 * side. `diagInv` holds 1 / G_ii (n floats). Returns the steps taken.
 */
export function maskedCgSolve(
  g: usize, diagInv: usize, mask: usize, w: usize, rhs: usize, n: i32, m: i32, maxSteps: i32, tol: f32,
): i32 {
  const total = <usize>n * m;
  gemm(prod, m, g, n, 1, w, m, n, m, n, false);
  combine(resid, mask, rhs, prod, -1, total); // r = mask * (rhs - G W)
  columnDots(bb, rhs, rhs, mask, n, m);
  const t2 = tol * tol;
  let step = 0;
  while (step < maxSteps) {
    columnDots(rr, resid, resid, mask, n, m);
    if (columnsBelow(rr, bb, m, t2)) break;
    step++;
    precondition(pre, resid, diagInv, n, m);
    columnDots(coef, resid, pre, mask, n, m); // r . z
    if (step == 1) {
      memory.copy(dir, pre, total << 2);
    } else {
      for (let j = 0; j < m; j++) {
        const old = getF(rz, j), now = getF(coef, j);
        setF(rz, j, now);
        setF(coef, j, old > 0 ? now / old : 0); // beta
      }
      scaleAdd(dir, pre, coef, dir, n, m); // dir = pre + beta dir
    }
    if (step == 1) memory.copy(rz, coef, <usize>m << 2);
    gemm(prod, m, g, n, 1, dir, m, n, m, n, false);
    combine(prod, mask, prod, prod, 0, total); // prod = mask * (G dir)
    columnDots(coef, dir, prod, mask, n, m);
    for (let j = 0; j < m; j++) {
      const d = getF(coef, j);
      setF(coef, j, d > 0 ? getF(rz, j) / d : 0); // alpha
    }
    scaleAdd(w, w, coef, dir, n, m); // W += alpha dir
    scaleAddNegative(resid, coef, prod, n, m); // r -= alpha G dir
  }
  return step;
}

/** out = mask * (a + sign b) (sign 0: mask * a). */
function combine(out: usize, mask: usize, a: usize, b: usize, sign: f32, count: usize): void {
  if (ASC_FEATURE_SIMD) {
    const s = f32x4.splat(sign);
    for (let e: usize = 0; e < count; e += 4) {
      const o = e << 2;
      v128.store(out + o, f32x4.mul(v128.load(mask + o), f32x4.add(v128.load(a + o), f32x4.mul(s, v128.load(b + o)))));
    }
    return;
  }
  for (let e: usize = 0; e < count; e++) setF(out, e, getF(mask, e) * (getF(a, e) + sign * getF(b, e)));
}

/** out[i, j] = r[i, j] / G_ii. */
function precondition(out: usize, r: usize, diagInv: usize, n: i32, m: i32): void {
  for (let i = 0; i < n; i++) {
    const row = <usize>i * m, d = getF(diagInv, i);
    if (ASC_FEATURE_SIMD) {
      const dv = f32x4.splat(d);
      for (let j = 0; j < m; j += 4) {
        const o = (row + j) << 2;
        v128.store(out + o, f32x4.mul(dv, v128.load(r + o)));
      }
      continue;
    }
    for (let j = 0; j < m; j++) setF(out, row + j, d * getF(r, row + j));
  }
}

/** out = a + c[j] b, per column j (also the soft refit's step, refit-ncg.ts). */
export function scaleAdd(out: usize, a: usize, c: usize, b: usize, n: i32, m: i32): void {
  for (let i = 0; i < n; i++) {
    const row = <usize>i * m;
    if (ASC_FEATURE_SIMD) {
      for (let j = 0; j < m; j += 4) {
        const o = (row + j) << 2;
        v128.store(out + o, f32x4.add(v128.load(a + o), f32x4.mul(v128.load(c + (<usize>j << 2)), v128.load(b + o))));
      }
      continue;
    }
    for (let j = 0; j < m; j++) setF(out, row + j, getF(a, row + j) + getF(c, j) * getF(b, row + j));
  }
}

/** out -= c[j] b, per column j. */
function scaleAddNegative(out: usize, c: usize, b: usize, n: i32, m: i32): void {
  for (let i = 0; i < n; i++) {
    const row = <usize>i * m;
    if (ASC_FEATURE_SIMD) {
      for (let j = 0; j < m; j += 4) {
        const o = (row + j) << 2;
        v128.store(out + o, f32x4.sub(v128.load(out + o), f32x4.mul(v128.load(c + (<usize>j << 2)), v128.load(b + o))));
      }
      continue;
    }
    for (let j = 0; j < m; j++) setF(out, row + j, getF(out, row + j) - getF(c, j) * getF(b, row + j));
  }
}

/** out[j] = sum_i mask[i, j] a[i, j] b[i, j], partial sums per block of 64 rows folded in f64. */
function columnDots(out: usize, a: usize, b: usize, mask: usize, n: i32, m: i32): void {
  for (let j = 0; j < m; j++) {
    let sum: f64 = 0;
    for (let i0 = 0; i0 < n; i0 += 64) {
      let part: f32 = 0;
      const end = min(n, i0 + 64);
      for (let i = i0; i < end; i++) {
        const e = <usize>i * m + j;
        part += getF(mask, e) * getF(a, e) * getF(b, e);
      }
      sum += <f64>part;
    }
    setF(out, j, <f32>sum);
  }
}

/** True when every column has ||r_j||^2 <= t2 ||rhs_j||^2. */
function columnsBelow(r2: usize, b2: usize, m: i32, t2: f32): bool {
  for (let j = 0; j < m; j++) if (getF(r2, j) > t2 * getF(b2, j)) return false;
  return true;
}
