// How independent layer programs share the cores: `lanes` solvers side by side, each with
// `threadsPerLane` threads for its products. Many threads on one small program lose to fork-join
// overhead (a product of a 9-input program takes microseconds; waking a worker takes as long), while
// a layer that dominates the network wants every thread. The plan predicts both and picks the faster.
import type { LayerInput } from '../types.ts';

/** How a set of programs is spread over the threads. */
export interface LanePlan {
  /** Solvers running side by side. */
  lanes: number;
  /** Threads sharing the products inside each lane. */
  threadsPerLane: number;
  /** Job indices, largest predicted cost first: lanes take the next one when they free up. */
  order: number[];
  /** Predicted seconds of the whole set, from the cost model below (for reports, not a promise). */
  predictedSeconds: number;
}

/** The sizes the cost model reads: samples P, program rows N (bias included) and outputs M. */
export interface ProgramShape {
  samples: number;
  rows: number;
  outputs: number;
}

// The cost model, fitted on this machine (bench/lanes.ts prints the measurements it rests on):
// one ADMM iteration on one thread takes about SECONDS_PER_PNM x P x N x M (sizes padded to 8),
// the products being most of it, plus ITERATION_SECONDS of fixed work; every extra thread runs at
// PARALLEL_EFFICIENCY, and each iteration on more than one thread pays FORK_JOIN_SECONDS of waking
// and waiting for workers.
const SECONDS_PER_PNM = 1.7e-10;
const ITERATION_SECONDS = 5e-5;
const PARALLEL_EFFICIENCY = 0.9;
const FORK_JOIN_SECONDS = 2e-4;
// Iterations a program typically takes (mnist layers: 94 to 127); it scales every plan alike except
// for the one-off Newton-Schulz set-up, about 35 min(N, P)^3 flops at SETUP_FLOPS per second.
const TYPICAL_ITERATIONS = 120;
const SETUP_FLOPS = 4e10;

/** Predicted seconds of one program on `threads` threads. */
export function predictSeconds(shape: ProgramShape, threads: number): number {
  const p = pad(shape.samples), n = pad(shape.rows), m = pad(shape.outputs);
  const iteration = SECONDS_PER_PNM * p * n * m + ITERATION_SECONDS;
  const small = Math.min(n, p);
  const setup = (35 * small * small * small) / SETUP_FLOPS;
  const work = TYPICAL_ITERATIONS * iteration + setup;
  if (threads <= 1) return work;
  return work / (threads * PARALLEL_EFFICIENCY) + TYPICAL_ITERATIONS * FORK_JOIN_SECONDS;
}

/** The thread count up to `most` with the smallest predicted time (the fewer on a tie). */
export function bestThreads(shape: ProgramShape, most: number): number {
  let best = 1;
  for (let t = 2; t <= most; t++) if (predictSeconds(shape, t) < predictSeconds(shape, best)) best = t;
  return best;
}

/**
 * The fastest predicted split of `threads` threads over the programs: every lane count from 1 to
 * min(threads, programs) (or just `lanes` when given), each lane getting threads / lanes threads, at
 * most `maxPerLane` (of which a small program uses fewer when that is predicted faster), programs
 * handed out largest first to whichever lane frees up first. Ties go to fewer lanes (less
 * memory, fewer workers).
 */
export function planLanes(shapes: readonly ProgramShape[], threads: number, lanes?: number, maxPerLane = threads): LanePlan {
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`nettrim: threads must be an integer >= 1, got ${threads}`);
  if (lanes !== undefined && !(Number.isInteger(lanes) && lanes >= 1 && lanes <= threads)) {
    throw new Error(`nettrim: lanes must be an integer from 1 to threads (${threads}), got ${lanes}`);
  }
  const order = shapes.map((_, i) => i).sort((a, b) => predictSeconds(shapes[b]!, 1) - predictSeconds(shapes[a]!, 1) || a - b);
  const most = Math.max(1, Math.min(threads, shapes.length));
  const [from, to] = lanes === undefined ? [1, most] : [lanes, lanes];
  const perLane = (lanes: number) => Math.max(1, Math.min(maxPerLane, Math.floor(threads / lanes)));
  let best: LanePlan = { lanes: from, threadsPerLane: perLane(from), order, predictedSeconds: Infinity };
  for (let lanes = from; lanes <= to; lanes++) {
    const per = perLane(lanes);
    const free = new Array<number>(lanes).fill(0);
    for (const i of order) {
      const lane = free.indexOf(Math.min(...free));
      free[lane]! += predictSeconds(shapes[i]!, bestThreads(shapes[i]!, per));
    }
    const makespan = Math.max(...free);
    if (makespan < best.predictedSeconds) best = { lanes, threadsPerLane: per, order, predictedSeconds: makespan };
  }
  return best;
}

/** The shape of one layer input as the solver pads it (bias adds a row). */
export function shapeOf(input: LayerInput, bias: boolean): ProgramShape {
  return { samples: input.samples, rows: input.inputSize + (bias ? 1 : 0), outputs: input.outputSize };
}

function pad(v: number): number {
  return Math.ceil(v / 8) * 8;
}
