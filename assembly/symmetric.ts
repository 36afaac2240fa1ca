// Products whose result is known to be symmetric: the Gram matrices X^T X and X X^T, and the
// Newton-Schulz products A Z and Z E (every iterate is a polynomial in A, so they commute). Only
// the row panels' blocks on and above the diagonal are computed, about half the work, and the
// lower triangle is then copied from the upper one, which also keeps the results exactly symmetric.
import { gemm } from './gemm';

// Rows per panel: the computed share is about 1/2 + PANEL / (2 n); a multiple of 8 (the kernel's
// column tile) and large enough to give every thread 16 rows or more.
const PANEL: i32 = 128;

/**
 * The upper block triangle of C = A'B (n x n, leading dimension n), or C += A'B when `accumulate`;
 * A'(i, k) = A[i * aRow + k * aDepth], B(k, j) = B[k * ldb + j] as in gemm. n % 8 == 0.
 * Entries below the panels' diagonal blocks are left as they were: call mirrorUpper afterwards.
 */
export function gemmUpper(
  c: usize, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32, n: i32, depth: i32, accumulate: bool,
): void {
  for (let r = 0; r < n; r += PANEL) {
    const rows = min(PANEL, n - r);
    const first = r & ~7; // the panel's first column, 8-aligned: its diagonal block is included
    gemm(
      c + ((<usize>r * n + first) << 2), n, a + ((<usize>r * aRow) << 2), aRow, aDepth,
      b + ((<usize>first) << 2), ldb, rows, n - first, depth, accumulate,
    );
  }
}

/** Copies the upper triangle of the n x n matrix c onto its lower triangle. */
export function mirrorUpper(c: usize, n: i32): void {
  // by tiles of 32 x 32, so that the column-wise reads stay within a few cache lines
  for (let ib = 0; ib < n; ib += 32) {
    for (let jb = 0; jb <= ib; jb += 32) {
      const iEnd = min(ib + 32, n), jEnd = min(jb + 32, n);
      for (let i = ib; i < iEnd; i++) {
        for (let j = jb; j < min(jEnd, i); j++) {
          store<f32>(c + ((<usize>i * n + j) << 2), load<f32>(c + ((<usize>j * n + i) << 2)));
        }
      }
    }
  }
}

/** C = A'B, known to be symmetric (n x n): the upper block triangle computed, then mirrored. */
export function gemmSymmetric(c: usize, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32, n: i32, depth: i32): void {
  gemmUpper(c, a, aRow, aDepth, b, ldb, n, depth, false);
  mirrorUpper(c, n);
}
