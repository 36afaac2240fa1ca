// Exports a trained tfjs functional CNN (Conv2D, DepthwiseConv2D, BatchNormalization, Activation
// relu, ReLU with maxValue 6, Add, GlobalAveragePooling2D, Dense) to an NCHW ONNX graph, node for
// layer, the way PyTorch's exporter writes the same modules:
//   Conv2D            -> Conv (W [out, in, kh, kw]; no bias input when the layer has none)
//   DepthwiseConv2D   -> Conv with group = channels (W [C, 1, kh, kw])
//   BatchNormalization-> BatchNormalization (foldBatchNorm false: a training-mode export), or
//                        folded into the Conv before it (foldBatchNorm true: PyTorch's eval export)
//   ReLU maxValue 6   -> Clip(x, min, max) with min/max as inputs (opset 11+ form)
//   GlobalAveragePool -> GlobalAveragePool + Flatten;  Dense -> Gemm (B [in, out], transB = 0)
// 'same' padding becomes explicit pads, asymmetric where tfjs pads asymmetrically (stride 2).
import * as tf from '@tensorflow/tfjs';
import type { onnx as Onnx } from 'onnx-proto';
import { attrFloat, attrInt, attrInts, initializer, type NodeSpec } from '../mnist-training.ts';

export interface OnnxGraphParts {
  nodes: NodeSpec[];
  initializers: Onnx.ITensorProto[];
  intermediates: Array<[string, Array<number | string>]>;
}

interface LayerWithConfig extends tf.layers.Layer {
  getConfig(): tf.serialization.ConfigDict;
}

/** The layers feeding `layer` (functional models have one inbound node per layer). */
function inboundLayers(layer: tf.layers.Layer): tf.layers.Layer[] {
  return layer.inboundNodes[0]?.inboundLayers ?? [];
}

/** NHWC tfjs output shape -> NCHW ONNX dims with the batch as 'N'. */
function onnxDims(layer: tf.layers.Layer): Array<number | string> {
  const shape = layer.outputShape as Array<number | null>;
  const rest = shape.slice(1) as number[];
  return rest.length === 3 ? ['N', rest[2]!, rest[0]!, rest[1]!] : ['N', ...rest];
}

function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** ONNX pads [top, left, bottom, right] of a tfjs convolution, from tfjs's own padding rule. */
function convPads(layer: tf.layers.Layer, kernel: tf.Tensor, depthwise: boolean): { pads: number[]; strides: number[] } {
  const inShape = inboundLayers(layer)[0]!.outputShape as number[];
  const config = (layer as LayerWithConfig).getConfig();
  const strides = config.strides as number[];
  const filterShape = kernel.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo([1, inShape[1]!, inShape[2]!, inShape[3]!], filterShape,
    strides as [number, number], 1, config.padding as 'same' | 'valid', undefined, depthwise);
  const p = info.padInfo;
  return { pads: [p.top, p.left, p.bottom, p.right], strides };
}

/** BN as a per-channel affine map y = scale * x + shift, from its moving statistics. */
function batchNormAffine(bn: tf.layers.Layer): { scale: Float32Array; shift: Float32Array; epsilon: number; weights: Float32Array[] } {
  const [gamma, beta, mean, variance] = bn.getWeights().map(values) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const epsilon = (bn as LayerWithConfig).getConfig().epsilon as number;
  const scale = new Float32Array(gamma.length);
  const shift = new Float32Array(gamma.length);
  for (let c = 0; c < gamma.length; c++) {
    // float64 arithmetic, one rounding to float32, so the folded file matches the BN file closely.
    const s = gamma[c]! / Math.sqrt(variance[c]! + epsilon);
    scale[c] = s;
    shift[c] = beta[c]! - mean[c]! * s;
  }
  return { scale, shift, epsilon, weights: [gamma, beta, mean, variance] };
}

export function layersToOnnx(model: tf.LayersModel, foldBatchNorm: boolean): OnnxGraphParts {
  const parts: OnnxGraphParts = { nodes: [], initializers: [], intermediates: [] };
  const consumers = new Map<string, tf.layers.Layer[]>();
  for (const layer of model.layers) {
    for (const from of inboundLayers(layer)) consumers.set(from.name, [...(consumers.get(from.name) ?? []), layer]);
  }
  const outputLayer = model.outputLayers[0]!.name;
  const tensorOf = new Map<string, string>(); // layer name -> ONNX tensor holding its output
  const inputOf = (layer: tf.layers.Layer, k = 0) => tensorOf.get(inboundLayers(layer)[k]!.name)!;
  const emit = (layer: tf.layers.Layer, node: Omit<NodeSpec, 'output'>, output = `${layer.name}.out`): void => {
    const name = layer.name === outputLayer ? 'logits' : output;
    parts.nodes.push({ ...node, output: name });
    if (name !== 'logits') parts.intermediates.push([name, onnxDims(layer)]);
    tensorOf.set(layer.name, name);
  };
  const init = (name: string, dims: number[], data: Float32Array, doc: string) => parts.initializers.push(initializer(name, dims, data, doc));

  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'InputLayer') {
      tensorOf.set(layer.name, 'input');
    } else if (kind === 'Conv2D' || kind === 'DepthwiseConv2D') {
      const depthwise = kind === 'DepthwiseConv2D';
      const [kernel, bias] = layer.getWeights();
      const { pads, strides } = convPads(layer, kernel!, depthwise);
      const [kh, kw, cin, m] = kernel!.shape as [number, number, number, number];
      // tfjs [kh, kw, in, out] -> ONNX [out, in, kh, kw]; depthwise [kh, kw, C, 1] -> [C, 1, kh, kw].
      const w = tf.tidy(() => kernel!.transpose(depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]));
      const weight = Float32Array.from(values(w));
      w.dispose();
      const cout = depthwise ? cin * m : m;
      const group = depthwise ? cin : 1;
      const dims = [cout, depthwise ? m : cin, kh, kw];
      const next = consumers.get(layer.name) ?? [];
      const bn = foldBatchNorm && next.length === 1 && next[0]!.getClassName() === 'BatchNormalization' ? next[0]! : undefined;
      let biasValues = bias ? Float32Array.from(values(bias)) : undefined;
      let doc = `${kind} ${cin}->${cout}, ${kh}x${kw}, stride ${strides.join('x')}, pads ${pads.join(',')}${depthwise ? `, group ${group}` : ''}`;
      if (bn) {
        const { scale, shift } = batchNormAffine(bn);
        const per = weight.length / cout;
        for (let o = 0; o < cout; o++) for (let j = 0; j < per; j++) weight[o * per + j]! *= scale[o]!;
        biasValues = Float32Array.from(shift, (s, o) => s + (biasValues?.[o] ?? 0) * scale[o]!);
        doc += `, ${bn.name} folded in`;
      }
      init(`${layer.name}.weight`, dims, weight, `Conv W [out=${dims[0]}, in/group=${dims[1]}, kh=${kh}, kw=${kw}]`);
      if (biasValues) init(`${layer.name}.bias`, [cout], biasValues, `Conv B [${cout}]`);
      const node = {
        op: 'Conv', name: layer.name, doc,
        inputs: [inputOf(layer), `${layer.name}.weight`, ...(biasValues ? [`${layer.name}.bias`] : [])],
        attrs: [attrInts('kernel_shape', [kh, kw]), attrInts('pads', pads), attrInts('strides', strides), attrInts('dilations', [1, 1]), attrInt('group', group)],
      };
      if (bn) {
        emit(bn, node, `${bn.name}.out`);
        tensorOf.set(layer.name, tensorOf.get(bn.name)!);
      } else {
        emit(layer, node);
      }
    } else if (kind === 'BatchNormalization') {
      if (tensorOf.has(layer.name)) continue; // folded into its Conv
      const { epsilon, weights } = batchNormAffine(layer);
      const names = ['scale', 'bias', 'mean', 'var'].map(n => `${layer.name}.${n}`);
      weights.forEach((w, k) => init(names[k]!, [w.length], w, `BatchNormalization ${names[k]} [${w.length}]`));
      emit(layer, { op: 'BatchNormalization', name: layer.name, inputs: [inputOf(layer), ...names], attrs: [attrFloat('epsilon', epsilon)], doc: `inference-mode BatchNormalization, epsilon ${epsilon}` });
    } else if (kind === 'Activation' || kind === 'ReLU') {
      const config = (layer as LayerWithConfig).getConfig();
      const maxValue = kind === 'ReLU' ? (config.maxValue as number | null) : config.activation === 'relu6' ? 6 : null;
      if (kind === 'Activation' && config.activation !== 'relu' && config.activation !== 'relu6') throw new Error(`${layer.name}: activation ${String(config.activation)} not exported`);
      if (maxValue === null || maxValue === undefined) {
        emit(layer, { op: 'Relu', name: layer.name, inputs: [inputOf(layer)], doc: 'ReLU' });
      } else {
        init(`${layer.name}.min`, [], new Float32Array([0]), 'Clip min');
        init(`${layer.name}.max`, [], new Float32Array([maxValue]), 'Clip max');
        emit(layer, { op: 'Clip', name: layer.name, inputs: [inputOf(layer), `${layer.name}.min`, `${layer.name}.max`], doc: `ReLU${maxValue} as Clip(0, ${maxValue})` });
      }
    } else if (kind === 'Add') {
      emit(layer, { op: 'Add', name: layer.name, inputs: [inputOf(layer, 0), inputOf(layer, 1)], doc: 'residual sum' });
    } else if (kind === 'GlobalAveragePooling2D') {
      const pooled = `${layer.name}.pooled`;
      const c = (layer.outputShape as number[])[1]!;
      parts.nodes.push({ op: 'GlobalAveragePool', name: layer.name, inputs: [inputOf(layer)], output: pooled, doc: 'mean over H x W' });
      parts.intermediates.push([pooled, ['N', c, 1, 1]]);
      emit(layer, { op: 'Flatten', name: `${layer.name}.flatten`, inputs: [pooled], attrs: [attrInt('axis', 1)], doc: `[N, ${c}, 1, 1] -> [N, ${c}]` });
    } else if (kind === 'Dense') {
      const [kernel, bias] = layer.getWeights() as [tf.Tensor, tf.Tensor];
      const [inDim, outDim] = kernel.shape as [number, number];
      init(`${layer.name}.weight`, [inDim, outDim], values(kernel), `Gemm B [in=${inDim}, out=${outDim}] (transB=0)`);
      init(`${layer.name}.bias`, [outDim], values(bias), `Gemm C [${outDim}]`);
      emit(layer, {
        op: 'Gemm', name: layer.name, inputs: [inputOf(layer), `${layer.name}.weight`, `${layer.name}.bias`], doc: `Dense ${inDim}->${outDim}`,
        attrs: [attrFloat('alpha', 1), attrFloat('beta', 1), attrInt('transA', 0), attrInt('transB', 0)],
      });
    } else {
      throw new Error(`${layer.name}: layer class ${kind} not exported`);
    }
  }
  return parts;
}
