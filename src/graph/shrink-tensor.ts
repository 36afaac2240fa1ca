// Slicing stored tensors for the network surgery (graph/shrink.ts): keep some indices along one axis.
/** A dense row-major tensor. */
export interface DenseTensor {
  values: Float32Array;
  dims: number[];
}

/** `t` with only the indices `keep` (ascending) along `axis`. */
export function sliceAxis(t: DenseTensor, axis: number, keep: readonly number[]): DenseTensor {
  const { values, dims } = t;
  if (axis < 0 || axis >= dims.length) throw new Error(`nettrim: axis ${axis} of a rank-${dims.length} tensor`);
  const size = dims[axis]!;
  if (keep.length === size) return t;
  if (keep.some((k) => !(k >= 0 && k < size))) throw new Error(`nettrim: index outside 0..${size - 1} of axis ${axis}`);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * keep.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of keep) {
      const from = (o * size + k) * inner;
      out.set(values.subarray(from, from + inner), at);
      at += inner;
    }
  }
  const next = dims.slice();
  next[axis] = keep.length;
  return { values: out, dims: next };
}

/** The indices of the ones of a mask. */
export function keptIndices(mask: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

/** The number of ones of a mask. */
export function countKept(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}
