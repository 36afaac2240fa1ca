// The Gram form's (gram.ts) Gram matrix, factor and fit, in float64: G = X^T X, L L^T = G + ridge I
// (Cholesky), and a least-squares fit W* = (G + ridge I)^{-1} C with C = X^T Y. G in float32 would
// be off by ~1e-7 ||G||, which lifts the null space of a rank-deficient X (repeated samples) to
// eigenvalues that hide residuals below ~1e-3 ||A||; in float64 the Gram form sees what the sample
// form sees. The Gram form measures X A as L^T A,
// a sum of squares (<A, G A> would cancel down to float32 rounding of ||G|| ||A||^2 where X A is
// small, e.g. along constant-zero inputs), and every iterate against Y = X W* + R: the smaller R,
// the fewer digits its norms lose. W* need not be exact: the caller measures R = Y - X W* directly.
// The ridge keeps the factor defined where G is singular.
import { arenaAlloc, getF, setF } from './memory';

// Ridge, relative to the largest diagonal entry of G; grown by RIDGE_GROWTH while a pivot is not
// positive (rounding can leave G slightly indefinite).
const RIDGE: f64 = 1e-10;
const FIT_RIDGE: f64 = 1e-6;
const RIDGE_GROWTH: f64 = 100;

// Samples per pass of formGram64: the transposed chunk (n x CHUNK float64) stays in L2.
const CHUNK: i32 = 128;

// factor: G's strict upper triangle above, L's lower triangle (G's before the Cholesky), G's
// diagonal in diag; rhs: n x m; chunk: n x CHUNK.
let factor: usize = 0, diag: usize = 0, rhs: usize = 0, chunk: usize = 0;

/** Reserves n x n, n x m, n x CHUNK and n float64; false when memory cannot grow. */
export function leastSquaresReserve(n: i32, m: i32): bool {
  factor = arenaAlloc((<usize>n * n) << 3);
  diag = arenaAlloc(<usize>n << 3);
  rhs = arenaAlloc((<usize>n * m) << 3);
  chunk = arenaAlloc((<usize>n * CHUNK) << 3);
  return factor != 0 && diag != 0 && rhs != 0 && chunk != 0;
}

/**
 * G = X^T X in float64 for sample-major X (p x n, n even), CHUNK samples at a time: the chunk is
 * transposed to float64 rows, then every 2 x 2 tile of the lower triangle takes four row dot products.
 */
export function formGram64(x: usize, n: i32, p: i32): void {
  memory.fill(factor, 0, (<usize>n * n) << 3);
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
    setD(diag, i, getD(factor, <usize>i * (n + 1)));
    for (let j = 0; j < i; j++) setD(factor, <usize>j * n + i, getD(factor, <usize>i * n + j));
  }
}

/** float32 sys = I + G from formGram64's G. */
export function writeSystem(sys: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const g = i == j ? getD(diag, i) : getD(factor, i < j ? <usize>i * n + j : <usize>j * n + i);
      setF(sys, <usize>i * n + j, <f32>(g + (i == j ? 1 : 0)));
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
  setD(factor, at, getD(factor, at) + s00);
  setD(factor, at + n, getD(factor, at + n) + s10);
  setD(factor, at + n + 1, getD(factor, at + n + 1) + s11);
  if (j + 1 <= i) setD(factor, at + 1, getD(factor, at + 1) + s01); // else above the diagonal
}

/**
 * W* (n x m, leading dimension m) = (G + FIT_RIDGE I)^{-1} C, from formGram64's G and C (n x m):
 * the larger ridge keeps W* small where float32 rounding put C slightly outside G's range.
 */
export function leastSquares(c: usize, wStar: usize, n: i32, m: i32): void {
  factorize(n, FIT_RIDGE);
  const nm = <usize>n * m;
  for (let e: usize = 0; e < nm; e++) setD(rhs, e, <f64>getF(c, e));
  solveRows(n, m);
  for (let e: usize = 0; e < nm; e++) setF(wStar, e, <f32>getD(rhs, e));
}

/**
 * l = L and lt = L^T (n x n each, float32; both, so that both products read rows) with
 * L L^T = G + ridge I, the ridge RIDGE or more; returns the ridge.
 */
export function gramFactor(l: usize, lt: usize, n: i32): f64 {
  const ridge = factorize(n, RIDGE);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = j <= i ? <f32>getD(factor, <usize>i * n + j) : 0;
      setF(l, <usize>i * n + j, v);
      setF(lt, <usize>j * n + i, v);
    }
  }
  return ridge;
}

/** The Cholesky factor of G + ridge I into factor's lower triangle, the ridge `relative` (or more); returns it. */
function factorize(n: i32, relative: f64): f64 {
  let largest: f64 = 0;
  for (let i = 0; i < n; i++) largest = Math.max(largest, getD(diag, i));
  let ridge = relative * Math.max(largest, 1e-30);
  for (;;) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) setD(factor, <usize>i * n + j, getD(factor, <usize>j * n + i));
      setD(factor, <usize>i * (n + 1), getD(diag, i) + ridge);
    }
    if (cholesky(n)) break;
    ridge *= RIDGE_GROWTH;
  }
  return ridge;
}

/**
 * In place, lower triangle: G = L L^T (rows of L contiguous, so each entry is one row dot product).
 * False when a pivot is not positive.
 */
function cholesky(n: i32): bool {
  for (let i = 0; i < n; i++) {
    const rowI = factor + ((<usize>i * n) << 3);
    for (let j = 0; j <= i; j++) {
      const rowJ = factor + ((<usize>j * n) << 3);
      let s = load<f64>(rowI + (<usize>j << 3));
      for (let k = 0; k < j; k++) s -= load<f64>(rowI + (<usize>k << 3)) * load<f64>(rowJ + (<usize>k << 3));
      if (i == j) {
        if (!(s > 0)) return false;
        store<f64>(rowI + (<usize>j << 3), Math.sqrt(s));
      } else {
        store<f64>(rowI + (<usize>j << 3), s / load<f64>(rowJ + (<usize>j << 3)));
      }
    }
  }
  return true;
}

/**
 * rhs = (L L^T)^{-1} rhs for all m columns at once, row by row: the inner loops run along rows of m contiguous numbers.
 */
function solveRows(n: i32, m: i32): void {
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) subtractRow(i, k, getD(factor, <usize>i * n + k), m);
    divideRow(i, getD(factor, <usize>i * n + i), m);
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) subtractRow(i, k, getD(factor, <usize>k * n + i), m);
    divideRow(i, getD(factor, <usize>i * n + i), m);
  }
}

/** row i of rhs -= s * row k. */
function subtractRow(i: i32, k: i32, s: f64, m: i32): void {
  if (s == 0) return;
  const a = rhs + ((<usize>i * m) << 3), b = rhs + ((<usize>k * m) << 3);
  for (let j = 0; j < m; j++) store<f64>(a + (<usize>j << 3), load<f64>(a + (<usize>j << 3)) - s * load<f64>(b + (<usize>j << 3)));
}

/** row i of rhs /= pivot. */
function divideRow(i: i32, pivot: f64, m: i32): void {
  const a = rhs + ((<usize>i * m) << 3);
  for (let j = 0; j < m; j++) store<f64>(a + (<usize>j << 3), load<f64>(a + (<usize>j << 3)) / pivot);
}

// @ts-ignore: decorator
@inline function getD(p: usize, i: usize): f64 {
  return load<f64>(p + (i << 3));
}
// @ts-ignore: decorator
@inline function setD(p: usize, i: usize, v: f64): void {
  store<f64>(p + (i << 3), v);
}
