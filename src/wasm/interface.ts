// The only module that touches the wasm instance and its memory (hash-wasm's WASMInterface).
// Everything else hands it typed records and gets typed records back; addresses stay in here.
import { Param, TRACE_FIELDS, WASM_STATUS, type WasmExports } from './abi.ts';
import { availableThreads, startThreads, type ThreadedKernels } from './pool.ts';
import { NCG_TRACE_FIELDS, RefitParam } from './refit-abi.ts';
import { startSolo, type SoloWorker } from './solo.ts';
import { webWorkerHost } from './workers.ts';
import { FLAVOURS, instantiate, pickFlavour, readBundledWasm, type KernelFlavour, type WasmBinary, type WasmSource } from './load.ts';

/** A padded problem: rows, cols and samples are multiples of 8; padding stays zero. */
export interface PaddedProblem {
  rows: number; cols: number; samples: number;
  realRows: number; realCols: number; realSamples: number;
  /** Write the samples x rows block X into the zeroed view. */
  fillInputs(view: Float32Array): void;
  /** Write the samples x cols block Y into the zeroed view. */
  fillOutputs(view: Float32Array): void;
  /** Write V (samples x cols), when the program has a slack. */
  fillSlack?: (view: Float32Array) => void;
  /** Write the region signs (samples x cols: 0 ball, +1 z <= V, -1 z >= V), when given per entry. */
  fillRegions?: (view: Float32Array) => void;
  /** Write a rows x cols warm start. */
  fillInitial?: (view: Float32Array) => void;
  /** A warm start's multipliers, as an earlier solve of this padded shape returned them (AdmmOutput.duals). */
  initialDuals?: Float32Array;
  /** The group program (method.md 7): each padded row's group (-1: unpenalized) and each group's weight. */
  groups?: RowGroups;
}

/** Row groups of a padded problem: `ids` has one entry per padded row, `weights` one per group. */
export interface RowGroups {
  ids: Int32Array;
  weights: Float32Array;
}

/** The numeric settings the ADMM loop reads (absolute epsilon, unscaled). */
export interface AdmmParams {
  epsilon: number; relu: boolean; absTol: number; relTol: number; maxIterations: number;
  rho: number; adaptiveRho: boolean; relaxation: number; activeThreshold: number;
  maxCgSteps: number; cgTol: number;
  /** How closely the returned sparse W must meet the ball (relative) and the inactive caps (of max |Y|). */
  ballTolerance: number; inactiveTolerance: number;
  /** ||Y||_F over the real entries (unscaled). */
  targetNorm: number;
  /** Iterations to record in the trace (0: none). */
  traceCapacity: number;
  /** Threads the products may use, at most the kernels' own (0: all of them). */
  threads: number;
  /** Row of W left out of the l1 (the bias row when it is not penalised), -1 for none. */
  freeRow: number;
  /** Param.Form: 1 the sample form, 2 the Gram form (linear programs; src/layer/solve.ts decides). */
  form: number;
  /** Return the final multipliers (AdmmOutput.duals), for a neighbouring solve to start from. */
  returnDuals: boolean;
}

/** How often solveAsync reads a running solve's figures for onIteration. */
const POLL_MS = 250;

/** A running solve's latest iteration, in the c0-scaled units of the loop. */
export interface LiveFigures {
  iterations: number;
  primalResidual: number; primalTolerance: number; dualResidual: number; dualTolerance: number;
}

/** What the loop reports. Norms are in the original (unscaled) units unless said otherwise. */
export interface AdmmOutput {
  /** rows x cols, the sparse copy W2 (a copy: wasm memory is reused by the next solve). */
  weights: Float32Array;
  status: (typeof WASM_STATUS)[number];
  iterations: number;
  /** Residuals and tolerances, in the c0-scaled units of the loop. */
  primalResidual: number; dualResidual: number; primalTolerance: number; dualTolerance: number;
  rho: number; cgSteps: number; c0: number;
  errorNorm: number; maxInactive: number; targetMax: number;
  /** Lower bound on the optimal objective, from the dual (assembly/certificate.ts). */
  dualBound: number;
  workspaceBytes: number; memoryBytes: number;
  /** ||I - A Z||_F of the Newton-Schulz preconditioner. */
  inverseResidual: number;
  /** Whether the Gram form ran (assembly/gram.ts). */
  gram: boolean;
  /** TRACE_FIELDS numbers per recorded iteration, when asked for. */
  trace: Float64Array | null;
  /** The final multipliers (samples x cols, then rows x cols, padded; see assembly/params.ts), when asked for. */
  duals: Float32Array | null;
}

export interface KernelOptions {
  /**
   * Threads sharing the products (default: the cores the host offers). Needs node:worker_threads
   * (Node, Deno, Bun) and a threaded build the runtime validates; otherwise one thread is used.
   * Results do not depend on it.
   */
  threads?: number;
  /** Force one build (tests compare them); default: the best this runtime validates. */
  flavour?: KernelFlavour;
  /** Bytes or a loader, for hosts that load wasm their own way. */
  source?: WasmSource;
  /**
   * Run solves in a worker, so that solveAsync leaves the calling thread free (default: whenever
   * threads > 1, which starts workers anyway). Needs what threads need; otherwise ignored.
   */
  worker?: boolean;
}

export class WasmKernels {
  private constructor(
    private readonly ex: WasmExports,
    readonly flavour: KernelFlavour,
    /** Threads sharing the products (1: this thread alone). */
    readonly threads = 1,
    private readonly pool: ThreadedKernels | null = null,
    /** Where there are workers but no shared memory: the worker solveAsync copies the solve to. */
    private readonly solo: SoloWorker | null = null,
  ) {}

  /** A solve is running (the memory and the control block serve one solve at a time). */
  private busy = false;

  static async create(options: KernelOptions = {}): Promise<WasmKernels> {
    const wanted = options.flavour ? [options.flavour] : FLAVOURS;
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new Error(`nettrim: threads must be an integer >= 1, got ${options.threads}`);
    }
    const threads = options.threads ?? (await availableThreads());
    const worker = options.worker ?? threads > 1;
    // an explicit `source` gets exactly that build, on one thread; a host's own loader (setHostWasm)
    // is asked for the threaded builds too
    if ((threads > 1 || worker) && options.source === undefined) {
      const pool = await startThreads(threads, wanted);
      if (pool) return new WasmKernels(pool.exports, pool.flavour, pool.threads, pool);
    }
    const source = toLoader(options.source);
    const { flavour, bytes } = await pickFlavour(source, wanted);
    const web = threads > 1 || worker ? webWorkerHost() : null;
    if (!web) return new WasmKernels(await instantiate(bytes), flavour);
    // a page without cross-origin isolation: one thread, but solves in a Web Worker (solo.ts)
    const module = bytes instanceof WebAssembly.Module ? bytes : await WebAssembly.compile(bytes);
    return new WasmKernels(await instantiate(module), flavour, 1, null, await startSolo(web, module));
  }

  /** Stops the worker threads (a no-op with one thread); the kernels must not be used afterwards. */
  async close(): Promise<void> {
    await Promise.all([this.pool?.close(), this.solo?.close()]);
  }

  /** Whether solveAsync runs in a worker (else it runs on the calling thread). */
  get inWorker(): boolean {
    return this.pool !== null || this.solo !== null;
  }

  /** Bytes of linear memory now (it only grows). */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /** Runs one layer program on the calling thread. */
  solve(problem: PaddedProblem, params: AdmmParams): AdmmOutput {
    const layout = this.begin(problem, params);
    // thread 0 waits for the workers; a thread that may not block (a browser's main thread) computes alone
    const alone = this.threads > 1 && !canBlock();
    try {
      if (alone) this.ex.limitThreads!(1);
      this.ex.admmSolve(layout.block);
      return this.collect(layout, params);
    } finally {
      if (alone) this.ex.limitThreads!(this.threads);
      this.busy = false;
    }
  }

  /**
   * Runs one layer program in the worker when there is one (the calling thread stays free), else
   * here. An abort of `signal` stops the loop within an iteration and rejects with its reason.
   */
  async solveAsync(
    problem: PaddedProblem, params: AdmmParams, signal?: AbortSignal, onIteration?: (live: LiveFigures) => void,
  ): Promise<AdmmOutput> {
    signal?.throwIfAborted();
    if (!this.pool) return this.solo ? this.solveSolo(problem, params, signal) : this.solve(problem, params);
    const layout = this.begin(problem, params);
    const cancel = () => { this.f64(layout.block, Param.Count)[Param.Cancel] = 1; };
    signal?.addEventListener('abort', cancel, { once: true });
    const poll = onIteration ? setInterval(() => {
      const b = this.f64(layout.block, Param.Count);
      if (b[Param.Iterations]! > 0) {
        onIteration({
          iterations: b[Param.Iterations]!, primalResidual: b[Param.PrimalResidual]!, primalTolerance: b[Param.PrimalTolerance]!,
          dualResidual: b[Param.DualResidual]!, dualTolerance: b[Param.DualTolerance]!,
        });
      }
    }, POLL_MS) : null;
    try {
      await this.pool.solveOnDriver(layout.block);
      const out = this.collect(layout, params);
      if (out.status === 'cancelled') throw signal?.reason ?? new Error('nettrim: the solve was cancelled');
      return out;
    } finally {
      if (poll) clearInterval(poll);
      signal?.removeEventListener('abort', cancel);
      this.busy = false;
    }
  }

  /** solveAsync through the solo worker: a copy of the laid-out solve goes over, the results come back. */
  private async solveSolo(problem: PaddedProblem, params: AdmmParams, signal?: AbortSignal): Promise<AdmmOutput> {
    const layout = this.begin(problem, params);
    try {
      await this.solo!.solve(this.ex, layout.block, signal);
      return this.collect(layout, params);
    } finally {
      this.busy = false;
    }
  }

  /** Reserves the solve's memory, writes the inputs and the parameter block. */
  private begin(problem: PaddedProblem, params: AdmmParams): SolveLayout {
    if (this.busy) throw new Error('nettrim: this solver is already solving a layer; one solve at a time per solver (create another for concurrent solves)');
    this.busy = true;
    try {
      return this.write(problem, params);
    } catch (err) {
      this.busy = false;
      throw err;
    }
  }

  private write(problem: PaddedProblem, params: AdmmParams): SolveLayout {
    const ex = this.ex;
    ex.arenaReset();
    const block = this.alloc(Param.Count * 2);
    const { rows, cols, samples } = problem;
    const x = this.alloc(samples * rows), y = this.alloc(samples * cols), w = this.alloc(rows * cols);
    const v = problem.fillSlack ? this.alloc(samples * cols) : 0;
    const regions = problem.fillRegions ? this.alloc(samples * cols) : 0;
    const w0 = problem.fillInitial ? this.alloc(rows * cols) : 0;
    const traceCap = params.traceCapacity;
    const trace = traceCap > 0 ? this.alloc(traceCap * TRACE_FIELDS * 2) : 0;
    const dualCount = (samples + rows) * cols;
    if (problem.initialDuals && problem.initialDuals.length !== dualCount) {
      throw new Error(`nettrim: initialDuals has ${problem.initialDuals.length} values, this program's multipliers are ${dualCount} (a solve of the same shape returns them)`);
    }
    const duals = params.returnDuals || problem.initialDuals ? this.alloc(dualCount) : 0;
    if (problem.initialDuals) this.f32(duals, dualCount).set(problem.initialDuals);
    const groups = problem.groups;
    const groupIds = groups ? this.alloc(rows) : 0, groupWeights = groups ? this.alloc(Math.max(groups.weights.length, 1)) : 0;
    if (groups) {
      new Int32Array(this.ex.memory.buffer, groupIds, rows).set(groups.ids);
      this.f32(groupWeights, groups.weights.length).set(groups.weights);
    }
    problem.fillInputs(this.f32(x, samples * rows));
    problem.fillOutputs(this.f32(y, samples * cols));
    if (problem.fillSlack) problem.fillSlack(this.f32(v, samples * cols));
    if (problem.fillRegions) problem.fillRegions(this.f32(regions, samples * cols));
    if (problem.fillInitial) problem.fillInitial(this.f32(w0, rows * cols));
    const set = (k: Param, value: number) => { this.f64(block, Param.Count)[k] = value; };
    set(Param.Rows, rows); set(Param.Cols, cols); set(Param.Samples, samples);
    set(Param.RealRows, problem.realRows); set(Param.RealCols, problem.realCols);
    set(Param.RealSamples, problem.realSamples);
    set(Param.XPtr, x); set(Param.YPtr, y); set(Param.VPtr, v); set(Param.WOutPtr, w); set(Param.WInitPtr, w0);
    set(Param.Epsilon, params.epsilon); set(Param.Relu, params.relu ? 1 : 0);
    set(Param.AbsTol, params.absTol); set(Param.RelTol, params.relTol);
    set(Param.MaxIterations, params.maxIterations); set(Param.Rho, params.rho);
    set(Param.AdaptiveRho, params.adaptiveRho ? 1 : 0); set(Param.Relaxation, params.relaxation);
    set(Param.ActiveThreshold, params.activeThreshold); set(Param.MaxCgSteps, params.maxCgSteps);
    set(Param.CgTol, params.cgTol);
    set(Param.TracePtr, trace); set(Param.TraceCapacity, traceCap);
    set(Param.BallTolerance, params.ballTolerance); set(Param.InactiveTolerance, params.inactiveTolerance);
    set(Param.TargetNorm, params.targetNorm);
    set(Param.Threads, params.threads);
    set(Param.RegionsPtr, regions); set(Param.FreeRow, params.freeRow);
    set(Param.DualsPtr, duals); set(Param.DualsIn, problem.initialDuals ? 1 : 0);
    set(Param.Form, params.form);
    set(Param.GroupIdsPtr, groupIds); set(Param.GroupWeightsPtr, groupWeights); set(Param.GroupCount, groups?.weights.length ?? 0);
    return { block, w, trace, size: rows * cols, duals: params.returnDuals ? duals : 0, dualCount };
  }

  /** Reads the outputs of a finished solve. */
  private collect(layout: SolveLayout, params: AdmmParams): AdmmOutput {
    const { block, w, trace, size, duals, dualCount } = layout;
    const traceCap = params.traceCapacity;
    const out = this.f64(block, Param.Count); // memory may have grown: a fresh view
    const status = WASM_STATUS[out[Param.Status]];
    if (status === 'out-of-memory') {
      throw new Error(`nettrim: wasm memory could not grow to the ${out[Param.WorkspaceBytes]} bytes this layer needs`);
    }
    return {
      weights: this.f32(w, size).slice(),
      status,
      iterations: out[Param.Iterations],
      primalResidual: out[Param.PrimalResidual], dualResidual: out[Param.DualResidual],
      primalTolerance: out[Param.PrimalTolerance], dualTolerance: out[Param.DualTolerance],
      rho: out[Param.FinalRho], cgSteps: out[Param.CgSteps], c0: out[Param.C0],
      errorNorm: Math.sqrt(out[Param.ErrorNormSq]),
      maxInactive: out[Param.MaxInactive], targetMax: out[Param.TargetMax], dualBound: out[Param.DualBound],
      workspaceBytes: out[Param.WorkspaceBytes], memoryBytes: this.memoryBytes,
      inverseResidual: out[Param.InverseResidual],
      gram: out[Param.GramForm] === 1,
      trace: trace ? this.f64(trace, Math.min(traceCap, out[Param.Iterations]) * TRACE_FIELDS).slice() : null,
      duals: duals ? this.f32(duals, dualCount).slice() : null,
    };
  }

  /**
   * The refit's least squares for one layer, every output neuron at once (assembly/refit.ts): the
   * kept weights (mask) refit to Y on the fitted entries within the bounds V on the others.
   */
  refit(problem: RefitProblem, params: RefitParams): RefitOutput {
    const layout = this.beginRefit(problem, params);
    const alone = this.threads > 1 && !canBlock();
    try {
      if (alone) this.ex.limitThreads!(1);
      this.ex.refitSolve(layout.block);
      return this.collectRefit(layout);
    } finally {
      if (alone) this.ex.limitThreads!(this.threads);
      this.busy = false;
    }
  }

  /**
   * refit() on the driver worker when there is one, so the calling thread stays free (progress lines,
   * timers: a wide layer's refit runs for minutes); `onIteration` gets its iteration count a few
   * times a second. Without workers, refit() here.
   */
  async refitAsync(problem: RefitProblem, params: RefitParams, onIteration?: (iterations: number) => void): Promise<RefitOutput> {
    if (!this.pool) return this.refit(problem, params);
    const layout = this.beginRefit(problem, params);
    const poll = onIteration ? setInterval(() => {
      const it = this.f64(layout.block, RefitParam.Count)[RefitParam.Iterations]!;
      if (it > 0) onIteration(it);
    }, POLL_MS) : null;
    try {
      await this.pool.refitOnDriver(layout.block);
      return this.collectRefit(layout);
    } finally {
      if (poll) clearInterval(poll);
      this.busy = false;
    }
  }

  /** Reserves the refit's memory and writes its inputs and parameter block; marks the kernels busy. */
  private beginRefit(problem: RefitProblem, params: RefitParams): RefitLayout {
    if (this.busy) throw new Error('nettrim: this solver is solving a layer; the refit must wait for it');
    this.busy = true;
    try {
      const ex = this.ex;
      ex.arenaReset();
      const block = this.alloc(RefitParam.Count * 2);
      const { rows, cols, samples } = problem;
      const x = this.alloc(samples * rows), y = this.alloc(samples * cols), v = this.alloc(samples * cols);
      const kind = this.alloc(samples * cols), mask = this.alloc(rows * cols), w = this.alloc(rows * cols);
      // every reservation before the first view: growing the memory detaches views of an unshared one
      const traceCapacity = params.trace ? params.maxIterations + 1 : 0;
      const trace = traceCapacity > 0 ? this.alloc(traceCapacity * NCG_TRACE_FIELDS * 2) : 0;
      const responses = params.responses ? samples * cols * 2 : 0; // f64: two f32 slots each
      const z0 = responses ? this.alloc(responses) : 0, z1 = responses ? this.alloc(responses) : 0;
      problem.fillInputs(this.f32(x, samples * rows));
      problem.fillOutputs(this.f32(y, samples * cols));
      problem.fillBounds(this.f32(v, samples * cols));
      problem.fillKinds(this.f32(kind, samples * cols));
      problem.fillMask(this.f32(mask, rows * cols));
      problem.fillStart(this.f32(w, rows * cols));
      const b = this.f64(block, RefitParam.Count);
      b[RefitParam.Rows] = rows; b[RefitParam.Cols] = cols; b[RefitParam.Samples] = samples;
      b[RefitParam.XPtr] = x; b[RefitParam.YPtr] = y; b[RefitParam.VPtr] = v; b[RefitParam.KindPtr] = kind;
      b[RefitParam.MaskPtr] = mask; b[RefitParam.WPtr] = w;
      b[RefitParam.Bounded] = params.bounded ? 1 : 0; b[RefitParam.Tolerance] = params.tolerance;
      b[RefitParam.MaxIterations] = params.maxIterations; b[RefitParam.MaxCgSteps] = params.maxCgSteps;
      b[RefitParam.CgTol] = params.cgTol; b[RefitParam.Ridge] = params.ridge; b[RefitParam.Relaxation] = params.relaxation;
      b[RefitParam.Threads] = params.threads; b[RefitParam.Rho] = params.rho ?? 1;
      b[RefitParam.Soft] = params.soft ? 1 : 0;
      b[RefitParam.Method] = params.method === 'ncg' ? 1 : 0;
      b[RefitParam.PerColumn] = params.perColumn === false ? 0 : 1;
      b[RefitParam.Stall] = params.stall ?? 0;
      b[RefitParam.TracePtr] = trace; b[RefitParam.TraceCapacity] = traceCapacity;
      b[RefitParam.Z0Ptr] = z0; b[RefitParam.Z1Ptr] = z1;
      b[RefitParam.Iterations] = 0;
      return { block, w, rows, cols, samples };
    } catch (err) {
      this.busy = false;
      throw err;
    }
  }

  private collectRefit(layout: RefitLayout): RefitOutput {
    const out = this.f64(layout.block, RefitParam.Count); // memory may have grown: a fresh view
    if (out[RefitParam.Status] === 4) {
      throw new Error(`nettrim: wasm memory could not grow to the ${out[RefitParam.WorkspaceBytes]} bytes this refit needs`);
    }
    const traced = Math.min(out[RefitParam.TraceCapacity]!, out[RefitParam.Iterations]! + 1);
    return {
      weights: this.f32(layout.w, layout.rows * layout.cols).slice(), iterations: out[RefitParam.Iterations]!, cgSteps: out[RefitParam.CgSteps]!,
      maxViolation: out[RefitParam.MaxViolation]!,
      trace: out[RefitParam.TracePtr] ? this.f64(out[RefitParam.TracePtr]!, traced * NCG_TRACE_FIELDS).slice() : null,
      responses: out[RefitParam.Z0Ptr] ? {
        start: this.f64(out[RefitParam.Z0Ptr]!, layout.samples * layout.cols).slice(),
        end: this.f64(out[RefitParam.Z1Ptr]!, layout.samples * layout.cols).slice(),
      } : null,
    };
  }

  /**
   * C = A'B on copies in wasm memory (tests and benchmarks): `transA` false means A is rows x depth,
   * true means depth x rows. rows % 4 == 0 and cols % 8 == 0.
   */
  product(a: Float32Array, b: Float32Array, rows: number, cols: number, depth: number, transA: boolean, threads = this.threads): Float32Array {
    const pc = this.prepareProduct(a, b, rows, cols, depth);
    // `threads` below the kernels' own: the others sit this product out (as a small program's solve does)
    if (threads < this.threads) this.ex.limitThreads!(threads);
    try {
      this.runProduct(pc, rows, cols, depth, transA, 1);
    } finally {
      if (threads < this.threads) this.ex.limitThreads!(this.threads);
    }
    return this.f32(pc.c, rows * cols).slice();
  }

  /** Writes A and B once and returns a function that runs the product `times` times (benchmarks). */
  productRunner(a: Float32Array, b: Float32Array, rows: number, cols: number, depth: number, transA: boolean) {
    const pc = this.prepareProduct(a, b, rows, cols, depth);
    return (times = 1) => this.runProduct(pc, rows, cols, depth, transA, times);
  }

  private prepareProduct(a: Float32Array, b: Float32Array, rows: number, cols: number, depth: number) {
    if (this.busy) throw new Error('nettrim: this solver is solving a layer; products must wait for it');
    if (rows % 4 !== 0 || cols % 8 !== 0) throw new Error(`nettrim: product needs rows % 4 == 0 and cols % 8 == 0, got ${rows} x ${cols}`);
    if (a.length !== rows * depth || b.length !== depth * cols) {
      throw new Error(`nettrim: product sizes: A has ${a.length} entries (want ${rows * depth}), B ${b.length} (want ${depth * cols})`);
    }
    this.ex.arenaReset();
    const pa = this.alloc(a.length), pb = this.alloc(b.length), c = this.alloc(rows * cols);
    this.f32(pa, a.length).set(a);
    this.f32(pb, b.length).set(b);
    return { a: pa, b: pb, c };
  }

  private runProduct(p: { a: number; b: number; c: number }, rows: number, cols: number, depth: number, transA: boolean, times: number) {
    const [aRow, aDepth] = transA ? [1, rows] : [depth, 1];
    for (let t = 0; t < times; t++) this.ex.gemm(p.c, cols, p.a, aRow, aDepth, p.b, cols, rows, cols, depth, 0);
  }

  private alloc(count: number): number {
    const p = this.ex.arenaAllocF32(count);
    if (p === 0) throw new Error(`nettrim: wasm memory could not grow by ${count * 4} bytes (now ${this.memoryBytes})`);
    return p;
  }

  private f32(ptr: number, count: number): Float32Array {
    return new Float32Array(this.ex.memory.buffer, ptr, count);
  }

  private f64(ptr: number, count: number): Float64Array {
    return new Float64Array(this.ex.memory.buffer, ptr, count);
  }
}

/** A padded refit problem (sizes multiples of 8, padding zero): what WasmKernels.refit writes. */
export interface RefitProblem {
  rows: number; cols: number; samples: number;
  /** samples x rows X. */
  fillInputs(view: Float32Array): void;
  /** samples x cols Y (read on the fitted entries). */
  fillOutputs(view: Float32Array): void;
  /** samples x cols V (read on the bounded entries). */
  fillBounds(view: Float32Array): void;
  /** samples x cols: 0 fitted, +1 z <= V, -1 z >= V. */
  fillKinds(view: Float32Array): void;
  /** rows x cols: 1 where a weight is kept, else 0. */
  fillMask(view: Float32Array): void;
  /** rows x cols start (zero off the mask). */
  fillStart(view: Float32Array): void;
}

export interface RefitParams {
  /** Some entry is bounded (else one least-squares solve). */
  bounded: boolean;
  /** ADMM stops when X W breaks no bound and moves by no more than tolerance / 2 (absolute). */
  tolerance: number;
  maxIterations: number; maxCgSteps: number; cgTol: number;
  /** Added to G's diagonal, relative to its largest entry. */
  ridge: number;
  relaxation: number;
  /** Threads the products may use (0: all). */
  threads: number;
  /** Starting rho (the fit's weight is 1), balanced every few iterations; default 1. */
  rho?: number;
  /**
   * Bounds as squared-hinge penalties instead of constraints: min 1/2 ||(X W - Y)_fit||^2
   * + 1/2 sum over bounded entries of max(0, kind (X W - V))^2, the squared error after the
   * activation when V is where it clips. Default false (hard bounds).
   */
  soft?: boolean;
  /**
   * With soft bounds: 'ncg' minimises the smooth objective by nonlinear CG (assembly/refit-ncg.ts;
   * cgTol is then its stop, relative to the start's preconditioned gradient), 'admm' by the ADMM.
   * Default 'admm'.
   */
  method?: 'admm' | 'ncg';
  /** NCG stops when f fell by less than this fraction of itself over the last 10 iterations (default 0: never). */
  stall?: number;
  /** NCG's Jacobi preconditioner per column (its own Hessian's diagonal at the start; default) or shared. */
  perColumn?: boolean;
  /** Keep NCG's per-iteration trace (RefitOutput.trace). */
  trace?: boolean;
  /** Return X W of the start and of the result in float64 (RefitOutput.responses). */
  responses?: boolean;
}

/** Where beginRefit put a refit's block and weights, and its padded sizes. */
interface RefitLayout { block: number; w: number; rows: number; cols: number; samples: number }

export interface RefitOutput {
  /** rows x cols. */
  weights: Float32Array;
  iterations: number; cgSteps: number;
  /** Largest bound violation of X W at the end (absolute). */
  maxViolation: number;
  /** NCG's trace when asked: per iteration f, sum_j g.S, line-search passes, open columns. */
  trace: Float64Array | null;
  /** X W (samples x cols, float64) of the masked start and of the result, when asked. */
  responses: { start: Float64Array; end: Float64Array } | null;
}

let blocking: boolean | undefined;

/** Whether this thread may wait on shared memory (Atomics.wait): not a browser's main thread. */
function canBlock(): boolean {
  if (blocking === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

/** Where one solve's block, weights and trace sit in wasm memory. */
interface SolveLayout {
  block: number; w: number; trace: number; size: number;
  /** The multipliers' block when they are returned (0: not asked for), and its length. */
  duals: number; dualCount: number;
}

function toLoader(source: WasmSource | undefined): (f: KernelFlavour) => Promise<WasmBinary> {
  if (source === undefined) return readBundledWasm;
  if (typeof source === 'function') return source;
  // a flavour the host did not supply fails validation and the next one is tried
  return async (f) => source[f] ?? new Uint8Array(0);
}
