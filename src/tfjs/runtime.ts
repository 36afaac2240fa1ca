// The one module that talks to TensorFlow.js: a Layers model built from our decoded weights (some
// replaced), batched runs, and the layer signals pruning needs: each layer's input X, as the model
// computes it, and its pre-activation output Z = W^T X + b, computed by TensorFlow.js's own
// matMul / conv2d from X and the layer's weights (a fused relu hides Z inside the layer).
// @tensorflow/tfjs is an optional peer dependency, loaded on first use with a clear message.
import type * as Tf from '@tensorflow/tfjs';
import { InputError, runtimeMessage } from '../errors.ts';
import { sliceSamples, type Feeds } from '../onnx/inputs.ts';
import type { RuntimeTensor } from '../onnx/runtime.ts';
import type { WeightValues } from '../prune/backend.ts';
import type { TfjsLayer } from './layers.ts';
import type { Topology } from './topology.ts';
import type { LayersModelFile } from './model.ts';

type TF = typeof Tf;

/** A loaded Layers model with some weights replaced: run batches, read outputs or layer signals. */
export class TfjsModel {
  private constructor(
    private readonly tf: TF, private readonly model: Tf.LayersModel, private readonly topology: Topology, readonly label: string,
  ) {}

  /** Builds the model from the decoded file, `values` replacing weights by manifest name. */
  static async load(file: LayersModelFile, topology: Topology, values: WeightValues, label: string): Promise<TfjsModel> {
    const tf = await loadTensorFlow();
    const weightSpecs = file.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype }));
    const parts = file.weights.map((w) => {
      const v = values.get(w.name);
      if (v && v.length !== w.values.length) throw new Error(`weight '${w.name}' holds ${w.values.length} values, cannot set ${v.length}`);
      return v ?? w.values;
    });
    const weightData = new ArrayBuffer(parts.reduce((n, p) => n + p.byteLength, 0));
    const bytes = new Uint8Array(weightData);
    let offset = 0;
    for (const p of parts) {
      bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
      offset += p.byteLength;
    }
    let model: Tf.LayersModel;
    try {
      model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: file.json.modelTopology as object, weightSpecs, weightData }));
    } catch (err) {
      const grouped = topology.layers.find((l) => typeof l.config.groups === 'number' && l.config.groups > 1);
      const hint = grouped ? ` (layer '${grouped.name}' has groups ${grouped.config.groups}: TensorFlow.js does not implement grouped convolutions)` : '';
      throw new InputError(`${label}: TensorFlow.js cannot load the model: ${runtimeMessage(err)}${hint}`, { cause: err });
    }
    return new TfjsModel(tf, model, topology, label);
  }

  /** Calls `visit` with every output of the model (by output layer name) for each batch. */
  async forEachBatch(feeds: Feeds, samples: number, batchSize: number, visit: (outputs: Map<string, RuntimeTensor>, start: number) => void): Promise<void> {
    for (let start = 0; start < samples; start += batchSize) {
      const end = Math.min(samples, start + batchSize);
      const result = this.scoped(() => {
        const out = this.predict(this.model, this.inputTensors(feeds, start, end));
        return new Map(this.topology.outputs.map((name, i) => [name, readTensor(out[i]!)]));
      });
      visit(result, start);
    }
  }

  /**
   * For each batch, every layer's input X ([batch, ...]) and pre-activation output Z ([batch, ..., M],
   * NHWC for a Conv2D), computed with the layer's current weights.
   */
  async forEachSignalBatch(
    layers: readonly TfjsLayer[], feeds: Feeds, samples: number, batchSize: number,
    visit: (signals: Array<{ x: RuntimeTensor; z: RuntimeTensor; skip: RuntimeTensor | null }>, start: number, count: number) => void,
  ): Promise<void> {
    const tf = this.tf;
    const symbolic = layers.map((l) => this.model.getLayer(l.name).input as Tf.SymbolicTensor);
    // the other branch of a residual Add after the layer: another layer's output (or a model input)
    const skips = layers.map((l) => (l.structure.skip ? this.model.getLayer(l.structure.skip).output as Tf.SymbolicTensor : null));
    const wanted = [...symbolic, ...skips.filter((t): t is Tf.SymbolicTensor => t !== null)];
    const internal = [...new Set(wanted.filter((t) => !this.model.inputs.includes(t)))];
    const probe = internal.length > 0 ? tf.model({ inputs: this.model.inputs, outputs: internal }) : null;
    for (let start = 0; start < samples; start += batchSize) {
      const end = Math.min(samples, start + batchSize);
      const signals = this.scoped(() => {
        const inputs = this.inputTensors(feeds, start, end);
        const computed = probe ? this.predict(probe, inputs) : [];
        const valueOf = (t: Tf.SymbolicTensor): Tf.Tensor => {
          const at = this.model.inputs.indexOf(t); // model.inputs and topology.inputs share their order
          return at >= 0 ? inputs[at]! : computed[internal.indexOf(t)]!;
        };
        return layers.map((l, k) => {
          const x = valueOf(symbolic[k]!);
          const skip = skips[k];
          return { x: readTensor(x), z: readTensor(this.preActivation(l, x)), skip: skip ? readTensor(valueOf(skip)) : null };
        });
      });
      visit(signals, start, end - start);
    }
    // The probe shares the model's layers: disposing it would free their weights; it holds no tensors.
  }

  dispose(): void {
    this.model.dispose();
  }

  /** tf.tidy for a function returning plain data: every tensor made inside is freed. */
  private scoped<T>(fn: () => T): T {
    let out: T | undefined;
    this.tf.tidy(() => {
      out = fn();
    });
    return out!;
  }

  /** Z = X W + b of a Dense (on the last axis), or the convolution plus bias of a Conv2D, per group. */
  private preActivation(layer: TfjsLayer, x: Tf.Tensor): Tf.Tensor {
    const tf = this.tf;
    const [kernel, bias] = this.model.getLayer(layer.name).getWeights();
    let z: Tf.Tensor;
    if (layer.op === 'Dense') {
      const n = layer.inputSize;
      z = tf.matMul(x.reshape([-1, n]), kernel as Tf.Tensor2D).reshape([...x.shape.slice(0, -1), layer.outputSize]);
    } else {
      const c = layer.conv!;
      const padding = c.autoPad === 'SAME_UPPER' ? 'same' : 'valid';
      const conv = (input: Tf.Tensor4D, k: Tf.Tensor4D): Tf.Tensor4D => tf.conv2d(input, k, c.strides, padding, 'NHWC', c.dilations);
      if (layer.op === 'DepthwiseConv2D') z = tf.depthwiseConv2d(x as Tf.Tensor4D, kernel as Tf.Tensor4D, c.strides, padding, 'NHWC', c.dilations);
      else if (c.group === 1) z = conv(x as Tf.Tensor4D, kernel as Tf.Tensor4D);
      else {
        // Ready for grouped kernels [kh, kw, C/groups, Cout]; TensorFlow.js 4 cannot load them yet.
        const inputs = tf.split(x as Tf.Tensor4D, c.group, 3) as Tf.Tensor4D[];
        const kernels = tf.split(kernel as Tf.Tensor4D, c.group, 3) as Tf.Tensor4D[];
        z = tf.concat(inputs.map((xi, g) => conv(xi, kernels[g]!)), 3);
      }
    }
    return layer.bias && bias ? tf.add(z, bias) : z;
  }

  private inputTensors(feeds: Feeds, start: number, end: number): Tf.Tensor[] {
    return this.topology.inputs.map((input) => {
      const t = sliceSamples(feeds.get(input.name)!, start, end);
      return this.tf.tensor(t.data, t.shape, 'float32');
    });
  }

  private predict(model: Tf.LayersModel, inputs: Tf.Tensor[]): Tf.Tensor[] {
    try {
      const out = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
      return Array.isArray(out) ? out : [out];
    } catch (err) {
      throw new InputError(`${this.label}: TensorFlow.js failed to run the model: ${runtimeMessage(err)}`, { cause: err });
    }
  }
}

function readTensor(t: Tf.Tensor): RuntimeTensor {
  return { data: Float32Array.from(t.dataSync() as ArrayLike<number>), dims: [...t.shape] };
}

let runtime: Promise<TF> | undefined;

/** @tensorflow/tfjs, imported once; its absence is an InputError that says what to install. */
export function loadTensorFlow(): Promise<TF> {
  runtime ??= import('@tensorflow/tfjs')
    .then(async (tf) => {
      await tf.ready();
      withoutNodeBanner(() => tf.tensor([0]).dispose());
      return tf;
    })
    .catch((err: unknown) => {
      runtime = undefined;
      throw new InputError(`pruning TensorFlow.js models needs the @tensorflow/tfjs package (npm install @tensorflow/tfjs): ${messageOf(err)}`);
    });
  return runtime;
}

/**
 * Runs `fn` (the CPU backend's first tensor write) without the "Hi, looks like you are running
 * TensorFlow.js in Node.js..." banner it prints once, so that a command's stderr is ours. Only that
 * message is dropped; tf.enableProdMode would also silence the user's own warnings.
 */
function withoutNodeBanner(fn: () => void): void {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!args.some((a) => typeof a === 'string' && a.includes('looks like you are running TensorFlow.js in Node.js'))) warn(...args);
  };
  try {
    fn();
  } finally {
    console.warn = warn;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
