// The soft refit (the network default) on the mnist-mlp layers: the ADMM against nonlinear CG on the
// smooth objective (src/prune/refit.ts RefitTuning.method), same start (Net-Trim at epsilon 0.05 on the
// first P samples of ../shared/data/mnist-mlp), one run. bench/refit-wide.ts does the same on a wide layer.
//   node --import tsx bench/refit-soft.ts [--samples 2000] [--layers 1,2] [--threads 1]
//       [--variants '[{"method":"admm"},{"method":"ncg"}]']
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readNpyFile } from '../src/io/npy.ts';
import { LayerSolver } from '../src/layer/solve.ts';
import { refitBudget, refitProgram, withRefitKernels, type RefitTuning } from '../src/prune/refit.ts';
import type { LayerInput } from '../src/types.ts';
import { machineInfo } from './common.ts';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '2000' }, layers: { type: 'string', default: '1,2' }, threads: { type: 'string', default: '1' },
    variants: { type: 'string', default: '[{"method":"admm"},{"method":"ncg"}]' },
  },
});
const data = path.resolve(fileURLToPath(new URL('..', import.meta.url)), '../shared/data/mnist-mlp');
const p = Number(values.samples), threads = Number(values.threads);
const variants = JSON.parse(values.variants) as Array<Partial<RefitTuning>>;
const files = { 1: ['x0', 'y0'], 2: ['y0', 'y1'] } as const;

async function rows(name: string): Promise<{ data: Float32Array; width: number }> {
  const t = await readNpyFile(path.join(data, `${name}.npy`));
  const width = t.shape[1]!;
  return { data: Float32Array.from(t.data.subarray(0, p * width)), width };
}

const info = machineInfo();
process.stdout.write(`refit-soft: mnist-mlp, P = ${p}, threads ${threads}; ${info.date}, load ${info.loadAverage}, ${info.revision}\n`);
process.stdout.write('layer  variant                          iterations  cpu s  error before  after     soft error\n');
const solver = await LayerSolver.create({ threads });
for (const layer of values.layers.split(',').map(Number) as Array<1 | 2>) {
  const [xf, yf] = files[layer];
  const x = await rows(xf), y = await rows(yf);
  const input: LayerInput = { inputs: x.data, outputs: y.data, samples: p, inputSize: x.width, outputSize: y.width };
  const solved = solver.solve(input, { epsilon: 0.05, activation: 'relu', bias: true });
  const start = new Float32Array((x.width + 1) * y.width);
  start.set(solved.weights);
  start.set(solved.bias!, x.width * y.width);
  for (const v of variants) {
    // "budget": the network's rule, as many iterations as the solve took (refitBudget)
    const tuning = v.maxIterations === undefined && v.method === 'ncg' ? { ...v, maxIterations: refitBudget(solved.iterations) } : v;
    const t0 = process.cpuUsage();
    const r = await withRefitKernels(threads, (k) => refitProgram(input, 'relu', true, start, undefined, k, 'soft', undefined, tuning));
    const cpu = process.cpuUsage(t0);
    process.stdout.write(`${String(layer).padEnd(6)} ${JSON.stringify(tuning).padEnd(32)} ${String(r.iterations).padStart(10)}  ${((cpu.user + cpu.system) / 1e6).toFixed(1).padStart(5)}  `
      + `${r.relativeErrorBefore.toFixed(5).padEnd(12)}  ${r.relativeError.toFixed(5)}  ${r.softError.toFixed(5)}\n`);
  }
  process.stdout.write(`       (the solve: ${solved.iterations} iterations)\n`);
}
await solver.close();
