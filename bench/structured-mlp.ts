// A preview of structured pruning on the shipped MLP (issue 10's accuracy target): Net-Trim's group
// program (solver: { penalty: 'group' }, every layer's rows in groups) leaves some neurons of fc1 and
// fc2 unread by the next layer, i.e. removable; the L1-norm baseline (Li et al. 2017) keeps the same
// number of neurons per layer, chosen by weight norm. Both are zero-masked models evaluated in
// onnxruntime on the 2,000 held-out digits; no retraining.
//
//   node --import tsx bench/structured-mlp.ts [--epsilons 0.05,0.1,0.2]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyFile } from '../src/io/npy.ts';
import { onnxBackend } from '../src/onnx/backend.ts';
import { initializerValues, parseModel, readModel } from '../src/onnx/model.ts';
import { labelIndices, topOneAccuracy } from '../src/prune/evaluate.ts';
import { pruneModel } from '../src/prune/index.ts';
import { l1NeuronValues, oneRowPerNeuron } from '../src/prune/l1-neurons.ts';
import { formatTable, option } from './common.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const epsilons = (option(process.argv, '--epsilons') ?? '0.05,0.1,0.2').split(',').map(Number);
const model = await readModel(join(EXAMPLES, 'models/mnist-mlp.onnx'));
const [calib, test, labels] = await Promise.all(['mnist-calib-x', 'mnist-test-x', 'mnist-test-labels'].map((f) => readNpyFile(join(EXAMPLES, `data/${f}.npy`))));
const feeds = new Map([[model.graph.input![0]!.name!, { data: test!.data, shape: test!.shape }]]);
const backend = onnxBackend(model);
const [fc1, fc2, fc3] = backend.layers;
const truth = labelIndices({ data: labels!.data, shape: labels!.shape }, 2000, 10);
const accuracy = async (values: Map<string, Float32Array> | ReadonlyMap<string, Float32Array>) =>
  topOneAccuracy([...(await backend.runOutputs(values, 'mlp', feeds, 2000, 500)).values()][0]!, truth);

/** Rows of a stored Gemm weight [N, M] (transB 0) or [M, N] with a nonzero entry: the input neurons still read. */
function rowsRead(w: Float32Array, n: number, m: number, transB: boolean): number {
  let rows = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) if (w[transB ? j * n + i : i * m + j] !== 0) { rows++; break; }
  }
  return rows;
}

const rows: string[][] = [];
for (const epsilon of epsilons) {
  const outcome = await pruneModel(model, { data: calib!.data, shape: calib!.shape }, { epsilon, weightFormat: 'dense', solver: { penalty: 'group' } });
  const pruned = parseModel(outcome.model, 'group');
  const values = new Map(backend.layers.map((l) => [l.weight, initializerValues(pruned, l.weight)] as const));
  for (const l of backend.layers) if (l.bias) values.set(l.bias, initializerValues(pruned, l.bias));
  const k1 = rowsRead(values.get(fc2!.weight)!, 300, 100, fc2!.gemm?.transB ?? false);
  const k2 = rowsRead(values.get(fc3!.weight)!, 100, 10, fc3!.gemm?.transB ?? false);
  const pixels = rowsRead(values.get(fc1!.weight)!, 784, 300, fc1!.gemm?.transB ?? false);
  const baseline = l1NeuronValues(backend, [
    { producer: fc1!, keep: k1, consumers: [{ layer: fc2!, rowNeuron: oneRowPerNeuron(fc2!) }] },
    { producer: fc2!, keep: k2, consumers: [{ layer: fc3!, rowNeuron: oneRowPerNeuron(fc3!) }] },
  ]);
  rows.push([String(epsilon), `${pixels} of 784`, `${k1} of 300`, `${k2} of 100`,
    (100 * await accuracy(new Map())).toFixed(2), (100 * await accuracy(values)).toFixed(2), (100 * await accuracy(baseline)).toFixed(2)]);
  process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
}
process.stdout.write(`${formatTable(['epsilon', 'pixels read', 'fc1 neurons kept', 'fc2 neurons kept', 'trained %', 'Net-Trim group %', 'L1-norm neurons %'], rows)}\n`);
