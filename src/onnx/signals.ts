// Layer signals from a real runtime: the model runs in onnxruntime with each layer's input and
// output exposed as extra graph outputs, batch by batch, and only the sampled columns of each
// batch are kept, so memory is bounded by the programs' size plus one batch of activations.
// The Collector is shared with TensorFlow.js (src/tfjs/signals.ts): it takes channels-last
// convolutions (layout 'nhwc') too.
import { InputError } from '../errors.ts';
import type { LayerSignals, SignalOptions } from '../prune/backend.ts';
import type { ModelLayer } from '../graph/layer.ts';
import { convGeometry, gatherPositionsInto, unfoldPatchesInto, unfoldPatchesNhwcInto, type ConvGeometry } from '../graph/im2col.ts';
import type { Feeds } from './inputs.ts';
import { withExtraOutputs } from './patch.ts';
import { ModelSession, forEachBatch, type RuntimeTensor } from './runtime.ts';
import { columnsPerSample, samplePositions } from './sampling.ts';

export type { LayerSignals, SignalOptions } from '../prune/backend.ts';

/**
 * Runs `bytes` (the trained or a partly pruned model) over the feeds and returns the signals of
 * each layer. The same seed picks the same columns whatever the weights.
 */
export async function collectSignals(
  bytes: Uint8Array, source: string, layers: readonly ModelLayer[], feeds: Feeds, samples: number,
  options: SignalOptions,
): Promise<LayerSignals[]> {
  const fedNames = new Set(feeds.keys());
  const wanted = [...new Set(layers.flatMap((l) => [l.input, l.output, ...(l.structure.skip ? [l.structure.skip] : [])]))]
    .filter((n) => !fedNames.has(n));
  const session = await ModelSession.create(withExtraOutputs(bytes, wanted), source);
  const collectors = layers.map((layer) => new Collector(layer, samples, options));
  try {
    await forEachBatch(session, feeds, samples, options.batchSize, wanted, (result, batch, start) => {
      const tensor = (name: string): RuntimeTensor => {
        const fed = batch.get(name);
        return fed ? { data: fed.data, dims: fed.shape } : result.get(name)!;
      };
      const count = batch.values().next().value!.shape[0]!;
      for (const c of collectors) {
        const skip = c.layer.structure.skip;
        c.add(tensor(c.layer.input), tensor(c.layer.output), start, count, skip ? tensor(skip) : null);
      }
      options.onBatch?.(Math.min(samples, start + options.batchSize), samples);
    });
  } finally {
    await session.release();
  }
  return collectors.map((c) => c.finish());
}

/**
 * Accumulates one layer's sampled rows over the batches (x: the layer's input, z: W^T x + b, and
 * the other branch of a residual Add after it, shaped like z).
 */
export class Collector {
  private inputs: Float32Array | null = null;
  private outputs: Float32Array | null = null;
  private skips: Float32Array | null = null;
  private counts: Int32Array | null = null;
  private row = 0;
  private positions = 0;
  private geometry: ConvGeometry | undefined;
  private readonly inputWidth: number;
  private readonly outputWidth: number;

  constructor(readonly layer: ModelLayer, private readonly samples: number, private readonly options: SignalOptions) {
    this.inputWidth = layer.inputSize * layer.groups;
    this.outputWidth = layer.outputSize * layer.groups;
  }

  add(x: RuntimeTensor, z: RuntimeTensor, start: number, batchSamples: number, skip: RuntimeTensor | null = null): void {
    const batch = this.batchLength(x, z, batchSamples);
    if (skip && skip.dims.join() !== z.dims.join()) {
      throw new InputError(
        `${this.layer.name}: the residual branch '${this.layer.structure.skip}' has dims [${skip.dims.join(', ')}], ` +
          `the layer's output [${z.dims.join(', ')}]; nettrim needs them equal (no broadcasting in a residual Add)`,
      );
    }
    if (!this.counts) this.allocate(x, z, skip !== null);
    for (let s = 0; s < batch; s++) {
      const sample = start + s;
      const count = this.counts![sample]!;
      if (count === 0) continue;
      const picks = samplePositions(this.options.seed, this.layer.index, sample, this.positions, count);
      if (this.geometry) this.addConv(x, z, s, picks, skip);
      else this.addDense(x, z, s, batch, picks, skip);
      this.row += count;
    }
  }

  finish(): LayerSignals {
    const inputs = this.inputs ?? new Float32Array(0);
    const outputs = this.outputs ?? new Float32Array(0);
    checkFinite(this.layer, outputs);
    if (this.skips) checkFinite(this.layer, this.skips);
    return {
      layer: this.layer, columns: this.row, inputWidth: this.inputWidth, outputWidth: this.outputWidth,
      inputs, outputs, skips: this.skips, ...(this.geometry ? { geometry: this.geometry } : {}),
    };
  }

  /** Sizes the arrays from the first batch: positions per sample, columns per sample. */
  private allocate(x: RuntimeTensor, z: RuntimeTensor, skips: boolean): void {
    const { layer } = this;
    if (layer.conv) {
      const nhwc = layer.layout === 'nhwc';
      // convGeometry reads [B, C, H, W]; a channels-last input is [B, H, W, C].
      const dims = nhwc ? [x.dims[0]!, x.dims[x.dims.length - 1]!, ...x.dims.slice(1, -1)] : x.dims;
      this.geometry = convGeometry(layer.conv, dims, layer.name);
      this.positions = this.geometry.outHeight * this.geometry.outWidth;
      const spatial = [...(layer.conv.spatialRank === 2 ? [this.geometry.outHeight] : []), this.geometry.outWidth];
      const channels = layer.conv.outChannels;
      const expected = nhwc ? [x.dims[0], ...spatial, channels] : [x.dims[0], channels, ...spatial];
      if (z.dims.join() !== expected.join()) {
        throw new Error(`${layer.name}: output dims [${z.dims.join(', ')}] differ from the computed [${expected.join(', ')}]`);
      }
    } else {
      const transposed = layer.gemm?.transA ?? false;
      const width = transposed ? x.dims[0] : x.dims[x.dims.length - 1];
      if (x.dims.length < 2 || width !== layer.inputSize) {
        throw new InputError(`${layer.name}: input '${layer.input}' has dims [${x.dims.join(', ')}], expected a batch of rows of ${layer.inputSize}`);
      }
      this.positions = transposed ? 1 : x.dims.slice(1, -1).reduce((a, b) => a * b, 1);
    }
    this.counts = columnsPerSample(this.samples, this.positions, this.options.maxColumns);
    const total = this.counts.reduce((a, b) => a + b, 0);
    this.inputs = new Float32Array(total * this.inputWidth);
    this.outputs = new Float32Array(total * this.outputWidth);
    this.skips = skips ? new Float32Array(total * this.outputWidth) : null;
  }

  private addConv(x: RuntimeTensor, z: RuntimeTensor, s: number, picks: Int32Array, skip: RuntimeTensor | null): void {
    const g = this.geometry!;
    const plane = g.outHeight * g.outWidth;
    const gather = (from: Float32Array, into: Float32Array): void => {
      if (this.layer.layout !== 'nhwc') {
        gatherPositionsInto(from, s * g.outChannels * plane, g.outChannels, plane, picks, into, this.row);
        return;
      }
      const c = g.outChannels;
      for (let r = 0; r < picks.length; r++) {
        const at = (s * plane + picks[r]!) * c; // channels are contiguous at each position
        into.set(from.subarray(at, at + c), (this.row + r) * c);
      }
    };
    if (this.layer.layout === 'nhwc') unfoldPatchesNhwcInto(g, x.data, s * g.height * g.width * g.inChannels, picks, this.inputs!, this.row);
    else unfoldPatchesInto(g, x.data, s * g.inChannels * g.height * g.width, picks, this.inputs!, this.row);
    gather(z.data, this.outputs!);
    if (skip) gather(skip.data, this.skips!);
  }

  private addDense(x: RuntimeTensor, z: RuntimeTensor, s: number, batch: number, picks: Int32Array, skip: RuntimeTensor | null): void {
    const n = this.inputWidth;
    const m = this.outputWidth;
    for (let r = 0; r < picks.length; r++) {
      const source = s * this.positions + picks[r]!;
      const row = this.row + r;
      if (this.layer.gemm?.transA) {
        for (let i = 0; i < n; i++) this.inputs![row * n + i] = x.data[i * batch + s]!; // A is N x batch
      } else {
        this.inputs!.set(x.data.subarray(source * n, source * n + n), row * n);
      }
      this.outputs!.set(z.data.subarray(source * m, source * m + m), row * m);
      if (skip) this.skips!.set(skip.data.subarray(source * m, source * m + m), row * m);
    }
  }

  /** Samples in this batch; the first axis must be the batch (the second for Gemm with transA). */
  private batchLength(x: RuntimeTensor, z: RuntimeTensor, batch: number): number {
    const xBatch = this.layer.gemm?.transA ? x.dims[1] : x.dims[0];
    if (xBatch !== batch || z.dims[0] !== batch) {
      throw new InputError(
        `${this.layer.name}: for a batch of ${batch} samples the input has dims [${x.dims.join(', ')}] and the output [${z.dims.join(', ')}]; ` +
          'nettrim needs the first axis of each layer tensor to count the samples',
      );
    }
    return batch;
  }
}

function checkFinite(layer: ModelLayer, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new InputError(`${layer.name}: the model produces ${values[i]} on the calibration data (output '${layer.output}')`);
    }
  }
}
