// Conjugate gradients for (G + I) W = R with all M right-hand sides at once (method.md section 3):
// one independent CG per column, their scalars kept side by side so every step is a SIMD pass.
// Jacobi-preconditioned and warm-started from the W passed in.
import { gemm } from './gemm';
import { arenaAllocF32, getF, setF } from './memory';

// Workspace, reserved once per layer by cgReserve: three N x M blocks and three M-vectors.
let resid: usize = 0, dir: usize = 0, prod: usize = 0, rz: usize = 0, pq: usize = 0, bb: usize = 0;

/** Reserves CG's workspace for n x m systems; false when memory cannot grow. */
export function cgReserve(n: i32, m: i32): bool {
  const nm = <usize>n * m;
  resid = arenaAllocF32(nm); dir = arenaAllocF32(nm); prod = arenaAllocF32(nm);
  rz = arenaAllocF32(m); pq = arenaAllocF32(m); bb = arenaAllocF32(m);
  return bb != 0;
}

/**
 * Improves W (n x m, row-major) toward the solution of (G + I) W = R in at most maxSteps steps,
 * stopping when every column's residual is below tol times its right-hand side.
 * `diag` holds the n diagonal entries of G + I. Returns the number of steps taken.
 */
export function cgSolve(
  g: usize, diag: usize, w: usize, rhs: usize, n: i32, m: i32, maxSteps: i32, tol: f32,
): i32 {
  const total = <usize>n * m;
  // r = R - (G + I) W
  gemm(prod, m, g, n, 1, w, m, n, m, n, false);
  for (let e: usize = 0; e < total; e++) {
    setF(resid, e, getF(rhs, e) - getF(prod, e) - getF(w, e));
  }
  columnDots(bb, rhs, rhs, n, m);
  if (columnsConverged(resid, bb, n, m, tol, pq)) return 0;
  // p = z = r / diag, rz = r . z
  scaleRowsInto(dir, resid, diag, n, m);
  columnDots(rz, resid, dir, n, m);
  let step = 0;
  while (step < maxSteps) {
    step++;
    // q = (G + I) p
    gemm(prod, m, g, n, 1, dir, m, n, m, n, false);
    addInto(prod, dir, total);
    columnDots(pq, dir, prod, n, m);
    stepSolution(w, resid, dir, prod, rz, pq, n, m);
    if (columnsConverged(resid, bb, n, m, tol, pq)) break;
    nextDirection(dir, resid, diag, rz, pq, n, m);
  }
  return step;
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

/** x += alpha p and r -= alpha q with alpha = rz / pq per column (0 where pq is 0). */
function stepSolution(w: usize, r: usize, p: usize, q: usize, rz: usize, pq: usize, n: i32, m: i32): void {
  // alpha overwrites pq: it is not needed afterwards
  for (let j = 0; j < m; j++) {
    const d = getF(pq, j);
    setF(pq, j, d > 0 ? getF(rz, j) / d : 0);
  }
  for (let i = 0; i < n; i++) {
    const row = <usize>i * m;
    for (let j = 0; j < m; j++) {
      const alpha = getF(pq, j), e = row + j;
      setF(w, e, getF(w, e) + alpha * getF(p, e));
      setF(r, e, getF(r, e) - alpha * getF(q, e));
    }
  }
}

/** p = z + beta p with z = r / diag and beta = (r . z)_new / (r . z)_old; rz is updated. */
function nextDirection(p: usize, r: usize, diag: usize, rz: usize, scratch: usize, n: i32, m: i32): void {
  memory.fill(scratch, 0, <usize>m << 2);
  for (let i = 0; i < n; i++) {
    const inv: f32 = 1 / getF(diag, i), row = <usize>i * m;
    for (let j = 0; j < m; j++) {
      const rv = getF(r, row + j);
      setF(scratch, j, getF(scratch, j) + rv * rv * inv);
    }
  }
  for (let j = 0; j < m; j++) {
    const old = getF(rz, j), now = getF(scratch, j);
    setF(scratch, j, old > 0 ? now / old : 0);
    setF(rz, j, now);
  }
  for (let i = 0; i < n; i++) {
    const inv: f32 = 1 / getF(diag, i), row = <usize>i * m;
    for (let j = 0; j < m; j++) {
      const e = row + j;
      setF(p, e, getF(r, e) * inv + getF(scratch, j) * getF(p, e));
    }
  }
}

/** out = r / diag, row by row. */
function scaleRowsInto(out: usize, r: usize, diag: usize, n: i32, m: i32): void {
  for (let i = 0; i < n; i++) {
    const inv: f32 = 1 / getF(diag, i), row = <usize>i * m;
    for (let j = 0; j < m; j++) setF(out, row + j, getF(r, row + j) * inv);
  }
}

/** a += b over `count` entries. */
function addInto(a: usize, b: usize, count: usize): void {
  for (let e: usize = 0; e < count; e++) setF(a, e, getF(a, e) + getF(b, e));
}

/** True when every column has ||r_j||^2 <= tol^2 ||R_j||^2. Uses `scratch` (m floats). */
function columnsConverged(r: usize, bb: usize, n: i32, m: i32, tol: f32, scratch: usize): bool {
  columnDots(scratch, r, r, n, m);
  const t2 = tol * tol;
  for (let j = 0; j < m; j++) {
    if (getF(scratch, j) > t2 * getF(bb, j)) return false;
  }
  return true;
}
