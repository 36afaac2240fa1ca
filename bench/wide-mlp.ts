// Writes a random 784-2048-2048-10 ReLU MLP (He-scaled Gaussian weights, small biases) as ONNX, the
// shape of issue 9's wide network, for end-to-end timing of `nettrim prune` on MNIST digits:
//
//   node --import tsx bench/wide-mlp.ts OUT.onnx [--width 2048]
//   node --import tsx src/cli/main.ts prune OUT.onnx --calib examples/data/mnist-calib-x.npy --epsilon 0.05
//
// Random weights are not trained ones (fewer dead units, less correlated activations), so this
// times the solver's work, not the pruning quality.
import { writeFileSync } from 'node:fs';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { mulberry32 } from '../src/onnx/sampling.ts';
import { option } from './common.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: bench/wide-mlp.ts OUT.onnx [--width 2048]');
const width = Number(option(process.argv, '--width') ?? 2048);
const random = mulberry32(2048);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const weights = (n: number, m: number) => Array.from({ length: n * m }, () => gaussian() * Math.sqrt(2 / n));
const biases = (m: number) => Array.from({ length: m }, () => 0.01 * gaussian());
const model = new GraphBuilder('wide-mlp')
  .input('x', ['N', 784])
  .initializer('W1', [784, width], weights(784, width)).initializer('b1', [width], biases(width))
  .node('Gemm', ['x', 'W1', 'b1'], ['h1'], {}, 'fc1').node('Relu', ['h1'], ['a1'])
  .initializer('W2', [width, width], weights(width, width)).initializer('b2', [width], biases(width))
  .node('Gemm', ['a1', 'W2', 'b2'], ['h2'], {}, 'fc2').node('Relu', ['h2'], ['a2'])
  .initializer('W3', [width, 10], weights(width, 10)).initializer('b3', [10], biases(10))
  .node('Gemm', ['a2', 'W3', 'b3'], ['y'], {}, 'fc3')
  .output('y', ['N', 10])
  .toBytes();
writeFileSync(out, model);
