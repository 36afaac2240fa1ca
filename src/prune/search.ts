// The sparsity target: find the relative gain g whose pruned network removes the asked fraction of
// the prunable weights (network-wide, bias excluded), within the tolerance.
//
// The removed fraction grows with g (a looser ball admits sparser weights), so the search is a
// root find on f(g) = removed(g) - target over log g:
//   1. solve at the starting g (the --epsilon value, 0.05 by default);
//   2. until the target is bracketed, multiply g by 3 (too dense) or divide it by 3 (too sparse),
//      never beyond 1 (epsilon = ||Y||_F allows W = 0) or below 1e-4;
//   3. then regula falsi in log g between the closest tries on either side, with the Illinois
//      rule (when the same end survives twice, its distance to the target counts half) so that a
//      curved f cannot pin one end, and the midpoint whenever the interpolate hugs an end.
// It stops at the first try within the tolerance, or after maxSearchTries, returning the closest.
//
// On small networks the removed fraction can jump across the tolerance band between two nearby g
// (one epsilon step zeroes a whole weak neuron). The parallel scheme's layers are independent, so
// every layer solution of every try is a valid Net-Trim solve of that layer: the search then
// combines them, starting from the densest try below the target and switching single layers to
// their solution at a larger g while that brings the total closer to the target. Each layer's
// report then shows its own epsilon. The cascade cannot mix (a layer's program depends on the
// pruned layers before it) and reports `reached: false` when the band was jumped over.
//
// Work is reused between tries: the trained network's signals are computed once (the parallel
// scheme needs nothing else; the cascade reruns only its pruned passes), and every program starts
// from the solution of the try with the nearest g (warm start through initialWeights), so later
// tries take a fraction of the first one's ADMM iterations.
import type { NetworkSolution } from './schemes.ts';
import type { SearchReport, SearchTry } from './types.ts';
import { countNonzero } from '../graph/weights.ts';

export type NetworkSolver = (g: number, warm: NetworkSolution | null) => Promise<NetworkSolution>;

export interface SearchOptions {
  target: number;
  tolerance: number;
  start: number;
  maxTries: number;
  /** Layers are independent (parallel scheme): solutions of different tries may be combined. */
  mixLayers: boolean;
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
  const tries: Try[] = [];
  const bracket = new Bracket(target);
  let g = clamp(options.start);
  for (;;) {
    const nearest = nearestTry(tries, g);
    const solution = await solve(g, nearest?.solution ?? null);
    const removed = removedFraction(solution);
    tries.push({ g, removed, solution });
    options.onTry?.({ epsilon: g, removedFraction: removed, seconds: solution.seconds }, tries.length);
    if (Math.abs(removed - target) <= tolerance || tries.length >= options.maxTries) break;
    bracket.add(g, removed);
    const next = bracket.next(g, removed);
    if (next === null || tries.some((t) => t.g === next)) break; // pinned at a bound: cannot get closer
    g = next;
  }
  let best = tries.reduce((a, b) => (Math.abs(b.removed - target) < Math.abs(a.removed - target) ? b : a));
  let mixed = false;
  if (Math.abs(best.removed - target) > tolerance && options.mixLayers) {
    const combined = mixTries(tries, target, tolerance);
    if (combined && Math.abs(combined.removed - target) < Math.abs(best.removed - target)) {
      best = combined;
      mixed = true;
    }
  }
  return {
    solution: best.solution,
    report: {
      target, tolerance, reached: Math.abs(best.removed - target) <= tolerance, epsilon: best.g, removedFraction: best.removed,
      mixed, tries: tries.map((t) => ({ epsilon: t.g, removedFraction: t.removed, seconds: t.solution.seconds })),
    },
  };
}

/**
 * Layer solutions from several tries combined to land near the target (parallel scheme only):
 * from the densest try below the target, switch one layer at a time to a larger-g solution of
 * that layer, each time the switch that leaves the total closest to the target, while it helps.
 */
function mixTries(tries: readonly Try[], target: number, tolerance: number): Try | null {
  const below = tries.filter((t) => t.removed < target).sort((a, b) => b.g - a.g)[0];
  if (!below) return null;
  const layers = [...below.solution.layers];
  const weights = layers.reduce((n, l) => n + l.weight.length, 0);
  const nnz = layers.map((l) => countNonzero(l.weight));
  const chosen = layers.map(() => below);
  let removed = 1 - nnz.reduce((a, b) => a + b, 0) / weights;
  while (Math.abs(removed - target) > tolerance) {
    let pick: { layer: number; t: Try; removed: number; nnz: number } | null = null;
    for (let l = 0; l < layers.length; l++) {
      for (const t of tries) {
        if (t.g <= chosen[l]!.g) continue;
        const count = countNonzero(t.solution.layers[l]!.weight);
        const r = removed + (nnz[l]! - count) / weights;
        if (Math.abs(r - target) < Math.abs((pick?.removed ?? removed) - target)) pick = { layer: l, t, removed: r, nnz: count };
      }
    }
    if (!pick) break;
    layers[pick.layer] = pick.t.solution.layers[pick.layer]!;
    chosen[pick.layer] = pick.t;
    nnz[pick.layer] = pick.nnz;
    removed = pick.removed;
  }
  const g = Math.max(...chosen.map((t) => t.g));
  const seconds = tries.reduce((n, t) => n + t.solution.seconds, 0);
  const lanes = Math.max(...tries.map((t) => t.solution.lanes));
  return { g, removed, solution: { epsilon: g, layers, seconds, lanes } };
}

interface Try {
  g: number;
  removed: number;
  solution: NetworkSolution;
}

/** The closest tries below and above the target, in log g, with Illinois weights. */
class Bracket {
  private lo: { x: number; f: number } | null = null; // removed < target
  private hi: { x: number; f: number } | null = null; // removed > target
  private lastSide = 0;

  constructor(private readonly target: number) {}

  add(g: number, removed: number): void {
    const point = { x: Math.log(g), f: removed - this.target };
    const side = point.f < 0 ? -1 : 1;
    if (side < 0 && (!this.lo || point.x > this.lo.x)) this.lo = point;
    if (side > 0 && (!this.hi || point.x < this.hi.x)) this.hi = point;
    // Illinois: the other end survived again, so halve its weight in the next interpolation.
    if (side === this.lastSide) {
      const other = side < 0 ? this.hi : this.lo;
      if (other) other.f /= 2;
    }
    this.lastSide = side;
  }

  /** The next g: interpolated inside a bracket, else a step of STEP toward the target. */
  next(g: number, removed: number): number | null {
    const { lo, hi } = this;
    if (lo && hi && lo.x < hi.x) {
      let x = lo.x + (-lo.f * (hi.x - lo.x)) / (hi.f - lo.f);
      const margin = 0.05 * (hi.x - lo.x);
      if (!(x > lo.x + margin && x < hi.x - margin)) x = (lo.x + hi.x) / 2;
      return Math.exp(x);
    }
    const next = clamp(removed < this.target ? g * STEP : g / STEP);
    return next === g ? null : next;
  }
}

function nearestTry<T extends { g: number }>(tries: readonly T[], g: number): T | undefined {
  let best: T | undefined;
  for (const t of tries) if (!best || Math.abs(Math.log(t.g / g)) < Math.abs(Math.log(best.g / g))) best = t;
  return best;
}

function clamp(g: number): number {
  return Math.min(MAX_G, Math.max(MIN_G, g));
}
