// The refit of a Net-Trim solution on real layers: the wasm path (src/prune/refit.ts ->
// assembly/refit.ts) against the float64 TypeScript one it replaced (test/reference/refit-f64.ts),
// in one run: CPU seconds, the error after the refit, the mean step and the largest inactive rise, and
// how far apart the two refit weights are. Layers of ../shared/data/mnist-mlp (784-300-100-10),
// solved first at epsilon 0.05 on the first P samples.
//   node --import tsx bench/refit.ts [--samples 2000] [--layers 1,2,3] [--threads N]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LayerSolver } from '../src/layer/solve.ts';
import { readNpyFile } from '../src/io/npy.ts';
import { refitProgram, withRefitKernels } from '../src/prune/refit.ts';
import type { LayerInput } from '../src/types.ts';
import { refitProgramF64 } from '../test/reference/refit-f64.ts';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '2000' }, layers: { type: 'string', default: '1,2,3' }, threads: { type: 'string' } } });
const data = path.resolve(fileURLToPath(new URL('..', import.meta.url)), '../shared/data/mnist-mlp');
const p = Number(values.samples);
const threads = values.threads ? Number(values.threads) : null;
const files = { 1: ['x0', 'y0', 'relu'], 2: ['y0', 'y1', 'relu'], 3: ['y1', 'y2', 'linear'] } as const;

async function rows(name: string): Promise<{ data: Float32Array; width: number }> {
  const t = await readNpyFile(path.join(data, `${name}.npy`));
  const width = t.shape[1]!;
  return { data: Float32Array.from(t.data.subarray(0, p * width)), width };
}

function cpuSince(t0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

const solver = await LayerSolver.create(threads === null ? {} : { threads });
process.stdout.write(`refit, wasm vs float64 TypeScript, mnist-mlp layers, P = ${p}, threads ${threads ?? 'default'}\n`);
process.stdout.write('layer  N x M       nnz     error before  after f64  after wasm   step f64/wasm  rise f64/wasm (of max|Y|)  |dW|/|W|  f64 cpu s  wasm cpu s  ratio\n');
for (const layer of values.layers.split(',').map(Number) as Array<1 | 2 | 3>) {
  const [xf, yf, activation] = files[layer];
  const x = await rows(xf);
  const y = await rows(yf);
  const input: LayerInput = { inputs: x.data, outputs: y.data, samples: p, inputSize: x.width, outputSize: y.width };
  const solved = solver.solve(input, { epsilon: 0.05, activation, bias: true });
  const start = new Float32Array((x.width + 1) * y.width);
  start.set(solved.weights);
  start.set(solved.bias!, x.width * y.width);
  // CPU seconds of the whole process (worker threads included): on a shared machine a fairer
  // measure of the work than wall time
  let t0 = process.cpuUsage();
  const f64 = refitProgramF64(input, activation, true, start);
  const f64Seconds = cpuSince(t0);
  t0 = process.cpuUsage();
  const wasm = await withRefitKernels(threads, (k) => refitProgram(input, activation, true, start, undefined, k));
  const wasmSeconds = cpuSince(t0);
  let d = 0;
  let norm = 0;
  for (let k = 0; k < f64.weights.length; k++) {
    d += (f64.weights[k]! - wasm.weights[k]!) ** 2;
    norm += f64.weights[k]! ** 2;
  }
  let ymax = 0;
  for (const v of y.data) ymax = Math.max(ymax, Math.abs(v));
  process.stdout.write(`${String(layer).padEnd(6)} ${`${x.width + 1} x ${y.width}`.padEnd(10)} ${String(solved.nnz).padEnd(7)} `
    + `${f64.relativeErrorBefore.toFixed(4).padEnd(13)} ${f64.relativeError.toFixed(4).padEnd(10)} ${wasm.relativeError.toFixed(4).padEnd(11)} `
    + `${f64.meanStep.toFixed(3)}/${wasm.meanStep.toFixed(3)}    ${(f64.maxInactive / ymax).toExponential(1)}/${(wasm.maxInactive / ymax).toExponential(1)}              `
    + `${Math.sqrt(d / norm).toExponential(1).padEnd(9)} ${f64Seconds.toFixed(1).padStart(5)}  ${wasmSeconds.toFixed(1).padStart(6)}  ${(f64Seconds / wasmSeconds).toFixed(1)}x\n`);
}
await solver.close?.();
