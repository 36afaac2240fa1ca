// SolverPool: many independent layer programs (the parallel scheme's layers, a grouped conv's
// groups) solved side by side on the lanes planLanes picks. Each lane is a LayerSolver whose solves
// run in a worker, so lanes overlap and the calling thread stays free.
import { resolveSettings } from '../settings.ts';
import type { LayerInput, TrimResult, TrimSettings } from '../types.ts';
import type { KernelOptions, LiveFigures } from '../wasm/interface.ts';
import { availableThreads } from '../wasm/pool.ts';
import { workerHost } from '../wasm/workers.ts';
import { planLanes, shapeOf, type LanePlan } from './lanes.ts';
import { LayerSolver } from './solve.ts';

/** One program to solve: its signals and settings. */
export interface LayerJob {
  input: LayerInput;
  settings?: Partial<TrimSettings>;
}

export interface PoolOptions extends KernelOptions {
  /** Solvers side by side, from 1 to threads (default: the plan predicted fastest, lanes.ts). */
  lanes?: number;
}

/** Per-run options of solveAll. */
export interface PoolRunOptions {
  /** Stops the running solves within one iteration; solveAll rejects with the signal's reason. */
  signal?: AbortSignal;
  /** A running program's latest figures, about every 250 ms (SolveOptions.onIteration). */
  onIteration?: (index: number, live: LiveFigures) => void;
}

export class SolverPool {
  /** Solvers made so far, by threads per lane; kept for the next call (a sparsity search makes many). */
  private readonly solvers = new Map<number, LayerSolver[]>();
  private closed = false;
  /** The plan of the last solveAll. */
  lastPlan: LanePlan | null = null;

  private constructor(
    /** Threads the pool spreads over its lanes. */
    readonly threads: number,
    /** Forced lane count, or undefined to follow the plan. */
    readonly lanes: number | undefined,
    private readonly options: Omit<KernelOptions, 'threads' | 'worker'>,
    /** Threads one lane can have: 1 where workers cannot share memory (a page that is not isolated). */
    private readonly maxPerLane: number,
  ) {}

  /** A pool over `threads` threads (default: the host's cores). Solvers start on first use. */
  static async create(options: PoolOptions = {}): Promise<SolverPool> {
    const threads = options.threads ?? (await availableThreads());
    const { threads: _t, worker: _w, lanes, ...rest } = options;
    planLanes([], threads, lanes); // checks threads and lanes now rather than at the first solve
    // without shared memory each lane is one worker of its own, so the threads become lanes
    const maxPerLane = (await workerHost()) ? threads : 1;
    return new SolverPool(threads, lanes, rest, maxPerLane);
  }

  /**
   * Solves every job and returns the results in job order. `onSolved` hears of each as it ends.
   * When a job fails, no new ones start; the error is thrown once the running ones end. An abort of
   * `options.signal` stops the running solves within an iteration and rejects with its reason.
   */
  async solveAll(
    jobs: readonly LayerJob[], onSolved?: (index: number, result: TrimResult) => void, options: PoolRunOptions = {},
  ): Promise<TrimResult[]> {
    if (this.closed) throw new Error('nettrim: this SolverPool was closed');
    if (jobs.length === 0) return [];
    const plan = planLanes(jobs.map((j) => shapeOf(j.input, resolveSettings(j.settings ?? {}).bias)), this.threads, this.lanes, this.maxPerLane);
    this.lastPlan = plan;
    const lanes = await this.solversFor(plan);
    const results = new Array<TrimResult>(jobs.length);
    let next = 0;
    let failure: unknown = null;
    await Promise.all(lanes.map(async (solver) => {
      while (failure === null && next < plan.order.length) {
        const index = plan.order[next++]!;
        try {
          const onIteration = options.onIteration;
          results[index] = await solver.solveAsync(jobs[index]!.input, jobs[index]!.settings, {
            ...(options.signal ? { signal: options.signal } : {}),
            ...(onIteration ? { onIteration: (live: LiveFigures) => onIteration(index, live) } : {}),
          });
        } catch (err) {
          failure ??= err;
          return;
        }
        onSolved?.(index, results[index]!);
      }
    }));
    if (failure !== null) throw failure;
    return results;
  }

  /** Stops every solver's workers; the pool must not be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.solvers.values()].flat();
    this.solvers.clear();
    await Promise.all(all.map((s) => s.close()));
  }

  private async solversFor(plan: LanePlan): Promise<LayerSolver[]> {
    const have = this.solvers.get(plan.threadsPerLane) ?? [];
    this.solvers.set(plan.threadsPerLane, have);
    while (have.length < plan.lanes) {
      const solver = await LayerSolver.create({ ...this.options, threads: plan.threadsPerLane, worker: true });
      have.push(solver);
      // a host without workers solves on the caller's thread: one lane is all it can run
      if (!solver.inWorker) return [solver];
    }
    return have.slice(0, plan.lanes);
  }
}
