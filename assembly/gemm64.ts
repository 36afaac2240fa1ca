// C = G B in float64, the Gram form's one product per iteration (gram.ts): G = X^T X (n x n) times
// an n x m block, so that norms ||X A||^2 = <A, G A> keep float64's digits (gram.ts says why).
// f64x2 lanes; a 4 x 4 tile of C lives in eight registers; a depth block of KC keeps the B panel
// (KC x 4 doubles) in L1 while MC rows of G pass over it from L2. Same strides convention as
// gemm.ts, counted in f32 elements (two per double), so threads.ts's fork-join slices rows alike.
import { forkJoinProduct64, getThreads } from './threads';

const KC: i32 = 256;
const MC: i32 = 64;

/**
 * C (rows x cols, leading dimension ldc doubles) = A B with A rows x depth (leading dimension lda
 * doubles) and B depth x cols (leading dimension ldb doubles). rows and cols multiples of 4.
 */
export function gemm64(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, rows: i32, cols: i32, depth: i32): void {
  if (ASC_FEATURE_THREADS && getThreads() > 1 && rows >= 16 * getThreads()) {
    forkJoinProduct64(gemm64Local, c, ldc << 1, a, lda << 1, 1, b, ldb << 1, rows, cols, depth, false);
  } else {
    gemm64Local(c, ldc << 1, a, lda << 1, 1, b, ldb << 1, rows, cols, depth, false);
  }
}

/** The product on this thread alone, in threads.ts's kernel signature (strides in f32 elements; aDepth unused). */
export function gemm64Local(
  c: usize, ldc2: i32, a: usize, lda2: i32, aDepth: i32, b: usize, ldb2: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool,
): void {
  const ldc = ldc2 >> 1, lda = lda2 >> 1, ldb = ldb2 >> 1;
  if (!accumulate) {
    for (let i = 0; i < rows; i++) memory.fill(c + ((<usize>i * ldc) << 3), 0, <usize>cols << 3);
  }
  for (let k0 = 0; k0 < depth; k0 += KC) {
    const k1 = min(depth, k0 + KC);
    for (let i0 = 0; i0 < rows; i0 += MC) {
      const i1 = min(rows, i0 + MC);
      for (let j = 0; j < cols; j += 4) {
        for (let i = i0; i < i1; i += 4) tile(c, ldc, a, lda, b, ldb, i, j, k0, k1);
      }
    }
  }
}

/** C[i..i+3][j..j+3] += A[i..i+3][k0..k1) B[k0..k1)[j..j+3]. */
function tile(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, i: i32, j: i32, k0: i32, k1: i32): void {
  const a0 = a + ((<usize>i * lda) << 3), a1 = a0 + (<usize>lda << 3);
  const a2 = a1 + (<usize>lda << 3), a3 = a2 + (<usize>lda << 3);
  const c0 = c + ((<usize>i * ldc + j) << 3), c1 = c0 + (<usize>ldc << 3);
  const c2 = c1 + (<usize>ldc << 3), c3 = c2 + (<usize>ldc << 3);
  if (ASC_FEATURE_SIMD) {
    let s00 = v128.load(c0), s01 = v128.load(c0, 16), s10 = v128.load(c1), s11 = v128.load(c1, 16);
    let s20 = v128.load(c2), s21 = v128.load(c2, 16), s30 = v128.load(c3), s31 = v128.load(c3, 16);
    for (let k = k0; k < k1; k++) {
      const row = b + ((<usize>k * ldb + j) << 3), o = <usize>k << 3;
      const b0 = v128.load(row), b1 = v128.load(row, 16);
      const x0 = f64x2.splat(load<f64>(a0 + o)), x1 = f64x2.splat(load<f64>(a1 + o));
      const x2 = f64x2.splat(load<f64>(a2 + o)), x3 = f64x2.splat(load<f64>(a3 + o));
      s00 = f64x2.add(s00, f64x2.mul(x0, b0)); s01 = f64x2.add(s01, f64x2.mul(x0, b1));
      s10 = f64x2.add(s10, f64x2.mul(x1, b0)); s11 = f64x2.add(s11, f64x2.mul(x1, b1));
      s20 = f64x2.add(s20, f64x2.mul(x2, b0)); s21 = f64x2.add(s21, f64x2.mul(x2, b1));
      s30 = f64x2.add(s30, f64x2.mul(x3, b0)); s31 = f64x2.add(s31, f64x2.mul(x3, b1));
    }
    v128.store(c0, s00); v128.store(c0, s01, 16); v128.store(c1, s10); v128.store(c1, s11, 16);
    v128.store(c2, s20); v128.store(c2, s21, 16); v128.store(c3, s30); v128.store(c3, s31, 16);
    return;
  }
  for (let r = 0; r < 4; r++) {
    const ar = a0 + ((<usize>r * lda) << 3), cr = c0 + ((<usize>r * ldc) << 3);
    for (let q = 0; q < 4; q++) {
      let s = load<f64>(cr + (<usize>q << 3));
      for (let k = k0; k < k1; k++) s += load<f64>(ar + (<usize>k << 3)) * load<f64>(b + ((<usize>k * ldb + j + q) << 3));
      store<f64>(cr + (<usize>q << 3), s);
    }
  }
}
