// The sparsity target: find the relative gain g whose pruned network removes the asked fraction of
// the prunable weights (network-wide, bias excluded), within the tolerance.
//
// The removed fraction grows with g (a looser ball admits sparser weights), so the search is a
// root find on f(g) = removed(g) - target over log g:
//   1. solve at the starting g (the --epsilon value, 0.05 by default);
//   2. until the target is bracketed, multiply g by 3 (too dense) or divide it by 3 (too sparse),
//      never beyond 1 (epsilon = ||Y||_F allows W = 0) or below 1e-4;
//   3. then interpolate linearly in log g between the closest tries on either side, falling back
//      to the midpoint when the interpolate lands within a tenth of the bracket's ends.
// It stops at the first try within the tolerance, or after maxSearchTries, returning the closest.
//
// Work is reused between tries: the trained network's signals are computed once (the parallel
// scheme needs nothing else; the cascade reruns only its pruned passes), and every program starts
// from the solution of the try with the nearest g (warm start through initialWeights), so later
// tries take a fraction of the first one's ADMM iterations.
import type { NetworkSolution } from './schemes.ts';
import type { SearchReport, SearchTry } from './types.ts';
import { countNonzero } from '../onnx/weights.ts';

export type NetworkSolver = (g: number, warm: NetworkSolution | null) => Promise<NetworkSolution>;

export interface SearchOptions {
  target: number;
  tolerance: number;
  start: number;
  maxTries: number;
  onTry?: (t: SearchTry, tries: number) => void;
}

const STEP = 3;
const MIN_G = 1e-4;
const MAX_G = 1;

/** Fraction of the layers' weights (bias excluded) that are zero. */
export function removedFraction(solution: NetworkSolution): number {
  let weights = 0;
  let nnz = 0;
  for (const l of solution.layers) {
    weights += l.weight.length;
    nnz += countNonzero(l.weight);
  }
  return weights > 0 ? 1 - nnz / weights : 0;
}

export async function searchSparsity(solve: NetworkSolver, options: SearchOptions): Promise<{ solution: NetworkSolution; report: SearchReport }> {
  const { target, tolerance } = options;
  const tries: Array<{ g: number; removed: number; solution: NetworkSolution }> = [];
  let g = clamp(options.start);
  for (;;) {
    const nearest = nearestTry(tries, g);
    const solution = await solve(g, nearest?.solution ?? null);
    const removed = removedFraction(solution);
    tries.push({ g, removed, solution });
    options.onTry?.({ epsilon: g, removedFraction: removed, seconds: solution.seconds }, tries.length);
    if (Math.abs(removed - target) <= tolerance || tries.length >= options.maxTries) break;
    const next = nextGain(tries, target);
    if (next === null || tries.some((t) => t.g === next)) break; // pinned at a bound: cannot get closer
    g = next;
  }
  const best = tries.reduce((a, b) => (Math.abs(b.removed - target) < Math.abs(a.removed - target) ? b : a));
  return {
    solution: best.solution,
    report: {
      target, tolerance, reached: Math.abs(best.removed - target) <= tolerance, epsilon: best.g, removedFraction: best.removed,
      tries: tries.map((t) => ({ epsilon: t.g, removedFraction: t.removed, seconds: t.solution.seconds })),
    },
  };
}

/** The next g to try, or null when the bound in the needed direction was already tried. */
function nextGain(tries: ReadonlyArray<{ g: number; removed: number }>, target: number): number | null {
  const below = tries.filter((t) => t.removed < target).sort((a, b) => b.g - a.g)[0]; // densest side, largest g
  const above = tries.filter((t) => t.removed > target).sort((a, b) => a.g - b.g)[0]; // sparsest side, smallest g
  if (below && above && below.g < above.g) {
    const lo = Math.log(below.g);
    const hi = Math.log(above.g);
    let x = lo + ((target - below.removed) * (hi - lo)) / (above.removed - below.removed);
    if (!(x > lo + 0.1 * (hi - lo) && x < hi - 0.1 * (hi - lo))) x = (lo + hi) / 2;
    return Math.exp(x);
  }
  const last = tries[tries.length - 1]!;
  const next = clamp(last.removed < target ? last.g * STEP : last.g / STEP);
  return next === last.g ? null : next;
}

function nearestTry<T extends { g: number }>(tries: readonly T[], g: number): T | undefined {
  let best: T | undefined;
  for (const t of tries) if (!best || Math.abs(Math.log(t.g / g)) < Math.abs(Math.log(best.g / g))) best = t;
  return best;
}

function clamp(g: number): number {
  return Math.min(MAX_G, Math.max(MIN_G, g));
}
