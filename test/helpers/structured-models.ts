// Small ONNX models with the structure real architectures put after a layer (BatchNormalization,
// residual Add, Clip(0, 6), LeakyRelu), for the graph and pruning tests. Weights are seeded.
import { GraphBuilder } from '../../src/onnx/builder.ts';
import { fill, gaussian } from './random.ts';

export interface Affine {
  scale: Float32Array;
  shift: Float32Array;
}

/**
 * x[N, 2, 6, 6] -> c1 Conv 4 (pad 1) -> bn1 -> r1 Relu = a1
 *   -> c2 Conv 4 (pad 1) -> bn2 -> add (+ a1) -> r2 Relu
 *   -> c3 Conv 3 (pad 1) -> mul3 (x [3,1,1]) -> add3 (+ [3,1,1]) -> clip6 Clip(0, 6)
 *   -> GlobalAveragePool -> Flatten -> fc Gemm 3x8 -> leaky LeakyRelu(0.1) -> head Gemm 8x5 (output y).
 * Returned with the folded per-channel values the tests expect.
 */
export function residualNet(random: () => number): { bytes: Uint8Array; bn1: Affine; bn2: Affine; mul3: Float32Array; add3: Float32Array } {
  const g = gaussian(random);
  const scaled = (n: number, s: number) => fill(n, () => s * g());
  const bn = (c: number) => {
    const gamma = fill(c, () => 0.5 + random()), beta = scaled(c, 0.3), mean = scaled(c, 0.5), variance = fill(c, () => 0.5 + random());
    const scale = gamma.map((v, j) => v / Math.sqrt(variance[j]! + 1e-5));
    const shift = beta.map((v, j) => v - mean[j]! * scale[j]!);
    return { gamma, beta, mean, variance, folded: { scale, shift } };
  };
  const bn1 = bn(4), bn2 = bn(4);
  const mul3 = Float32Array.from([3, 4, 2.5]), add3 = Float32Array.from([1, 0.5, 2]);
  const b = new GraphBuilder('residual')
    .input('x', ['N', 2, 6, 6])
    .initializer('K1', [4, 2, 3, 3], scaled(72, 0.4)).initializer('B1', [4], scaled(4, 0.1))
    .node('Conv', ['x', 'K1', 'B1'], ['h1'], { pads: [1, 1, 1, 1] }, 'c1')
    .initializer('s1', [4], bn1.gamma).initializer('o1', [4], bn1.beta).initializer('m1', [4], bn1.mean).initializer('v1', [4], bn1.variance)
    .node('BatchNormalization', ['h1', 's1', 'o1', 'm1', 'v1'], ['n1'], {}, 'bn1').node('Relu', ['n1'], ['a1'], {}, 'r1')
    .initializer('K2', [4, 4, 3, 3], scaled(144, 0.3)).initializer('B2', [4], scaled(4, 0.1))
    .node('Conv', ['a1', 'K2', 'B2'], ['h2'], { pads: [1, 1, 1, 1] }, 'c2')
    .initializer('s2', [4], bn2.gamma).initializer('o2', [4], bn2.beta).initializer('m2', [4], bn2.mean).initializer('v2', [4], bn2.variance)
    .node('BatchNormalization', ['h2', 's2', 'o2', 'm2', 'v2'], ['n2'], {}, 'bn2')
    .node('Add', ['n2', 'a1'], ['sum2'], {}, 'add').node('Relu', ['sum2'], ['a2'], {}, 'r2')
    .initializer('K3', [3, 4, 3, 3], scaled(108, 0.3)).initializer('B3', [3], scaled(3, 0.1))
    .node('Conv', ['a2', 'K3', 'B3'], ['h3'], { pads: [1, 1, 1, 1] }, 'c3')
    .initializer('k3', [3, 1, 1], mul3).node('Mul', ['h3', 'k3'], ['h3k'], {}, 'mul3')
    .initializer('d3', [3, 1, 1], add3).node('Add', ['h3k', 'd3'], ['h3d'], {}, 'add3')
    .initializer('lo', [], [0]).initializer('hi', [], [6]).node('Clip', ['h3d', 'lo', 'hi'], ['a3'], {}, 'clip6')
    .node('GlobalAveragePool', ['a3'], ['gap'], {}, 'gap').node('Flatten', ['gap'], ['f'], { axis: 1 }, 'flatten')
    .initializer('Wf', [3, 8], scaled(24, 0.8)).node('Gemm', ['f', 'Wf'], ['hf'], {}, 'fc')
    .node('LeakyRelu', ['hf'], ['l'], { alpha: { f: 0.1 } }, 'leaky')
    .initializer('Wh', [8, 5], scaled(40, 0.5)).initializer('bh', [5], scaled(5, 0.1))
    .node('Gemm', ['l', 'Wh', 'bh'], ['y'], {}, 'head')
    .output('y', ['N', 5]);
  return { bytes: b.toBytes(), bn1: bn1.folded, bn2: bn2.folded, mul3, add3 };
}
