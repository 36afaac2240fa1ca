// The valid inputs the fuzzer mutates: small enough that a whole `nettrim prune` of a valid case
// takes a fraction of a second, real enough to reach every reader (npy, ONNX, TF.js Layers).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../../src/io/npy.ts';
import { GraphBuilder } from '../../src/onnx/builder.ts';
import { mulberry32 } from '../../src/onnx/sampling.ts';

export interface Fixtures {
  /** layer: X (24 x 5), Y (24 x 3) of a ReLU layer, and a slack V like Y. */
  layerX: Uint8Array;
  layerY: Uint8Array;
  layerV: Uint8Array;
  /** A Gemm-Relu-Gemm MLP 8 -> 6 -> 4, and a Conv-Relu-Flatten-Gemm CNN on 1 x 6 x 6 images. */
  mlp: Uint8Array;
  cnn: Uint8Array;
  calibMlp: Uint8Array;
  calibCnn: Uint8Array;
  evalMlp: Uint8Array;
  /** int64 class indices of the 12 evaluation samples (as np.save writes them). */
  labels: Uint8Array;
  /** A TF.js Layers Dense MLP 8 -> 6 -> 4: model.json text and its one shard. */
  tfjsJson: string;
  tfjsShard: Uint8Array;
}

export function makeFixtures(): Fixtures {
  const random = mulberry32(2026);
  const values = (n: number, scale = 1): number[] => Array.from({ length: n }, () => scale * (2 * random() - 1));
  const npy = (shape: number[], scale = 1): Uint8Array => encodeNpy(Float32Array.from(values(shape.reduce((a, b) => a * b, 1), scale)), shape);

  const [P, N, M] = [24, 5, 3];
  const x = Float32Array.from(values(P * N));
  const w = values(N * M);
  const y = new Float32Array(P * M);
  for (let p = 0; p < P; p++) for (let j = 0; j < M; j++) {
    let v = 0;
    for (let i = 0; i < N; i++) v += x[p * N + i]! * w[i * M + j]!;
    y[p * M + j] = Math.max(0, v);
  }
  const mlp = new GraphBuilder('mlp')
    .input('x', ['N', 8])
    .initializer('W1', [8, 6], values(48, 0.5)).initializer('b1', [6], values(6, 0.1))
    .node('Gemm', ['x', 'W1', 'b1'], ['h'], {}, 'fc1').node('Relu', ['h'], ['a'])
    .initializer('W2', [6, 4], values(24, 0.5)).initializer('b2', [4], values(4, 0.1))
    .node('Gemm', ['a', 'W2', 'b2'], ['y'], {}, 'fc2')
    .output('y', ['N', 4])
    .toBytes();
  const cnn = new GraphBuilder('cnn')
    .input('img', ['N', 1, 6, 6])
    .initializer('K', [3, 1, 3, 3], values(27, 0.5)).initializer('kb', [3], values(3, 0.1))
    .node('Conv', ['img', 'K', 'kb'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv').node('Relu', ['c'], ['r'])
    .node('Flatten', ['r'], ['f'], { axis: 1 })
    .initializer('W', [108, 4], values(432, 0.2)).initializer('b', [4], values(4, 0.1))
    .node('Gemm', ['f', 'W', 'b'], ['y'], {}, 'fc')
    .output('y', ['N', 4])
    .toBytes();
  const template = encodeNpy(new Float32Array(12), [12]);
  const header = Buffer.from(template.subarray(0, template.length - 48)).toString('latin1').replace("'<f4'", "'<i8'");
  const labelData = new DataView(new ArrayBuffer(8 * 12));
  for (let i = 0; i < 12; i++) labelData.setBigInt64(8 * i, BigInt(i % 4), true);

  // Plain Uint8Array copies: Node's Buffer.slice is a view, and a mutation must never reach a fixture.
  const own = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);
  const fixtures: Fixtures = {
    layerX: encodeNpy(x, [P, N]),
    layerY: encodeNpy(y, [P, M]),
    layerV: npy([P, M], 0.1),
    mlp, cnn,
    calibMlp: npy([32, 8]),
    calibCnn: npy([16, 1, 6, 6]),
    evalMlp: npy([12, 8]),
    labels: new Uint8Array([...Buffer.from(header, 'latin1'), ...new Uint8Array(labelData.buffer)]),
    ...tfjsModel(values),
  };
  for (const key of Object.keys(fixtures) as Array<keyof Fixtures>) {
    const value = fixtures[key];
    if (value instanceof Uint8Array) (fixtures as unknown as Record<string, Uint8Array>)[key] = own(value);
  }
  return Object.freeze(fixtures);
}

/** The shipped MNIST TF.js model.json, shrunk to 8 -> 6 -> 5 -> 4, with random weights. */
function tfjsModel(values: (n: number, scale?: number) => number[]): { tfjsJson: string; tfjsShard: Uint8Array } {
  const source = fileURLToPath(new URL('../../examples/models/mnist-mlp-tfjs/model.json', import.meta.url));
  const json = JSON.parse(readFileSync(source, 'utf8'));
  const sizes = [8, 6, 5, 4];
  const layers = json.modelTopology.config.layers as Array<{ config: Record<string, unknown> }>;
  layers.forEach((layer, i) => {
    layer.config.units = sizes[i + 1];
    if (i === 0) layer.config.batch_input_shape = [null, sizes[0]];
  });
  const weights: Array<{ name: string; shape: number[]; dtype: string }> = [];
  const data: number[] = [];
  layers.forEach((layer, i) => {
    const name = layer.config.name as string;
    weights.push({ name: `${name}/kernel`, shape: [sizes[i]!, sizes[i + 1]!], dtype: 'float32' }, { name: `${name}/bias`, shape: [sizes[i + 1]!], dtype: 'float32' });
    data.push(...values(sizes[i]! * sizes[i + 1]!, 0.5), ...values(sizes[i + 1]!, 0.1));
  });
  json.weightsManifest = [{ paths: ['group1-shard1of1.bin'], weights }];
  return { tfjsJson: JSON.stringify(json), tfjsShard: new Uint8Array(Float32Array.from(data).buffer) };
}
