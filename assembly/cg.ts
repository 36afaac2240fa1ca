// Preconditioned conjugate gradients for (G + I) W = R with all M right-hand sides at once
// (method.md section 3): one CG per column, their scalars kept side by side. Warm-started from the
// W passed in; preconditioned by the Newton-Schulz approximate inverse (inverse.ts).
// A W is carried along between calls (A W += alpha A p), so a warm start costs no extra product;
// the caller asks for an exact refresh now and then to stop rounding drift.
import { gemm } from './gemm';
import { arenaAllocF32, getF, setF } from './memory';

// Workspace, reserved once per layer by cgReserve: four n x m blocks and three m-vectors.
// z = M^-1 r shares prod's block: it is used up (folded into dir) before prod = A dir is formed.
let resid: usize = 0, dir: usize = 0, prod: usize = 0, aw: usize = 0;
let rz: usize = 0, pq: usize = 0, bb: usize = 0;

/** Reserves CG's workspace for n x m systems; false when memory cannot grow. */
export function cgReserve(n: i32, m: i32): bool {
  const nm = <usize>n * m;
  resid = arenaAllocF32(nm); dir = arenaAllocF32(nm); prod = arenaAllocF32(nm);
  aw = arenaAllocF32(nm);
  rz = arenaAllocF32(m); pq = arenaAllocF32(m); bb = arenaAllocF32(m);
  return bb != 0;
}

/**
 * Improves W (n x m) toward the solution of A W = R (A = G + I, n x n, with approximate inverse
 * `ainv`) in at most maxSteps steps, stopping when every column's residual is below tol times its
 * right-hand side (at least one step is taken). `refresh` recomputes A W exactly.
 * Returns the number of steps taken.
 */
export function cgSolve(
  a: usize, ainv: usize, w: usize, rhs: usize, n: i32, m: i32, maxSteps: i32, tol: f32, refresh: bool,
): i32 {
  const total = <usize>n * m;
  if (refresh) gemm(aw, m, a, n, 1, w, m, n, m, n, false);
  subtractInto(resid, rhs, aw, total);
  columnDots(bb, rhs, rhs, n, m);
  let step = 0;
  // At least one step: a skipped solve would freeze W3 and fake a zero dual residual.
  while (step < maxSteps) {
    if (step > 0 && columnsConverged(resid, bb, n, m, tol, pq)) break;
    step++;
    // z = M^-1 r; p = z (first step) or z + beta p
    if (step == 1) {
      gemm(dir, m, ainv, n, 1, resid, m, n, m, n, false);
      columnDots(rz, resid, dir, n, m);
    } else {
      gemm(prod, m, ainv, n, 1, resid, m, n, m, n, false);
      nextDirection(n, m);
    }
    gemm(prod, m, a, n, 1, dir, m, n, m, n, false);
    columnDots(pq, dir, prod, n, m);
    stepSolution(w, n, m);
  }
  return step;
}

/**
 * One preconditioned Richardson step, W += Z (R - A W) with Z = ainv, carrying A W as if A Z were
 * I (A W becomes R): no product with A. The carried product then drifts by (I - A Z)(R - A W) per
 * call, so with a good Z (||I - A Z|| ~ 1e-3) and an exact refresh every few calls the error stays
 * a small fraction of how much R moved since the last refresh. `refresh` recomputes A W first.
 */
export function richardsonStep(a: usize, ainv: usize, w: usize, rhs: usize, n: i32, m: i32, refresh: bool): void {
  const total = <usize>n * m;
  if (refresh) gemm(aw, m, a, n, 1, w, m, n, m, n, false);
  subtractInto(resid, rhs, aw, total);
  gemm(w, m, ainv, n, 1, resid, m, n, m, n, true); // W += Z r
  memory.copy(aw, rhs, total << 2);
}

/** out[j] = sum_i a[i, j] * b[i, j]: one dot product per column. */
function columnDots(out: usize, a: usize, b: usize, n: i32, m: i32): void {
  memory.fill(out, 0, <usize>m << 2);
  for (let i = 0; i < n; i++) {
    const row = <usize>i * m;
    if (ASC_FEATURE_SIMD) {
      for (let j = 0; j < m; j += 4) {
        const o = out + (<usize>j << 2), e = (row + j) << 2;
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(v128.load(a + e), v128.load(b + e))));
      }
    } else {
      for (let j = 0; j < m; j++) setF(out, j, getF(out, j) + getF(a, row + j) * getF(b, row + j));
    }
  }
}

/** W += alpha p, A W += alpha A p, r -= alpha A p, with alpha = rz / pq per column. */
function stepSolution(w: usize, n: i32, m: i32): void {
  for (let j = 0; j < m; j++) {
    const d = getF(pq, j);
    setF(pq, j, d > 0 ? getF(rz, j) / d : 0); // pq now holds alpha
  }
  for (let i = 0; i < n; i++) {
    const row = <usize>i * m;
    if (ASC_FEATURE_SIMD) {
      for (let j = 0; j < m; j += 4) {
        const o = (row + j) << 2, alpha = v128.load(pq + (<usize>j << 2));
        const q = f32x4.mul(alpha, v128.load(prod + o));
        v128.store(w + o, f32x4.add(v128.load(w + o), f32x4.mul(alpha, v128.load(dir + o))));
        v128.store(aw + o, f32x4.add(v128.load(aw + o), q));
        v128.store(resid + o, f32x4.sub(v128.load(resid + o), q));
      }
      continue;
    }
    for (let j = 0; j < m; j++) {
      const alpha = getF(pq, j), e = row + j, q = alpha * getF(prod, e);
      setF(w, e, getF(w, e) + alpha * getF(dir, e));
      setF(aw, e, getF(aw, e) + q);
      setF(resid, e, getF(resid, e) - q);
    }
  }
}

/** p = z + beta p with z in prod and beta = (r . z)_new / (r . z)_old; rz is updated. */
function nextDirection(n: i32, m: i32): void {
  columnDots(pq, resid, prod, n, m);
  for (let j = 0; j < m; j++) {
    const old = getF(rz, j), now = getF(pq, j);
    setF(pq, j, old > 0 ? now / old : 0); // pq now holds beta
    setF(rz, j, now);
  }
  for (let i = 0; i < n; i++) {
    const row = <usize>i * m;
    if (ASC_FEATURE_SIMD) {
      for (let j = 0; j < m; j += 4) {
        const o = (row + j) << 2;
        v128.store(dir + o, f32x4.add(v128.load(prod + o), f32x4.mul(v128.load(pq + (<usize>j << 2)), v128.load(dir + o))));
      }
      continue;
    }
    for (let j = 0; j < m; j++) {
      const e = row + j;
      setF(dir, e, getF(prod, e) + getF(pq, j) * getF(dir, e));
    }
  }
}

/** out = a - b over `count` entries. */
function subtractInto(out: usize, a: usize, b: usize, count: usize): void {
  if (ASC_FEATURE_SIMD) {
    for (let e: usize = 0; e < count; e += 4) {
      v128.store(out + (e << 2), f32x4.sub(v128.load(a + (e << 2)), v128.load(b + (e << 2))));
    }
    return;
  }
  for (let e: usize = 0; e < count; e++) setF(out, e, getF(a, e) - getF(b, e));
}

/** True when every column has ||r_j||^2 <= tol^2 ||R_j||^2. Uses `scratch` (m floats). */
function columnsConverged(r: usize, bbv: usize, n: i32, m: i32, tol: f32, scratch: usize): bool {
  columnDots(scratch, r, r, n, m);
  const t2 = tol * tol;
  for (let j = 0; j < m; j++) {
    if (getF(scratch, j) > t2 * getF(bbv, j)) return false;
  }
  return true;
}
