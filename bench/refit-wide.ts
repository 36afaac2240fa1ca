// The soft refit on a wide layer (issue 9 item 4): the ADMM (assembly/refit.ts) against nonlinear CG
// on the smooth objective (assembly/refit-ncg.ts), same start, same data, one run. The layer is fc2 of
// bench/wide-mlp.ts's random 784-N-M ReLU network (He-scaled Gaussian weights) on the first P MNIST
// calibration digits; the start is Net-Trim's solution at epsilon 0.05 (solved once, cached in --cache).
//
//   node --import tsx bench/refit-wide.ts [--p 1000] [--n 1024] [--m 1024] [--threads 1]
//       [--variants '[{"method":"admm"},{"method":"ncg"}]'] [--cache /tmp/nettrim-refit-wide]
//
// Prints per variant: iterations, CPU and wall seconds of the refit (CPU of the whole process, worker
// threads included: with --threads 1 steady on a shared machine), the error on Omega before and after,
// and the soft objective after (sqrt(fit^2 + hinge^2) / ||Y||: what both minimise).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpyFile } from '../src/io/npy.ts';
import { LayerSolver } from '../src/layer/solve.ts';
import { mulberry32 } from '../src/onnx/sampling.ts';
import { refitProgram, withRefitKernels, type RefitTuning } from '../src/prune/refit.ts';
import type { LayerInput } from '../src/types.ts';
import { WasmKernels } from '../src/wasm/interface.ts';
import { machineInfo, option } from './common.ts';

const argv = process.argv;
const p = Number(option(argv, '--p') ?? 1000), n = Number(option(argv, '--n') ?? 1024), m = Number(option(argv, '--m') ?? 1024);
const threads = Number(option(argv, '--threads') ?? 1);
const variants = JSON.parse(option(argv, '--variants') ?? '[{"method":"admm"},{"method":"ncg"}]') as Array<Partial<RefitTuning>>;
const cache = option(argv, '--cache') ?? '/tmp/nettrim-refit-wide';
if (p % 4 || n % 8 || m % 8) throw new Error(`--p must be a multiple of 4, --n and --m of 8 (got ${p}, ${n}, ${m})`);

/** fc2's inputs and outputs: relu(relu(x W1 + b1) W2 + b2), weights drawn as bench/wide-mlp.ts draws them. */
async function layer(): Promise<LayerInput> {
  const digits = await readNpyFile(new URL('../examples/data/mnist-calib-x.npy', import.meta.url).pathname);
  if (digits.shape[0]! < p) throw new Error(`--p ${p}: the calibration file has ${digits.shape[0]} digits`);
  const x = Float32Array.from(digits.data.subarray(0, p * 784));
  const random = mulberry32(2048);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const weights = (rows: number, cols: number) => Float32Array.from({ length: rows * cols }, () => gaussian() * Math.sqrt(2 / rows));
  const biases = (cols: number) => Float32Array.from({ length: cols }, () => 0.01 * gaussian());
  const w1 = weights(784, n), b1 = biases(n), w2 = weights(n, m), b2 = biases(m);
  const kernels = await WasmKernels.create({ threads: 1 });
  const dense = (a: Float32Array, w: Float32Array, b: Float32Array, depth: number, cols: number) =>
    kernels.product(a, w, p, cols, depth, false).map((v, e) => Math.max(0, v + b[e % cols]!));
  const inputs = dense(x, w1, b1, 784, n);
  const outputs = dense(inputs, w2, b2, n, m);
  await kernels.close();
  return { inputs, outputs, samples: p, inputSize: n, outputSize: m };
}

/** Net-Trim's (N + 1) x M solution at epsilon 0.05, from the cache when there. */
async function start(input: LayerInput): Promise<Float32Array> {
  const file = join(cache, `start-${p}-${n}-${m}.f32`);
  if (existsSync(file)) return new Float32Array(readFileSync(file).buffer.slice(0));
  const solver = await LayerSolver.create({});
  const t0 = performance.now();
  const r = solver.solve(input, { epsilon: 0.05, activation: 'relu', bias: true });
  await solver.close();
  process.stdout.write(`Net-Trim solve: ${r.iterations} iterations, ${((performance.now() - t0) / 1000).toFixed(1)} s wall, status ${r.status}, kept ${(r.nnz / (n * m)).toFixed(3)}\n`);
  const out = new Float32Array((n + 1) * m);
  out.set(r.weights);
  out.set(r.bias!, n * m);
  mkdirSync(cache, { recursive: true });
  writeFileSync(`${file}.tmp`, out);
  writeFileSync(file, readFileSync(`${file}.tmp`)); // whole file or none (a cache read half-written would mislead)
  return out;
}

const info = machineInfo();
process.stdout.write(`refit-wide: P = ${p}, N = ${n} + bias, M = ${m}, threads ${threads}; ${info.date}, load ${info.loadAverage}, ${info.revision}\n`);
const input = await layer();
const solution = await start(input);
let kept = 0;
for (let e = 0; e < n * m; e++) if (solution[e] !== 0) kept++;
process.stdout.write(`kept ${kept} of ${n * m} weights (${(kept / (n * m)).toFixed(3)})\n`);
process.stdout.write('variant                                   iterations  cpu s   wall s  error before  after    soft error\n');
for (const tuning of variants) {
  const t0 = process.cpuUsage(), w0 = performance.now();
  const r = await withRefitKernels(threads, (k) => refitProgram(input, 'relu', true, solution, undefined, k, 'soft', undefined, tuning));
  const cpu = process.cpuUsage(t0);
  process.stdout.write(`${JSON.stringify(tuning).padEnd(41)} ${String(r.iterations).padStart(10)}  ${((cpu.user + cpu.system) / 1e6).toFixed(1).padStart(6)}  `
    + `${((performance.now() - w0) / 1000).toFixed(1).padStart(6)}  ${r.relativeErrorBefore.toFixed(5).padEnd(12)}  ${r.relativeError.toFixed(5)}  ${r.softError.toFixed(5)}\n`);
  if (r.trace) process.stdout.write(`  trace (iteration: f, sum g.S, open columns): ${traceLine(r.trace)}\n`);
}

/** Every 10th iteration of NCG's trace. */
function traceLine(trace: Float64Array): string {
  const parts: string[] = [];
  // a run stopped by its budget has no record for its last iteration count (f at 0)
  for (let i = 0; i * 4 < trace.length && trace[i * 4]! > 0; i += 10) parts.push(`${i}: ${trace[i * 4]!.toPrecision(6)} ${trace[i * 4 + 1]!.toExponential(1)} ${trace[i * 4 + 3]}`);
  return parts.join(', ');
}
