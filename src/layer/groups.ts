// The row groups of the group program (method.md section 7): from LayerInput.rowGroups and
// groupWeights to the padded layout the wasm W2 step reads (assembly/groups.ts), and the figures
// of a group solution.
import type { LayerInput } from '../types.ts';
import type { RowGroups } from '../wasm/interface.ts';

/**
 * One id per padded row (the groups renumbered 0..G-1 in order of first appearance, -1 for the
 * bias row and the padding: not penalized) and one weight per group. Throws on bad rowGroups or
 * groupWeights, naming the entry.
 */
export function paddedRowGroups(input: LayerInput, paddedRows: number): RowGroups {
  const n = input.inputSize;
  const given = input.rowGroups;
  if (given !== undefined) {
    if (!(given instanceof Int32Array)) throw new Error('nettrim: rowGroups must be an Int32Array');
    if (given.length !== n) throw new Error(`nettrim: rowGroups has ${given.length} entries, expected ${n} (one per input row)`);
  }
  const ids = new Int32Array(paddedRows).fill(-1);
  const dense = new Map<number, number>();
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = given ? given[i]! : i;
    if (id < 0) throw new Error(`nettrim: rowGroups[${i}] is ${id}; group ids must be integers >= 0`);
    let g = dense.get(id);
    if (g === undefined) {
      g = sizes.length;
      dense.set(id, g);
      sizes.push(0);
    }
    sizes[g]! += 1;
    ids[i] = g;
  }
  const weights = new Float32Array(sizes.length);
  const custom = input.groupWeights;
  if (custom !== undefined && !(custom instanceof Float32Array)) throw new Error('nettrim: groupWeights must be a Float32Array');
  for (const [id, g] of dense) {
    if (custom === undefined) {
      weights[g] = Math.sqrt(sizes[g]!);
      continue;
    }
    if (id >= custom.length) throw new Error(`nettrim: groupWeights has ${custom.length} entries, but rowGroups uses group id ${id}`);
    const w = custom[id]!;
    if (!(w > 0 && Number.isFinite(w))) throw new Error(`nettrim: groupWeights[${id}] is ${w}; weights must be finite and > 0`);
    weights[g] = w;
  }
  return { ids, weights };
}

/** Input rows of the N x M weights with a nonzero entry, and sum_g w_g ||W_g||_2 (bias excluded). */
export function groupFigures(weights: Float32Array, m: number, groups: RowGroups): { rowsKept: number; groupNorm: number } {
  const n = weights.length / m;
  const sq = new Float64Array(groups.weights.length);
  let rowsKept = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += weights[i * m + j]! ** 2;
    if (s > 0) rowsKept++;
    sq[groups.ids[i]!]! += s;
  }
  let groupNorm = 0;
  sq.forEach((s, g) => { groupNorm += groups.weights[g]! * Math.sqrt(s); });
  return { rowsKept, groupNorm };
}
