// What the network surgery (backend.shrink, src/graph/shrink.ts) does to the shipped examples when
// half of the neurons of every layer that feeds another one directly are L1-cut (prune/l1-neurons.ts,
// a zero-masked model): file bytes of the masked model (as backend.write writes it) and of the
// shrunk one, raw and gzipped, float parameters, neurons per layer, and the time shrink takes.
// Run: `node --import tsx bench/shrink-size.ts`. The machine is shared: times are indicative only.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readModel } from '../src/onnx/model.ts';
import { onnxBackend } from '../src/onnx/backend.ts';
import type { ModelBackend } from '../src/prune/backend.ts';
import type { ModelLayer } from '../src/graph/layer.ts';
import type { WeightFormat } from '../src/prune/types.ts';
import { inputChannelOfRows } from '../src/graph/weights.ts';
import { l1NeuronValues, type NeuronCut } from '../src/prune/l1-neurons.ts';
import { tfjsBackend } from '../src/tfjs/backend.ts';
import { readLayersModel } from '../src/tfjs/model.ts';
import type { LayersModelArtifacts } from '../src/tfjs/write.ts';

const MODELS = fileURLToPath(new URL('../examples/models/', import.meta.url));

/** Half of the neurons of each layer whose next layer reads it alone and directly (after pooling/Flatten). */
function halfCuts(backend: ModelBackend, channelsLast: boolean): NeuronCut[] {
  const cuts: NeuronCut[] = [];
  const layers = backend.layers;
  for (let k = 0; k + 1 < layers.length; k++) {
    const p = layers[k]!, c = layers[k + 1]!;
    if (p.groups > 1 || c.groups > 1 || !backend.reaches(p, c)) continue;
    cuts.push({ producer: p, keep: Math.ceil(p.outputSize / 2), consumers: [{ layer: c, rowNeuron: rowNeuron(p, c, channelsLast) }] });
  }
  return cuts;
}

function rowNeuron(p: ModelLayer, c: ModelLayer, channelsLast: boolean): Int32Array {
  if (c.conv) return inputChannelOfRows(c);
  const channels = p.outputSize, per = c.inputSize / channels;
  return Int32Array.from({ length: c.inputSize }, (_, i) => (channelsLast ? i % channels : Math.floor(i / per)));
}

function median(times: number[]): number {
  const s = times.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function report<W>(label: string, backend: ModelBackend<W>, bytes: (w: W) => Uint8Array[], channelsLast: boolean): void {
  const values = l1NeuronValues(backend, halfCuts(backend, channelsLast));
  const masked = bytes(backend.write(values));
  const times: number[] = [];
  let outcome = backend.shrink!(values);
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    outcome = backend.shrink!(values);
    times.push(performance.now() - t0);
  }
  const shrunk = bytes(outcome.model);
  const size = (parts: Uint8Array[]) => parts.reduce((n, p) => n + p.length, 0);
  const gz = (parts: Uint8Array[]) => parts.reduce((n, p) => n + gzipSync(p).length, 0);
  const [a, b] = [size(masked), size(shrunk)];
  console.log(`${label}: masked ${a} bytes (gzip ${gz(masked)}), shrunk ${b} bytes (gzip ${gz(shrunk)}): ${(a / b).toFixed(2)}x smaller; ` +
    `params ${outcome.paramsBefore} -> ${outcome.paramsAfter}; shrink ${median(times).toFixed(1)} ms (median of 5)`);
  console.log(`  neurons: ${outcome.layers.map((l) => `${l.name} ${l.before}->${l.after}${l.keptDead ? ` (${l.keptDead} kept dead)` : ''}`).join(', ')}`);
}

const onnxBytes = (w: Uint8Array) => [w];
const tfjsBytes = (w: LayersModelArtifacts) => [new TextEncoder().encode(w.modelJson), ...w.shards.map((s) => s.bytes)];
for (const name of ['mnist-mlp', 'mnist-conv', 'mnist-resnet', 'mnist-mobilenet']) {
  for (const format of ['dense', 'sparse'] as WeightFormat[]) {
    report(`${name}.onnx (${format})`, onnxBackend(await readModel(join(MODELS, `${name}.onnx`)), format), onnxBytes, false);
  }
  report(`${name}-tfjs`, tfjsBackend(await readLayersModel(join(MODELS, `${name}-tfjs`))), tfjsBytes, true);
}
