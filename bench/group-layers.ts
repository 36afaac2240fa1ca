// The group (row) program against the element-wise one on the real mnist-mlp layer signals
// (../shared/data/mnist-mlp): per layer and epsilon, the input rows kept (a zero row is an input
// neuron, i.e. a neuron of the previous layer, that can be removed), nonzero weights, iterations,
// status and time. Iterations and counts are stable; times on a shared machine are not (compare
// within one run).
//
//   node --import tsx bench/group-layers.ts [--layers 2,3] [--epsilons 0.05,0.1] [--data DIR]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LayerSolver, type Penalty } from '../src/index.ts';
import { readNpyFile } from '../src/io/npy.ts';
import { formatTable, option } from './common.ts';

const REPO = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const data = option(process.argv, '--data') ?? path.resolve(REPO, '../shared/data/mnist-mlp');
const layers = (option(process.argv, '--layers') ?? '2,3').split(',');
const epsilons = (option(process.argv, '--epsilons') ?? '0.05,0.1').split(',').map(Number);
const SPECS: Record<string, { x: string; y: string; activation: 'relu' | 'linear' }> = {
  1: { x: 'x0.npy', y: 'y0.npy', activation: 'relu' },
  2: { x: 'y0.npy', y: 'y1.npy', activation: 'relu' },
  3: { x: 'y1.npy', y: 'y2.npy', activation: 'linear' },
};

const solver = await LayerSolver.create();
const rows: string[][] = [];
for (const layer of layers) {
  const spec = SPECS[layer]!;
  const [x, y] = [await readNpyFile(path.join(data, spec.x)), await readNpyFile(path.join(data, spec.y))];
  const [p, n] = x.shape as [number, number], m = y.shape[1]!;
  let live = 0;
  for (let i = 0; i < n; i++) for (let s = 0; s < p; s++) if (x.data[s * n + i] !== 0) { live++; break; }
  for (const epsilon of epsilons) {
    for (const penalty of ['l1', 'group'] as Penalty[]) {
      const r = await solver.solveAsync({ inputs: x.data, outputs: y.data, samples: p, inputSize: n, outputSize: m }, { epsilon, activation: spec.activation, penalty });
      let used = 0;
      for (let i = 0; i < n; i++) if (r.weights.subarray(i * m, (i + 1) * m).some((v) => v !== 0)) used++;
      rows.push([`${layer} (${n} x ${m}, ${live} inputs ever nonzero)`, String(epsilon), penalty, `${used} of ${n}`, String(r.nnz),
        r.relativeError.toFixed(4), String(r.iterations), r.status, r.seconds.toFixed(1)]);
      process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
    }
  }
}
await solver.close();
process.stdout.write(`${formatTable(['layer', 'epsilon', 'penalty', 'input rows kept', 'nnz', 'error', 'iterations', 'status', 's'], rows)}\n`);
