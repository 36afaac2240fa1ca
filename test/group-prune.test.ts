// The group program through the whole-model pipeline: `solver: { penalty: 'group' }` prunes whole
// input rows of every layer, and for a convolution whole input channels (its kh x kw taps to every
// output, the row groups buildProgram gives it), in the stored kernel layout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { initializerValues, parseModel } from '../src/onnx/model.ts';
import { pruneModel } from '../src/prune/index.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

const draw = gaussian(seededRandom(5));
const values = (n: number, scale: number) => Array.from(fill(n, draw), (v) => scale * v);

test('CNN with penalty group: conv2 loses whole input channels, fc whole input rows, and the model still runs', async () => {
  // x[1,8,8] -> Conv 6x(1x3x3) + Relu -> Conv 4x(6x3x3) stride 2 + Relu (4 x 4 x 4) -> Flatten -> Gemm 64 -> 3
  const bytes = new GraphBuilder('cnn')
    .input('x', ['N', 1, 8, 8])
    // conv1's last two channels are weak: conv2 can do without them
    .initializer('K1', [6, 1, 3, 3], [...values(36, 0.5), ...values(18, 0.02)]).initializer('B1', [6], values(6, 0.1))
    .node('Conv', ['x', 'K1', 'B1'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1').node('Relu', ['c1'], ['r1'])
    .initializer('K2', [4, 6, 3, 3], values(216, 0.5)).initializer('B2', [4], values(4, 0.1))
    .node('Conv', ['r1', 'K2', 'B2'], ['c2'], { strides: [2, 2], pads: [1, 1, 1, 1] }, 'conv2').node('Relu', ['c2'], ['r2'])
    .node('Flatten', ['r2'], ['f'], { axis: 1 }, 'flatten')
    .initializer('W3', [3, 64], values(192, 0.5)).initializer('b3', [3], [0, 0, 0])
    .node('Gemm', ['f', 'W3', 'b3'], ['y'], { transB: 1 }, 'fc')
    .output('y', ['N', 3])
    .toBytes();
  const calib = { data: fill(300 * 64, draw), shape: [300, 1, 8, 8] };
  const { model, report } = await pruneModel(bytes, calib, { epsilon: 0.3, maxColumns: 2000, solver: { penalty: 'group', maxIterations: 4000 } });
  const pruned = parseModel(model, 'pruned');
  // conv2's kernel [4][6][3][3]: each input channel's 4 x 9 weights are all zero or (almost surely) none
  const k2 = initializerValues(pruned, 'K2');
  let removed = 0;
  for (let c = 0; c < 6; c++) {
    const block: number[] = [];
    for (let o = 0; o < 4; o++) for (let t = 0; t < 9; t++) block.push(k2[(o * 6 + c) * 9 + t]!);
    const zeros = block.filter((v) => v === 0).length;
    assert.ok(zeros === 0 || zeros === 36, `channel ${c}: ${zeros} of 36 weights zero, not a whole channel`);
    if (zeros === 36) removed++;
  }
  assert.ok(removed >= 1 && removed < 6, `${removed} of 6 channels removed`);
  // fc's W3 [3][64] (transB): input row r is column r, all 3 outputs
  const w3 = initializerValues(pruned, 'W3');
  let rows = 0;
  for (let r = 0; r < 64; r++) {
    const zeros = [0, 1, 2].filter((j) => w3[j * 64 + r] === 0).length;
    assert.ok(zeros === 0 || zeros === 3, `fc row ${r}: ${zeros} of 3 zero`);
    if (zeros === 3) rows++;
  }
  assert.ok(rows >= 1, 'no fc row removed');
  for (const l of report.layers) assert.ok(l.relativeError <= l.epsilon * 1.002 + 1e-6, `${l.name}: error ${l.relativeError} > ${l.epsilon}`);
});

test.run();
