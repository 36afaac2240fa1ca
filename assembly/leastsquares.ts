// The Gram form's (gram.ts) Gram matrix and least-squares fit: G = X^T X in float64, and a fit W*
// of (G + ridge I) W = C, C = X^T Y, by a bounded number of CG steps (no factorization: the design
// keeps assembly/ to products, CG and thresholds). G in float32 would be off by ~1e-7 ||G||, which
// lifts the null space of a rank-deficient X (repeated samples) to eigenvalues that hide residuals
// below ~1e-3 ||A||; in float64 the quadratic forms <A, G A> the Gram form measures norms with lose
// ~1e-16 ||G|| ||A||^2, i.e. ||X A|| is known to ~1e-8 ||X|| ||A||, as good as the sample form's
// float32 product X A. W* is only a reference point (the caller measures R = Y - X W* directly), so
// a few CG steps do: the ridge keeps the system positive definite where G is singular.
import { arenaAlloc, arenaAllocF32, getF, setF } from './memory';
import { solveFit } from './system';

// Ridge of the fit, relative to the largest diagonal entry of G; the fit's CG steps and tolerance.
const FIT_RIDGE: f64 = 1e-6;
const FIT_STEPS: i32 = 50;
const FIT_TOL: f32 = 1e-4;

// Samples per pass of formGram64: the transposed chunk (n x CHUNK float64) stays in L2.
const CHUNK: i32 = 128;

// gram: G (n x n float64, both triangles); fit: G + ridge I in float32 (the fit's CG matrix);
// chunk: n x CHUNK float64.
let gram: usize = 0, fit: usize = 0, chunk: usize = 0;

/** Reserves n x n float64 and float32 and n x CHUNK float64; false when memory cannot grow. */
export function leastSquaresReserve(n: i32): bool {
  gram = arenaAlloc((<usize>n * n) << 3);
  fit = arenaAllocF32(<usize>n * n);
  chunk = arenaAlloc((<usize>n * CHUNK) << 3);
  return gram != 0 && fit != 0 && chunk != 0;
}

/** G (n x n float64, row-major, symmetric) from formGram64. */
export function gramMatrix(): usize {
  return gram;
}

/**
 * G = X^T X in float64 for sample-major X (p x n, n even), CHUNK samples at a time: the chunk is
 * transposed to float64 rows, then every 2 x 2 tile of the lower triangle takes four row dot products.
 */
export function formGram64(x: usize, n: i32, p: i32): void {
  memory.fill(gram, 0, (<usize>n * n) << 3);
  for (let p0 = 0; p0 < p; p0 += CHUNK) {
    const depth = min(CHUNK, p - p0);
    memory.fill(chunk, 0, (<usize>n * CHUNK) << 3);
    for (let s = 0; s < depth; s++) {
      const row = x + ((<usize>(p0 + s) * n) << 2);
      for (let i = 0; i < n; i++) setD(chunk, <usize>i * CHUNK + s, <f64>load<f32>(row + (<usize>i << 2)));
    }
    for (let i = 0; i < n; i += 2) {
      for (let j = 0; j <= i; j += 2) addTile(i, j, n);
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) setD(gram, <usize>j * n + i, getD(gram, <usize>i * n + j));
  }
}

/** float32 sys = I + G from formGram64's G. */
export function writeSystem(sys: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      setF(sys, <usize>i * n + j, <f32>(getD(gram, <usize>i * n + j) + (i == j ? 1 : 0)));
    }
  }
}

/** G[i..i+1][j..j+1] += the chunk's row products. */
function addTile(i: i32, j: i32, n: i32): void {
  const a0 = chunk + ((<usize>i * CHUNK) << 3), a1 = a0 + (<usize>CHUNK << 3);
  const b0 = chunk + ((<usize>j * CHUNK) << 3), b1 = b0 + (<usize>CHUNK << 3);
  let s00: f64 = 0, s01: f64 = 0, s10: f64 = 0, s11: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    let v00 = f64x2.splat(0), v01 = f64x2.splat(0), v10 = f64x2.splat(0), v11 = f64x2.splat(0);
    for (let k = 0; k < CHUNK; k += 2) {
      const o = <usize>k << 3;
      const x0 = v128.load(a0 + o), x1 = v128.load(a1 + o), y0 = v128.load(b0 + o), y1 = v128.load(b1 + o);
      v00 = f64x2.add(v00, f64x2.mul(x0, y0)); v01 = f64x2.add(v01, f64x2.mul(x0, y1));
      v10 = f64x2.add(v10, f64x2.mul(x1, y0)); v11 = f64x2.add(v11, f64x2.mul(x1, y1));
    }
    s00 = f64x2.extract_lane(v00, 0) + f64x2.extract_lane(v00, 1);
    s01 = f64x2.extract_lane(v01, 0) + f64x2.extract_lane(v01, 1);
    s10 = f64x2.extract_lane(v10, 0) + f64x2.extract_lane(v10, 1);
    s11 = f64x2.extract_lane(v11, 0) + f64x2.extract_lane(v11, 1);
  } else {
    for (let k = 0; k < CHUNK; k++) {
      const o = <usize>k << 3, x0 = load<f64>(a0 + o), x1 = load<f64>(a1 + o);
      const y0 = load<f64>(b0 + o), y1 = load<f64>(b1 + o);
      s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
    }
  }
  const at = <usize>i * n + j;
  setD(gram, at, getD(gram, at) + s00);
  setD(gram, at + n, getD(gram, at + n) + s10);
  setD(gram, at + n + 1, getD(gram, at + n + 1) + s11);
  if (j + 1 <= i) setD(gram, at + 1, getD(gram, at + 1) + s01); // else above the diagonal
}

/**
 * W* (n x m, leading dimension m, zeroed first) improved toward (G + ridge I)^{-1} C by at most
 * FIT_STEPS CG steps, with C = X^T Y already in the system's right-hand side (system.ts: solveFit,
 * preconditioned by the W3 system's approximate inverse of I + G). Returns the steps taken.
 */
export function leastSquares(wStar: usize, n: i32, m: i32): i32 {
  let largest: f64 = 0;
  for (let i = 0; i < n; i++) largest = Math.max(largest, getD(gram, <usize>i * (n + 1)));
  const ridge = FIT_RIDGE * Math.max(largest, 1e-30);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) setF(fit, <usize>i * n + j, <f32>(getD(gram, <usize>i * n + j) + (i == j ? ridge : 0)));
  }
  memory.fill(wStar, 0, (<usize>n * m) << 2);
  return solveFit(fit, wStar, n, m, FIT_STEPS, FIT_TOL);
}

// @ts-ignore: decorator
@inline function getD(p: usize, i: usize): f64 {
  return load<f64>(p + (i << 3));
}
// @ts-ignore: decorator
@inline function setD(p: usize, i: usize, v: f64): void {
  store<f64>(p + (i << 3), v);
}
