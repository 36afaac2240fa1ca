// The tiny ViT-style encoder example: 7x7 patches (16 of 49 pixels) -> patch embedding (MatMul on
// 3-D activations + Add bias) -> + position embedding -> 2 pre-LN encoder blocks (LayerNorm,
// Q/K/V projections, multi-head scaled dot-product attention with Softmax, output projection,
// residual Add; LayerNorm, MLP with GELU, residual Add) -> final LayerNorm -> mean over patches ->
// Gemm head. Trained in plain tfjs ops on tf.Variables (TF.js Layers has no attention layer that
// loads without custom classes, so there is no TF.js Layers twin), and exported node for op the
// way PyTorch's exporter writes it at opset 17: LayerNormalization, GELU as x * 0.5 * (1 + Erf(x /
// sqrt 2)), heads split with Reshape + Transpose, Linear on 3-D inputs as MatMul + Add.
import * as tf from '@tensorflow/tfjs';
import type { onnx as Onnx } from 'onnx-proto';
import { CLASSES, PIXELS, SEED, mulberry32, permutation, pick, type DigitSet } from '../mnist-split.ts';
import { attrFloat, attrInt, attrInts, encodeModel, initializer, onnx, shiftDigits, type NodeSpec } from '../mnist-training.ts';

export interface VitConfig {
  dim: number;
  heads: number;
  mlp: number;
  blocks: number;
  epochs: number;
  batchSize: number;
  /** Peak Adam learning rate; cosine decay to 5% of it over the run. */
  learningRate: number;
  maxShift: number;
}

export const VIT_CONFIG: VitConfig = Object.freeze({ dim: 32, heads: 2, mlp: 64, blocks: 2, epochs: 6, batchSize: 64, learningRate: 3e-3, maxShift: 1 });

const PATCH = 7;
const GRID = 28 / PATCH; // 4 x 4 patches
const TOKENS = GRID * GRID;
const PATCH_PIXELS = PATCH * PATCH;
const LN_EPSILON = 1e-5;

interface Block {
  ln1: [tf.Variable, tf.Variable];
  q: [tf.Variable, tf.Variable];
  k: [tf.Variable, tf.Variable];
  v: [tf.Variable, tf.Variable];
  o: [tf.Variable, tf.Variable];
  ln2: [tf.Variable, tf.Variable];
  fc1: [tf.Variable, tf.Variable];
  fc2: [tf.Variable, tf.Variable];
}

interface VitWeights {
  embed: [tf.Variable, tf.Variable];
  pos: tf.Variable;
  blocks: Block[];
  lnf: [tf.Variable, tf.Variable];
  head: [tf.Variable, tf.Variable];
}

export interface TrainedVit {
  config: VitConfig;
  weights: VitWeights;
  seconds: number;
  architecture: string;
  logits(data: DigitSet): Float32Array;
  dispose(): void;
}

function initWeights(c: VitConfig): VitWeights {
  let seed = SEED + 300;
  const linear = (inDim: number, outDim: number): [tf.Variable, tf.Variable] => [
    tf.variable(tf.initializers.glorotUniform({ seed: seed++ }).apply([inDim, outDim]) as tf.Tensor),
    tf.variable(tf.zeros([outDim])),
  ];
  const norm = (): [tf.Variable, tf.Variable] => [tf.variable(tf.ones([c.dim])), tf.variable(tf.zeros([c.dim]))];
  const embed = linear(PATCH_PIXELS, c.dim);
  const pos = tf.variable(tf.randomNormal([TOKENS, c.dim], 0, 0.02, 'float32', seed++));
  const blocks = Array.from({ length: c.blocks }, (): Block => ({
    ln1: norm(), q: linear(c.dim, c.dim), k: linear(c.dim, c.dim), v: linear(c.dim, c.dim), o: linear(c.dim, c.dim),
    ln2: norm(), fc1: linear(c.dim, c.mlp), fc2: linear(c.mlp, c.dim),
  }));
  return { embed, pos, blocks, lnf: norm(), head: linear(c.dim, CLASSES) };
}

function allVariables(w: VitWeights): tf.Variable[] {
  return [...w.embed, w.pos, ...w.blocks.flatMap(b => [...b.ln1, ...b.q, ...b.k, ...b.v, ...b.o, ...b.ln2, ...b.fc1, ...b.fc2]), ...w.lnf, ...w.head];
}

/** x [B, T, in] @ W [in, out] + b, as ONNX MatMul + Add on 3-D activations. */
function linear3(x: tf.Tensor, [w, b]: [tf.Variable, tf.Variable]): tf.Tensor {
  const [batch, tokens, inDim] = x.shape as [number, number, number];
  return tf.matMul(x.reshape([batch * tokens, inDim]), w).add(b).reshape([batch, tokens, w.shape[1]!]);
}

/** LayerNormalization over the last axis (biased variance, epsilon 1e-5: the ONNX/PyTorch definition). */
function layerNorm(x: tf.Tensor, [gamma, beta]: [tf.Variable, tf.Variable]): tf.Tensor {
  const mean = x.mean(-1, true);
  const centered = x.sub(mean);
  const variance = centered.square().mean(-1, true);
  return centered.div(variance.add(LN_EPSILON).sqrt()).mul(gamma).add(beta);
}

function gelu(x: tf.Tensor): tf.Tensor {
  return x.mul(tf.erf(x.div(Math.SQRT2)).add(1)).mul(0.5);
}

/** [B, T, D] -> [B, H, T, D/H]. */
function splitHeads(x: tf.Tensor, heads: number): tf.Tensor {
  const [batch, tokens, dim] = x.shape as [number, number, number];
  return x.reshape([batch, tokens, heads, dim / heads]).transpose([0, 2, 1, 3]);
}

function forward(w: VitWeights, c: VitConfig, pixels: tf.Tensor2D): tf.Tensor2D {
  const batch = pixels.shape[0];
  const patches = pixels.reshape([batch, GRID, PATCH, GRID, PATCH]).transpose([0, 1, 3, 2, 4]).reshape([batch, TOKENS, PATCH_PIXELS]);
  let h = linear3(patches, w.embed).add(w.pos);
  const headDim = c.dim / c.heads;
  for (const b of w.blocks) {
    const a = layerNorm(h, b.ln1);
    const q = splitHeads(linear3(a, b.q), c.heads);
    const k = splitHeads(linear3(a, b.k), c.heads);
    const v = splitHeads(linear3(a, b.v), c.heads);
    const attention = tf.softmax(tf.matMul(q, k, false, true).div(Math.sqrt(headDim)));
    const merged = tf.matMul(attention, v).transpose([0, 2, 1, 3]).reshape([batch, TOKENS, c.dim]);
    h = h.add(linear3(merged, b.o));
    h = h.add(linear3(gelu(linear3(layerNorm(h, b.ln2), b.fc1)), b.fc2));
  }
  const pooled = layerNorm(h, w.lnf).mean(1);
  return tf.matMul(pooled, w.head[0]).add(w.head[1]) as tf.Tensor2D;
}

function logitsOf(w: VitWeights, c: VitConfig, data: DigitSet): Float32Array {
  const out = new Float32Array(data.count * CLASSES);
  for (let start = 0; start < data.count; start += 250) {
    const end = Math.min(start + 250, data.count);
    const part = tf.tidy(() => forward(w, c, tf.tensor2d(data.x.subarray(start * PIXELS, end * PIXELS), [end - start, PIXELS])).dataSync());
    out.set(part, start * CLASSES);
  }
  return out;
}

/** Adam with cosine-decayed learning rate; seeded shuffles and shifts as in train(). */
export async function trainVit(data: DigitSet, c: VitConfig): Promise<TrainedVit> {
  console.log(`vit: training on ${data.count} digits, ${JSON.stringify(c)}`);
  const weights = initWeights(c);
  const variables = allVariables(weights);
  console.log(`  vit: ${variables.reduce((n, v) => n + v.size, 0)} parameters`);
  const optimizer = tf.train.adam(c.learningRate);
  const schedule = optimizer as unknown as { learningRate: number };
  const random = mulberry32(SEED + 100);
  const batches = Math.ceil(data.count / c.batchSize);
  const start = performance.now();
  for (let epoch = 0; epoch < c.epochs; epoch++) {
    const shuffled = shiftDigits(pick(data, permutation(data.count, random), 0, data.count), random, c.maxShift);
    let lossSum = 0;
    for (let k = 0; k < batches; k++) {
      const progress = (epoch * batches + k) / (c.epochs * batches);
      schedule.learningRate = c.learningRate * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress)));
      const lo = k * c.batchSize;
      const hi = Math.min(lo + c.batchSize, data.count);
      const loss = optimizer.minimize(() => tf.tidy(() => {
        const x = tf.tensor2d(shuffled.x.subarray(lo * PIXELS, hi * PIXELS), [hi - lo, PIXELS]);
        const y = tf.oneHot(tf.tensor1d(shuffled.labels.subarray(lo, hi), 'int32'), CLASSES);
        return tf.losses.softmaxCrossEntropy(y, forward(weights, c, x)) as tf.Scalar;
      }), true, variables)!;
      lossSum += (await loss.data())[0]! * (hi - lo);
      loss.dispose();
    }
    console.log(`  vit epoch ${epoch + 1}/${c.epochs}: loss ${(lossSum / data.count).toFixed(4)} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  }
  const seconds = (performance.now() - start) / 1000;
  optimizer.dispose();
  return {
    config: c, weights, seconds,
    architecture: `7x7 patches (16 tokens of 49) -> MatMul+Add embedding ${c.dim} -> + position embedding; ${c.blocks} pre-LN encoder blocks `
      + `(LayerNormalization, Q/K/V MatMul+Add, ${c.heads}-head softmax attention, output projection, residual Add; LayerNormalization, `
      + `MLP ${c.dim}->${c.mlp}->${c.dim} with Erf GELU, residual Add); final LayerNormalization; ReduceMean over tokens; Gemm ${c.dim}->10`,
    logits: d => logitsOf(weights, c, d),
    dispose: () => variables.forEach(v => v.dispose()),
  };
}

// ---------------------------------------------------------------------------------------------
// ONNX export (opset 17)

function int64Initializer(name: string, values: number[]): Onnx.ITensorProto {
  const data = BigInt64Array.from(values.map(BigInt));
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

function valuesOf(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

export function exportVit(trained: TrainedVit, doc: string, metadata: Record<string, string>): Uint8Array {
  const { weights: w, config: c } = trained;
  const nodes: NodeSpec[] = [];
  const initializers: Onnx.ITensorProto[] = [];
  const intermediates: Array<[string, Array<number | string>]> = [];
  const headDim = c.dim / c.heads;
  const op = (opType: string, name: string, inputs: string[], dims: Array<number | string> | null, attrs: Onnx.IAttributeProto[] = [], nodeDoc = ''): string => {
    const output = dims ? `${name}.out` : 'logits';
    nodes.push({ op: opType, name, inputs, output, attrs, doc: nodeDoc });
    if (dims) intermediates.push([output, dims]);
    return output;
  };
  const floats = (name: string, t: tf.Tensor | Float32Array, dims: number[], what: string): string => {
    initializers.push(initializer(name, dims, t instanceof Float32Array ? t : valuesOf(t), what));
    return name;
  };
  const shape = (name: string, values: number[]): string => {
    initializers.push(int64Initializer(name, values));
    return name;
  };
  /** Linear on [N, T, in]: MatMul by W [in, out], then Add the bias (PyTorch's export of nn.Linear on 3-D input). */
  const linear = (name: string, x: string, [wt, b]: [tf.Variable, tf.Variable], tokens: number): string => {
    const [inDim, outDim] = wt.shape as [number, number];
    const mm = op('MatMul', name, [x, floats(`${name}.weight`, wt, [inDim, outDim], `MatMul B [in=${inDim}, out=${outDim}]`)], ['N', tokens, outDim], [], `Linear ${inDim}->${outDim} on 3-D activations`);
    return op('Add', `${name}.bias_add`, [mm, floats(`${name}.bias`, b, [outDim], `bias [${outDim}]`)], ['N', tokens, outDim]);
  };
  const layerNorm = (name: string, x: string, [g, b]: [tf.Variable, tf.Variable]): string => op('LayerNormalization', name,
    [x, floats(`${name}.weight`, g, [c.dim], 'LayerNorm scale'), floats(`${name}.bias`, b, [c.dim], 'LayerNorm bias')],
    ['N', TOKENS, c.dim], [attrInt('axis', -1), attrFloat('epsilon', LN_EPSILON)]);

  const grid = op('Reshape', 'patchify.split', ['input', shape('patchify.split.shape', [-1, GRID, PATCH, GRID, PATCH])], ['N', GRID, PATCH, GRID, PATCH]);
  const moved = op('Transpose', 'patchify.transpose', [grid], ['N', GRID, GRID, PATCH, PATCH], [attrInts('perm', [0, 1, 3, 2, 4])]);
  const patches = op('Reshape', 'patchify.flatten', [moved, shape('patchify.flatten.shape', [-1, TOKENS, PATCH_PIXELS])], ['N', TOKENS, PATCH_PIXELS], [], '16 patches of 7x7 pixels');
  const embedded = linear('patch_embed', patches, w.embed, TOKENS);
  let h = op('Add', 'pos_embed', [embedded, floats('pos_embed.weight', w.pos, [1, TOKENS, c.dim], 'position embedding [1, 16, D]')], ['N', TOKENS, c.dim]);
  const scale = floats('attn.scale', new Float32Array([Math.sqrt(headDim)]), [], 'sqrt(head dim)');
  const headsShape = shape('attn.heads.shape', [-1, TOKENS, c.heads, headDim]);
  const mergedShape = shape('attn.merge.shape', [-1, TOKENS, c.dim]);
  const sqrt2 = floats('gelu.sqrt2', new Float32Array([Math.SQRT2]), [], 'sqrt(2)');
  const one = floats('gelu.one', new Float32Array([1]), [], '1');
  const half = floats('gelu.half', new Float32Array([0.5]), [], '0.5');
  w.blocks.forEach((b, i) => {
    const p = `blocks.${i}`;
    const a = layerNorm(`${p}.norm1`, h, b.ln1);
    const heads = (proj: 'q' | 'k' | 'v', perm: number[]) => {
      const lin = linear(`${p}.attn.${proj}`, a, b[proj], TOKENS);
      const split = op('Reshape', `${p}.attn.${proj}.split`, [lin, headsShape], ['N', TOKENS, c.heads, headDim]);
      const dims = perm[2] === 1 ? ['N', c.heads, TOKENS, headDim] : ['N', c.heads, headDim, TOKENS];
      return op('Transpose', `${p}.attn.${proj}.transpose`, [split], dims, [attrInts('perm', perm)]);
    };
    const q = heads('q', [0, 2, 1, 3]);
    const kT = heads('k', [0, 2, 3, 1]);
    const v = heads('v', [0, 2, 1, 3]);
    const scores = op('MatMul', `${p}.attn.scores`, [q, kT], ['N', c.heads, TOKENS, TOKENS], [], 'Q K^T');
    const scaled = op('Div', `${p}.attn.scale`, [scores, scale], ['N', c.heads, TOKENS, TOKENS]);
    const probs = op('Softmax', `${p}.attn.softmax`, [scaled], ['N', c.heads, TOKENS, TOKENS], [attrInt('axis', -1)]);
    const context = op('MatMul', `${p}.attn.context`, [probs, v], ['N', c.heads, TOKENS, headDim], [], 'softmax(Q K^T / sqrt(d)) V');
    const back = op('Transpose', `${p}.attn.merge.transpose`, [context], ['N', TOKENS, c.heads, headDim], [attrInts('perm', [0, 2, 1, 3])]);
    const merged = op('Reshape', `${p}.attn.merge`, [back, mergedShape], ['N', TOKENS, c.dim]);
    h = op('Add', `${p}.residual1`, [h, linear(`${p}.attn.proj`, merged, b.o, TOKENS)], ['N', TOKENS, c.dim]);
    const m = layerNorm(`${p}.norm2`, h, b.ln2);
    const fc1 = linear(`${p}.mlp.fc1`, m, b.fc1, TOKENS);
    const hidden: Array<number | string> = ['N', TOKENS, c.mlp];
    const erf = op('Erf', `${p}.mlp.gelu.erf`, [op('Div', `${p}.mlp.gelu.div`, [fc1, sqrt2], hidden)], hidden);
    const gate = op('Mul', `${p}.mlp.gelu.mul`, [fc1, op('Add', `${p}.mlp.gelu.add`, [erf, one], hidden)], hidden);
    const act = op('Mul', `${p}.mlp.gelu.half`, [gate, half], hidden, [], 'GELU = x * 0.5 * (1 + erf(x / sqrt 2))');
    h = op('Add', `${p}.residual2`, [h, linear(`${p}.mlp.fc2`, act, b.fc2, TOKENS)], ['N', TOKENS, c.dim]);
  });
  const normed = layerNorm('norm', h, w.lnf);
  const pooled = op('ReduceMean', 'pool', [normed], ['N', c.dim], [attrInts('axes', [1]), attrInt('keepdims', 0)], 'mean over the 16 tokens');
  op('Gemm', 'head', [pooled, floats('head.weight', w.head[0], [c.dim, CLASSES], `Gemm B [in=${c.dim}, out=10] (transB=0)`), floats('head.bias', w.head[1], [CLASSES], 'Gemm C [10]')], null,
    [attrFloat('alpha', 1), attrFloat('beta', 1), attrInt('transA', 0), attrInt('transB', 0)], `Dense ${c.dim}->10 (logits)`);
  return encodeModel({ name: 'mnist_vit', doc, inputDims: ['N', 1, 28, 28], nodes, initializers, intermediates, metadata, opset: 17 });
}
