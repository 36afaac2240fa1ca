// Development probe: one mnist-mlp layer with settings from argv[2] (JSON); prints the result and a trace summary.
import { readNpyFile } from '../src/io/npy.ts';
import { LayerSolver } from '../src/index.ts';
const dir = new URL('../../shared/data/mnist-mlp/', import.meta.url).pathname;
const [xf, yf] = (process.argv[3] ?? 'x0,y0').split(',');
const X = await readNpyFile(dir + xf + '.npy'), Y = await readNpyFile(dir + yf + '.npy');
const settings = JSON.parse(process.argv[2] ?? '{}');
const solver = await LayerSolver.create({ flavour: settings.flavour });
delete settings.flavour;
const r = solver.solve({ inputs: X.data, outputs: Y.data, samples: X.shape[0], inputSize: X.shape[1], outputSize: Y.shape[1] },
  { recordHistory: true, ...settings });
const { weights, bias, history, ...rest } = r;
console.log(solver.flavour, JSON.stringify(rest));
const h = history!;
for (let i = 0; i < h.length; i += Math.max(1, Math.floor(h.length / 25))) {
  const e = h[i];
  console.log(i + 1, e.primalResidual.toExponential(2), e.primalTolerance.toExponential(2), e.dualResidual.toExponential(2), e.dualTolerance.toExponential(2), e.rho.toPrecision(3), e.cgSteps);
}
