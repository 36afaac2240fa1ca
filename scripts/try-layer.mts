import { readFileSync } from 'node:fs';
import { trimLayer, LayerSolver } from '../src/index.ts';
function npy(path: string) {
  const b = readFileSync(path); const hl = b.readUInt16LE(8); const hdr = b.toString('latin1', 10, 10 + hl);
  const shape = hdr.match(/\((\d+), (\d+)\)/)!.slice(1).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length));
  return { data, shape };
}
const X = npy('/work/shared/data/mnist-mlp/x0.npy'), Y = npy('/work/shared/data/mnist-mlp/y0.npy');
const settings = JSON.parse(process.argv[2] ?? '{}');
const solver = await LayerSolver.create({ flavour: settings.flavour });
delete settings.flavour;
const r = solver.solve({ inputs: X.data, outputs: Y.data, samples: X.shape[0], inputSize: X.shape[1], outputSize: Y.shape[1] }, settings);
const { weights, bias, ...rest } = r;
console.log(solver.flavour, JSON.stringify(rest), 'mem', solver.memoryBytes / 1e6);
