// Wide layers (issue 9, item 4): a ReLU layer with fewer samples than inputs (P < N), where the
// solver takes the P x P "push-through" path. Where the time goes: set-up, ADMM iterations, CG
// steps per iteration, and the time per iteration in units of one N x M x P product measured in
// the same run (so the ratios hold on a shared machine).
//
//   node --import tsx bench/wide.ts [--p 2000] [--n 2048] [--m 2048] [--threads T] [--variants a,b]
//       [--before DIR] [--iterations K | --solve [--trace]]
//
// --before DIR: a directory of other wasm builds (nettrim.simd-threads.wasm ...; e.g. main's, built
// with asc into DIR/build) measured in the same run, interleaved with this checkout's.
// Without --solve each variant runs 1 and 1 + K iterations (tolerances unreachable): set-up and time
// per iteration, as bench/scaling.ts does; with --solve it runs to convergence (iterations, CG steps),
// and --trace prints each solve's checks of the returned W (what it missed) and rho's changes.
//
// The layer is the second of a random 784-N-M ReLU network fed Gaussian inputs: its inputs are
// nonnegative and correlated (one dominant mean direction), like a trained network's activations;
// Y = relu(X W) for a dense Gaussian W. Each variant is a settings record solved on the same layer.
import { LayerSolver } from '../src/index.ts';
import type { IterationRecord, TrimSettings } from '../src/types.ts';
import { WasmKernels } from '../src/wasm/interface.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setHostWasm } from '../src/wasm/load.ts';
import { fmt, formatTable, machineInfo, option } from './common.ts';

const VARIANTS: Record<string, Partial<TrimSettings>> = {
  default: {},
  'cg-1': { maxCgSteps: 1 },
};

function rng(seed: number) {
  const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** relu(A B) with A rows x depth and B depth x cols, through our own product kernel. */
function reluProduct(kernels: WasmKernels, a: Float32Array, b: Float32Array, rows: number, depth: number, cols: number): Float32Array {
  const out = kernels.product(a, b, rows, cols, depth, false);
  return out.map((v) => Math.max(0, v));
}

/** Which wasm builds run: this checkout's, or those in `dir`. */
function useBuilds(dir: string | null): void {
  // a build missing from `dir` (relaxed, say) answers with bytes that fail validation: it is skipped
  setHostWasm(dir ? async (name) => new Uint8Array(await readFile(join(dir, `nettrim.${name}.wasm`)).catch(() => new Uint8Array(8))) : undefined);
}

async function main(argv: string[]) {
  const p = Number(option(argv, '--p') ?? 2000), n = Number(option(argv, '--n') ?? 2048), m = Number(option(argv, '--m') ?? 2048);
  const threads = option(argv, '--threads') ? Number(option(argv, '--threads')) : undefined;
  const names = (option(argv, '--variants') ?? Object.keys(VARIANTS).join(',')).split(',').filter((v) => v in VARIANTS); // 'none': products only
  const before = option(argv, '--before') ?? null;
  const solveFully = argv.includes('--solve');
  const traced = solveFully && argv.includes('--trace');
  const k = Number(option(argv, '--iterations') ?? 4);
  const builds: Array<[string, string | null]> = before ? [['before', before], ['after', null]] : [['this', null]];
  const normal = rng(7);
  const kernels = await WasmKernels.create(threads ? { threads } : {});
  // sizes multiples of 8 here, so the product kernel needs no padding
  const a = new Float32Array(p * 784).map(normal);
  const w0 = new Float32Array(784 * n).map(() => normal() / Math.sqrt(784));
  const inputs = reluProduct(kernels, a, w0, p, 784, n);
  // one output in 20 dead (all its weights negative on nonnegative inputs), as trained wide layers have
  const w = new Float32Array(n * m).map((_, e) => (e % m) % 20 === 7 ? -Math.abs(normal()) / Math.sqrt(n / 2) : normal() / Math.sqrt(n / 2));
  const outputs = reluProduct(kernels, inputs, w, p, n, m);
  await kernels.close();

  const layer = { inputs, outputs, samples: p, inputSize: n, outputSize: m };
  const productRows: string[][] = [];
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  for (const [build, dir] of builds) {
    useBuilds(dir);
    const kernels = await WasmKernels.create(threads ? { threads } : {});
    // the products of one wide iteration: X B2 (P x N x M), X^T C (N x P x M), the P x P system's
    let productCpu = 0; // CPU seconds of one X B2: the unit of the CPU table
    const c = new Float32Array(p * m).map(normal), square = new Float32Array(p * p).map(normal);
    const shapes: Array<[string, () => unknown, number]> = [
      ['X B2', () => kernels.product(inputs, w, p, m, n, false), p * n * m],
      ['X^T C', () => kernels.product(inputs, c, n, m, p, true), p * n * m],
      ['K^-1 R', () => kernels.product(square, c, p, m, p, false), p * p * m],
    ];
    for (const [name, run, macs] of shapes) {
      // wall time, and CPU time (all threads): on a shared machine the CPU time is the steadier
      let best = Infinity, cpu = Infinity;
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now(), c0 = process.cpuUsage();
        run();
        const used = process.cpuUsage(c0);
        best = Math.min(best, (performance.now() - t0) / 1000);
        cpu = Math.min(cpu, (used.user + used.system) / 1e6);
      }
      productRows.push([build, name, fmt(best, 3), fmt((2 * macs) / best / 1e9, 1), fmt(cpu, 3), fmt((2 * macs) / cpu / 1e9, 1)]);
      if (name === 'X B2') productCpu = cpu;
    }
    await kernels.close();
    const solver = await LayerSolver.create(threads ? { threads } : {});
    for (const name of names) {
      const settings = { epsilon: 0.05, ...VARIANTS[name], ...(solveFully ? { recordHistory: true } : { relTol: 1e-12, absTol: 1e-12 }) };
      // CPU time too (meaningful with --threads 1, where the solve runs on this thread)
      let c0 = process.cpuUsage();
      const one = await solver.solveAsync(layer, { ...settings, maxIterations: 1 });
      let used = process.cpuUsage(c0);
      const cpuOne = (used.user + used.system) / 1e6;
      c0 = process.cpuUsage();
      const r = await solver.solveAsync(layer, solveFully ? settings : { ...settings, maxIterations: 1 + k });
      used = process.cpuUsage(c0);
      const cpuAll = (used.user + used.system) / 1e6;
      const perIteration = (r.seconds - one.seconds) / Math.max(1, r.iterations - 1);
      const setupSeconds = one.seconds - perIteration;
      const cpuPerIteration = (cpuAll - cpuOne) / Math.max(1, r.iterations - 1);
      cpuRows.push([build, name, fmt(cpuOne - cpuPerIteration, 2), fmt(cpuPerIteration, 3),
        fmt((cpuOne - cpuPerIteration) / productCpu, 1), fmt(cpuPerIteration / productCpu, 2)]);
      rows.push([
        build, name, r.status, String(r.iterations), fmt(r.cgSteps / r.iterations, 2), fmt(r.seconds, 1), fmt(setupSeconds, 1),
        fmt(perIteration, 3), String(r.nnz), fmt(r.relativeError, 4), fmt(r.preconditionerResidual, 5),
      ]);
      if (traced) printChecks(`${build} ${name}`, r.history ?? []);
      process.stderr.write('.');
    }
    await solver.close();
  }
  useBuilds(null);
  process.stderr.write('\n');
  console.log(JSON.stringify({ ...machineInfo(), p, n, m, before }));
  console.log(formatTable(['build', 'product', 'seconds', 'GFLOP/s', 'CPU s', 'GFLOP / CPU s'], productRows));
  console.log(formatTable(
    ['build', 'variant', 'status', 'iterations', 'CG / it', 'seconds', 'set-up s', 's / it', 'nnz', 'rel. error', '||I - KZ||'],
    rows,
  ));
  console.log(formatTable(['build', 'variant', 'set-up CPU s', 'CPU s / it', 'set-up / product', 'it / product'], cpuRows));
}

/** The iterations where W2 was checked against the program or rho changed, one line each. */
function printChecks(label: string, history: IterationRecord[]): void {
  history.forEach((h, i) => {
    if (!h.check && (i === 0 || h.rho === history[i - 1]!.rho)) return;
    const line = `${label}: it ${i + 1}, res/tol ${fmt(h.primalResidual / h.primalTolerance, 2)} ${fmt(h.dualResidual / h.dualTolerance, 2)}, rho ${fmt(h.rho, 3)}`;
    console.log(h.check ? `${line}, W2 error/eps ${fmt(h.check.errorOverEpsilon, 5)}, bound violation/max|Y| ${h.check.inactiveOverMax.toExponential(2)}` : line);
  });
}

await main(process.argv.slice(2));
