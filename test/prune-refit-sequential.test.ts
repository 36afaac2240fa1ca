// The refit of a parallel solution runs layer by layer (schemes.ts refitSequential): each layer is
// refit on its inputs in the network whose earlier layers are already pruned and refit, against
// the trained network's outputs. For a linear last layer that makes its kept weights the exact
// least-squares fit on their support, given the pruned network before it: the normal equations
// X_S (X_S^T w + b - y) = 0 hold with X the pruned network's hidden outputs, computed here in
// float64 from the written model's own tensors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { initializerValues, parseModel } from '../src/onnx/model.ts';
import { pruneModel } from '../src/prune/index.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

const normal = gaussian(seededRandom(91));
const [N, H, M, P] = [16, 12, 4, 300];

function mlp(w1: Float32Array, b1: Float32Array, w2: Float32Array): Uint8Array {
  return new GraphBuilder('mlp')
    .input('x', ['N', N])
    .initializer('W1', [N, H], [...w1]).initializer('b1', [H], [...b1])
    .node('Gemm', ['x', 'W1', 'b1'], ['h1'], {}, 'fc1').node('Relu', ['h1'], ['a1'], {}, 'relu1')
    .initializer('W2', [H, M], [...w2]).initializer('b2', [M], [0.1, -0.2, 0.05, 0])
    .node('Gemm', ['a1', 'W2', 'b2'], ['logits'], {}, 'fc2')
    .output('logits', ['N', M])
    .toBytes();
}

/** relu(x W1 + b1), P x H, float64. */
function hidden(x: Float32Array, w1: Float32Array, b1: Float32Array): Float64Array {
  const a = new Float64Array(P * H);
  for (let p = 0; p < P; p++) {
    for (let h = 0; h < H; h++) {
      let sum = b1[h]!;
      for (let i = 0; i < N; i++) sum += x[p * N + i]! * w1[i * H + h]!;
      a[p * H + h] = Math.max(0, sum);
    }
  }
  return a;
}

/** a W2 + b2, P x M. */
function logits(a: Float64Array, w2: Float32Array, b2: Float32Array): Float64Array {
  const y = new Float64Array(P * M);
  for (let p = 0; p < P; p++) {
    for (let j = 0; j < M; j++) {
      let sum = b2[j]!;
      for (let h = 0; h < H; h++) sum += a[p * H + h]! * w2[h * M + j]!;
      y[p * M + j] = sum;
    }
  }
  return y;
}

test('refit: the last layer is the least-squares fit on its support, given the pruned and refit layer before it', async () => {
  const w1 = fill(N * H, () => 0.4 * normal());
  const b1 = fill(H, () => 0.1 * normal());
  const w2 = fill(H * M, () => 0.4 * normal());
  const bytes = mlp(w1, b1, w2);
  const x = fill(P * N, normal);
  const { model, report } = await pruneModel(bytes, { data: x, shape: [P, N] }, { epsilon: 0.15, weightFormat: 'dense' });
  assert.ok(report.layers.every((l) => l.refit !== null), 'every layer refit');
  const pruned = parseModel(model, 'pruned');
  const [pw1, pb1, pw2, pb2] = ['W1', 'b1', 'W2', 'b2'].map((name) => initializerValues(pruned, name));
  assert.ok(report.layers[0]!.nnzAfter < N * H, 'fc1 was pruned (its outputs differ from the trained ones)');
  const target = logits(hidden(x, w1, b1), w2, Float32Array.from([0.1, -0.2, 0.05, 0]));
  const a = hidden(x, pw1!, pb1!);
  const y = logits(a, pw2!, pb2!);
  let worst = 0;
  for (let j = 0; j < M; j++) {
    let r2 = 0;
    for (let p = 0; p < P; p++) r2 += (y[p * M + j]! - target[p * M + j]!) ** 2;
    const kept = Array.from({ length: H }, (_, h) => h).filter((h) => pw2![h * M + j] !== 0);
    // gradient of 1/2 ||X_S^T w + b - y||^2 along each kept input and the bias, as a cosine
    for (const h of [...kept, -1]) {
      let g = 0;
      let x2 = 0;
      for (let p = 0; p < P; p++) {
        const xi = h < 0 ? 1 : a[p * H + h]!;
        g += xi * (y[p * M + j]! - target[p * M + j]!);
        x2 += xi * xi;
      }
      if (x2 > 0 && r2 > 0) worst = Math.max(worst, Math.abs(g) / Math.sqrt(x2 * r2));
    }
  }
  assert.ok(worst < 1e-3, `normal equations off by a cosine of ${worst}`);
});

test.run();
