// A TensorFlow.js Layers model's topology (model.json modelTopology) as a plain layer list: each
// layer's class, config and the layers each of its calls reads, with the model's inputs and outputs.
// Sequential and functional (Model/Functional) topologies, as TensorFlow.js and tf.keras 2 save them.
import { InputError } from '../errors.ts';
import { jsonText } from '../io/format.ts';
import type { ModelInput } from '../onnx/inputs.ts';
import { FLOAT } from '../onnx/proto.ts';
import { isObject, type LayersModelFile } from './model.ts';

const INT32 = 6; // onnx TensorProto.DataType, for the input checks shared with ONNX

/** One layer of the topology and the layers each of its calls reads. */
export interface TopologyLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
  /** Per call (inbound node), the names of the layers (or model inputs) it reads. */
  inbound: string[][];
}


export interface Topology {
  kind: 'Sequential' | 'Functional';
  /** In the topology's (topological) order; model inputs are InputLayer entries. */
  layers: TopologyLayer[];
  inputs: ModelInput[];
  /** Names of the layers whose outputs are the model's outputs, in order. */
  outputs: string[];
}


/** Every layer name `name` reads from, directly or not (itself included). */
export function upstreamLayers(topology: Topology, name: string): Set<string> {
  const byName = new Map(topology.layers.map((l) => [l.name, l]));
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const call of byName.get(n)?.inbound ?? []) stack.push(...call);
  }
  return seen;
}


/** The layer list of a Sequential or functional modelTopology, with the model's inputs and outputs. */
export function parseTopology(file: LayersModelFile): Topology {
  const t = file.topology;
  const where = `${file.source}: modelTopology`;
  const config = t.config;
  if (t.class_name === 'Sequential') {
    const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
    if (!Array.isArray(list) || list.length === 0) throw new InputError(`${where}: a Sequential model without layers`);
    return sequential(list.map((l, i) => layerEntry(l, `${where} layer ${i + 1}`)), where);
  }
  if (t.class_name === 'Model' || t.class_name === 'Functional') {
    if (!isObject(config) || !Array.isArray(config.layers)) throw new InputError(`${where}: a ${t.class_name} without a layers list`);
    return functional(config, where);
  }
  throw new InputError(`${where}: class_name ${jsonText(t.class_name)}; expected Sequential, Model or Functional`);
}


function sequential(entries: Array<Omit<TopologyLayer, 'inbound'>>, where: string): Topology {
  const first = entries[0]!;
  const inputName = first.className === 'InputLayer' ? first.name : `${first.name}_input`;
  const input: ModelInput = { name: inputName, elemType: dtypeOf(first.config), dims: inputDims(first.config, `${where}: first layer '${first.name}'`) };
  const layers: TopologyLayer[] = [{ className: 'InputLayer', name: inputName, config: {}, inbound: [] }];
  for (const e of entries) {
    if (e.className === 'InputLayer') continue;
    layers.push({ ...e, inbound: [[layers[layers.length - 1]!.name]] });
  }
  return { kind: 'Sequential', layers, inputs: [input], outputs: [layers[layers.length - 1]!.name] };
}


function functional(config: Record<string, unknown>, where: string): Topology {
  const layers = (config.layers as unknown[]).map((raw, i): TopologyLayer => {
    const e = layerEntry(raw, `${where} layer ${i + 1}`);
    const nodes = (raw as Record<string, unknown>).inbound_nodes ?? [];
    if (!Array.isArray(nodes)) throw new InputError(`${where}: layer '${e.name}' has inbound_nodes that are not a list`);
    const inbound = nodes.map((node: unknown) => {
      if (!Array.isArray(node) || !node.every((ref) => Array.isArray(ref) && typeof ref[0] === 'string')) {
        throw new InputError(`${where}: layer '${e.name}': inbound_nodes in a format nettrim does not read (expected [[layer, node, tensor, kwargs], ...], as TensorFlow.js and tf.keras 2 save)`);
      }
      return node.map((ref: unknown[]) => ref[0] as string);
    });
    return { ...e, inbound };
  });
  const names = new Set(layers.map((l) => l.name));
  const refs = (key: string): string[] => {
    const list = config[key];
    if (!Array.isArray(list) || list.length === 0) throw new InputError(`${where}: no ${key}`);
    return list.map((r: unknown) => {
      const name = Array.isArray(r) ? r[0] : undefined;
      if (typeof name !== 'string' || !names.has(name)) throw new InputError(`${where}: ${key} names an unknown layer ${jsonText(r)}`);
      return name;
    });
  };
  const byName = new Map(layers.map((l) => [l.name, l]));
  const inputs = refs('input_layers').map((name): ModelInput => {
    const l = byName.get(name)!;
    return { name, elemType: dtypeOf(l.config), dims: inputDims(l.config, `${where}: input '${name}'`) };
  });
  return { kind: 'Functional', layers, inputs, outputs: refs('output_layers') };
}


function layerEntry(raw: unknown, where: string): Omit<TopologyLayer, 'inbound'> {
  if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) {
    throw new InputError(`${where}: a layer needs class_name and config`);
  }
  const name = raw.config.name ?? raw.name;
  if (typeof name !== 'string') throw new InputError(`${where} (${raw.class_name}): no name`);
  return { className: raw.class_name, name, config: raw.config };
}


function inputDims(config: Record<string, unknown>, where: string): Array<number | null> {
  const batch = config.batch_input_shape ?? config.batchInputShape ?? config.batch_shape;
  const shape = Array.isArray(batch) ? batch : Array.isArray(config.input_shape) ? [null, ...config.input_shape] : null;
  if (!shape) throw new InputError(`${where} declares no input shape (batch_input_shape)`);
  return shape.map((d: unknown) => (typeof d === 'number' && d > 0 ? d : null));
}


function dtypeOf(config: Record<string, unknown>): number {
  const d = config.dtype ?? 'float32';
  return d === 'float32' ? FLOAT : d === 'int32' ? INT32 : 0;
}
