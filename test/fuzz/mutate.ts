// The fuzz cases: from a seed and an index, a deterministic hostile variant of a valid input
// (.npy bytes and headers; ONNX bytes and structure through the onnx-proto schema; model.json,
// its manifest and shards) and a command line to run it with. Reproduce one with its (seed, index).
import protobuf from 'protobufjs';
import { mulberry32 } from '../../src/onnx/sampling.ts';
import { onnx, type AttributeProto, type ModelProto } from '../../src/onnx/proto.ts';
import type { Fixtures } from './fixtures.ts';

export interface FuzzCase {
  index: number;
  kind: 'layer' | 'onnx' | 'tfjs';
  /** What was done, for the report ("onnx: initializer dims W1[0] = -1"). */
  mutations: string[];
  /** Files to create, by path relative to the case folder. */
  files: Record<string, Uint8Array>;
  /** Symbolic links to create: path relative to the case folder -> target. */
  links: Record<string, string>;
  /** FIFOs and directories to create (outputs that must never be replaced). */
  fifos: string[];
  dirs: string[];
  /** The command line; '@/' stands for the case folder. Outputs go to '@/out/'. */
  args: string[];
  /** A shard path of model.json leads out of the model's folder: success would be a read outside. */
  leavesFolder: boolean;
}

type Rng = () => number;

/** The case `index` of the campaign `seed`. */
export function generateCase(seed: number, index: number, fx: Fixtures): FuzzCase {
  const rng = mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const roll = rng();
  const c: FuzzCase = { index, kind: roll < 0.3 ? 'layer' : roll < 0.75 ? 'onnx' : 'tfjs', mutations: [], files: {}, links: {}, fifos: [], dirs: [], args: [], leavesFolder: false };
  if (c.kind === 'layer') layerCase(c, rng, fx);
  else if (c.kind === 'onnx') onnxCase(c, rng, fx);
  else tfjsCase(c, rng, fx);
  if (rng() < 0.06) specialOutput(c, rng);
  if (rng() < 0.04) loopInput(c, rng);
  return c;
}

/** One input path replaced by a symbolic link to itself, a FIFO without writer or /dev/zero. */
function loopInput(c: FuzzCase, rng: Rng): void {
  const inputs = c.args.map((a, i) => [a, i] as const).filter(([a, i]) => a.startsWith('@/') && !a.startsWith('@/out/') && c.args[i - 1] !== '--out');
  if (inputs.length === 0) return;
  const [arg, at] = pick(rng, inputs);
  const kind = pick(rng, ['loop', 'fifo', 'zero']);
  if (kind === 'loop') c.links.loop = 'loop';
  if (kind === 'fifo') c.fifos.push('in-fifo');
  if (kind === 'zero') c.links.zero = '/dev/zero';
  c.args[at] = `@/${kind === 'fifo' ? 'in-fifo' : kind}`;
  c.mutations.push(`${arg} replaced by ${kind === 'loop' ? 'a symlink loop' : kind === 'fifo' ? 'a FIFO without writer' : 'a link to /dev/zero'}`);
}

/** An output flag aimed at a FIFO, a directory or a symlink to one: it must be refused, not replaced. */
function specialOutput(c: FuzzCase, rng: Rng): void {
  const target = pick(rng, ['out/fifo', 'out/dir', 'out/fifo-link', 'out/dir-link', 'out/loop']);
  c.links['out/loop'] = 'loop';
  c.fifos.push('out/fifo');
  c.dirs.push('out/dir');
  c.links['out/fifo-link'] = 'fifo';
  c.links['out/dir-link'] = 'dir';
  const flag = c.kind === 'layer' ? '--out' : pick(rng, c.kind === 'onnx' ? ['--out', '--report', '--magnitude-out'] : ['--report']);
  c.args.push(flag, `@/${target}`);
  c.mutations.push(`${flag} ${target}`);
}

// ---------------------------------------------------------------------------------------------
// Cases.

function layerCase(c: FuzzCase, rng: Rng, fx: Fixtures): void {
  c.files['x.npy'] = fx.layerX;
  c.files['y.npy'] = fx.layerY;
  // --threads 1 unless a flag below says otherwise (the last one counts): no worker threads to start per case
  c.args = ['layer', '@/x.npy', '@/y.npy', '--max-iterations', '40', '--threads', '1', '--out', '@/out/w.npy'];
  if (rng() < 0.2) {
    c.files['v.npy'] = fx.layerV;
    c.args.push('--slack', '@/v.npy');
  }
  const targets = Object.keys(c.files);
  const count = rng() < 0.12 ? 0 : rng() < 0.8 ? 1 : 2;
  for (let k = 0; k < count; k++) {
    const name = pick(rng, targets);
    c.files[name] = mutateNpy(c.files[name]!, rng, c, name);
  }
  flags(c, rng, [
    ['--threads', ['1', '2', '3', '1000', '0', '-1', 'x']],
    ['--epsilon', ['0', '1e-9', '0.05', '1', '1e30', '-1', 'nan', 'Infinity']],
    ['--activation', ['linear', 'relu', 'tanh']],
    ['--rho', ['1e-30', '1', '1e30', '0']],
    ['--rel-tol', ['0', '1e-12', '1']],
  ], ['--no-bias', '--absolute', '--json']);
}

function onnxCase(c: FuzzCase, rng: Rng, fx: Fixtures): void {
  const cnn = rng() < 0.3;
  c.files['model.onnx'] = cnn ? fx.cnn : fx.mlp;
  c.files['calib.npy'] = cnn ? fx.calibCnn : fx.calibMlp;
  c.args = ['prune', '@/model.onnx', '--calib', '@/calib.npy', '--out', '@/out/model.onnx', '--max-iterations', '30', '--threads', '1', '--no-progress'];
  if (!cnn && rng() < 0.35) {
    c.files['eval.npy'] = fx.evalMlp;
    c.files['labels.npy'] = fx.labels;
    c.args.push('--eval', '@/eval.npy', '--labels', '@/labels.npy');
  }
  const count = rng() < 0.1 ? 0 : rng() < 0.8 ? 1 : 2;
  for (let k = 0; k < count; k++) {
    const r = rng();
    if (r < 0.45) c.files['model.onnx'] = structuralOnnx(c.files['model.onnx']!, rng, c);
    else if (r < 0.7) c.files['model.onnx'] = mutateBytes(c.files['model.onnx']!, rng, c, 'model.onnx');
    else {
      const name = pick(rng, Object.keys(c.files).filter((f) => f.endsWith('.npy')));
      c.files[name] = name === 'labels.npy' && rng() < 0.5 ? mutateLabels(c.files[name]!, rng, c) : mutateNpy(c.files[name]!, rng, c, name);
    }
  }
  pruneFlags(c, rng);
}

function tfjsCase(c: FuzzCase, rng: Rng, fx: Fixtures): void {
  c.files['model/model.json'] = new TextEncoder().encode(fx.tfjsJson);
  c.files['model/group1-shard1of1.bin'] = fx.tfjsShard;
  c.files['secret.bin'] = fx.tfjsShard; // the right size, outside the model's folder: a tempting target
  c.files['calib.npy'] = fx.calibMlp;
  c.args = ['prune', rng() < 0.5 ? '@/model/model.json' : '@/model', '--calib', '@/calib.npy', '--out', '@/out/pruned', '--max-iterations', '30', '--threads', '1', '--no-progress'];
  const count = rng() < 0.1 ? 0 : rng() < 0.8 ? 1 : 2;
  for (let k = 0; k < count; k++) {
    const r = rng();
    if (r < 0.55) c.files['model/model.json'] = structuralTfjs(c.files['model/model.json']!, rng, c);
    else if (r < 0.7) c.files['model/model.json'] = mutateBytes(c.files['model/model.json']!, rng, c, 'model.json');
    else if (r < 0.88) c.files['model/group1-shard1of1.bin'] = mutateBytes(c.files['model/group1-shard1of1.bin']!, rng, c, 'shard');
    else c.files['calib.npy'] = mutateNpy(c.files['calib.npy']!, rng, c, 'calib.npy');
  }
  pruneFlags(c, rng);
}

function pruneFlags(c: FuzzCase, rng: Rng): void {
  flags(c, rng, [
    ['--threads', ['1', '2', '1000', '0']],
    ['--epsilon', ['0', '0.05', '1', '1e30', '-1']],
    ['--sparsity', ['0', '0.5', '0.99', '1', '1.5']],
    ['--scheme', ['parallel', 'cascade', 'other']],
    ['--batch-size', ['1', '7', '1000', '0', '-3']],
    ['--max-columns', ['1', '16', '0']],
    ['--report', ['@/out/report.json']],
    ['--magnitude-out', [c.kind === 'tfjs' ? '@/out/magnitude' : '@/out/magnitude.onnx']],
  ], ['--refit']);
}

/** Adds each optional flag with probability 0.15, its value picked from the list. */
function flags(c: FuzzCase, rng: Rng, valued: Array<[string, string[]]>, bare: string[]): void {
  for (const [flag, values] of valued) if (rng() < 0.15) c.args.push(flag, pick(rng, values));
  for (const flag of bare) if (rng() < 0.15) c.args.push(flag);
}

// ---------------------------------------------------------------------------------------------
// Bytes.

function mutateBytes(bytes: Uint8Array, rng: Rng, c: FuzzCase, what: string): Uint8Array {
  const out = new Uint8Array(bytes); // a copy (a Buffer's slice() would be a view)
  const r = rng();
  if (r < 0.4) {
    const flips = 1 + Math.floor(rng() * 8);
    const header = rng() < 0.5 ? Math.min(out.length, 160) : out.length;
    for (let k = 0; k < flips; k++) out[Math.floor(rng() * header)] ^= 1 << Math.floor(rng() * 8);
    c.mutations.push(`${what}: ${flips} bit flips`);
    return out;
  }
  if (r < 0.7) {
    const length = Math.floor(rng() * out.length);
    c.mutations.push(`${what}: truncated to ${length} of ${out.length} bytes`);
    return out.subarray(0, length);
  }
  if (r < 0.85) {
    const extra = Uint8Array.from({ length: 1 + Math.floor(rng() * 64) }, () => Math.floor(rng() * 256));
    c.mutations.push(`${what}: ${extra.length} bytes appended`);
    return new Uint8Array([...out, ...extra]);
  }
  const at = Math.floor(rng() * out.length);
  const length = Math.min(out.length - at, 1 + Math.floor(rng() * 32));
  for (let k = 0; k < length; k++) out[at + k] = Math.floor(rng() * 256);
  c.mutations.push(`${what}: ${length} random bytes at ${at}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// .npy files.

const DESCRS = ["'<f4'", "'<f8'", "'>f4'", "'<f2'", "'<i8'", "'|u1'", "'|b1'", "'O'", "'<c8'", "'<U3'", "[('a', '<f4')]", "'<f4 '", "''", '4', 'None', "'\\x00'"];
const SHAPES = ['()', '(0,)', '(0, 5)', '(24,)', '(5, 24)', '(24, 5, 1)', '(-1, 5)', '(24.0, 5)', '(24, 5L)', '(9223372036854775807, 2)',
  '(4294967296, 4294967296)', '[24, 5]', '(24 5)', '((24,), 5)', '(True, 5)', "('24', 5)", '(1,) * 3', `(${Array(300).fill(1).join(', ')})`];

function mutateNpy(bytes: Uint8Array, rng: Rng, c: FuzzCase, name: string): Uint8Array {
  const r = rng();
  if (r < 0.35) return mutateBytes(bytes, rng, c, name);
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  const dataStart = 10 + headerLength;
  let header = Buffer.from(bytes.subarray(10, dataStart)).toString('latin1');
  let data = bytes.subarray(dataStart);
  let version = 1;
  let lengthField: number | undefined;
  const s = rng();
  if (s < 0.2) {
    const descr = pick(rng, DESCRS);
    header = header.replace(/'descr': '[^']*'/, `'descr': ${descr}`);
    c.mutations.push(`${name}: descr ${descr}`);
  } else if (s < 0.42) {
    const shape = pick(rng, SHAPES);
    header = header.replace(/'shape': \([^)]*\)/, `'shape': ${shape}`);
    c.mutations.push(`${name}: shape ${shape.slice(0, 40)}`);
  } else if (s < 0.5) {
    const order = pick(rng, ['True', '0', 'None', "'F'", 'Fals']);
    header = header.replace(/'fortran_order': \w+/, `'fortran_order': ${order}`);
    c.mutations.push(`${name}: fortran_order ${order}`);
  } else if (s < 0.58) {
    header = header.replace(/\n$/, ' ');
    c.mutations.push(`${name}: header without its newline`);
  } else if (s < 0.66) {
    const edit = pick(rng, ["{'extra': 1, ", '{{{{{{{{{{{{{{{{{{{{', "{'descr': '<f4', ", '{"descr": "<f4", "fortran_order": False, "shape": (24, 5), "shape": (1,), ', '[', '{__import__: 1, ']);
    header = header.replace(/^\{/, edit);
    c.mutations.push(`${name}: header starts ${JSON.stringify(edit.slice(0, 20))}`);
  } else if (s < 0.72) {
    version = pick(rng, [0, 2, 3, 4, 255]);
    c.mutations.push(`${name}: version ${version}.0`);
  } else if (s < 0.78) {
    lengthField = pick(rng, [0, 1, headerLength - 1, headerLength + 1, 0xffff]);
    c.mutations.push(`${name}: header length field ${lengthField}`);
  } else if (s < 0.9) {
    const values = new Uint8Array(data);
    const view = new DataView(values.buffer);
    const special = pick(rng, [NaN, Infinity, -Infinity, 3.4e38, -0, 1e-45]);
    const count = 1 + Math.floor(rng() * 3);
    for (let k = 0; k < count && values.length >= 4; k++) view.setFloat32(4 * Math.floor(rng() * (values.length / 4)), special, true);
    data = values;
    c.mutations.push(`${name}: ${count} values set to ${special}`);
  } else {
    // float64 of the same values: valid, exercises the conversion path
    const f32 = new Float32Array(data.slice(0, data.length - (data.length % 4)).buffer);
    data = new Uint8Array(Float64Array.from(f32).buffer);
    header = header.replace("'<f4'", "'<f8'");
    c.mutations.push(`${name}: float64 copy`);
  }
  return npyBytes(header, data, version, lengthField);
}

/** Integer labels with hostile values (negative, past the classes, int64 max). */
function mutateLabels(bytes: Uint8Array, rng: Rng, c: FuzzCase): Uint8Array {
  const out = new Uint8Array(bytes);
  const dataStart = 10 + (out[8]! | (out[9]! << 8));
  const view = new DataView(out.buffer, dataStart);
  const value = pick(rng, [-1n, 4n, 100n, 16777217n, 9223372036854775807n, -9223372036854775808n]);
  const at = Math.floor(rng() * 12);
  view.setBigInt64(8 * at, value, true);
  c.mutations.push(`labels.npy: label ${at} = ${value}`);
  return out;
}

function npyBytes(header: string, data: Uint8Array, major: number, lengthField?: number): Uint8Array {
  const wide = major >= 2 && major <= 3;
  const pre = wide ? 12 : 10;
  const text = Buffer.from(header, 'latin1');
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (wide) view.setUint32(8, lengthField ?? text.length, true);
  else view.setUint16(8, (lengthField ?? text.length) & 0xffff, true);
  out.set(text, pre);
  out.set(data, pre + text.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ONNX structure, through the schema.

const Long = protobuf.util.Long;
const HOSTILE_DIMS = () => [0, 1, -1, 3, 1000, 2 ** 31, Long.fromString('9007199254740993'), Long.fromString('9223372036854775807'), Long.fromString('-9223372036854775808')];
const OPS = ['Gemm', 'MatMul', 'Conv', 'Relu', 'Add', 'Flatten', 'Reshape', 'Clip', 'Softmax', 'BatchNormalization', 'Foo', ''];
const ATTRIBUTES = ['transA', 'transB', 'alpha', 'beta', 'kernel_shape', 'pads', 'strides', 'dilations', 'group', 'axis', 'auto_pad', 'min', 'max'];

function structuralOnnx(bytes: Uint8Array, rng: Rng, c: FuzzCase): Uint8Array {
  try {
    return editOnnx(bytes, rng, c);
  } catch {
    return mutateBytes(bytes, rng, c, 'model.onnx'); // an edit the schema's encoder refuses
  }
}

function editOnnx(bytes: Uint8Array, rng: Rng, c: FuzzCase): Uint8Array {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return mutateBytes(bytes, rng, c, 'model.onnx'); // already broken by an earlier mutation
  }
  const g = model.graph;
  if (!g) return mutateBytes(bytes, rng, c, 'model.onnx');
  const note = (text: string): void => void c.mutations.push(`model.onnx: ${text}`);
  const inits = g.initializer ?? [];
  const nodes = g.node ?? [];
  const r = Math.floor(rng() * 14);
  const init = inits.length > 0 ? inits[Math.floor(rng() * inits.length)]! : undefined;
  const node = nodes.length > 0 ? nodes[Math.floor(rng() * nodes.length)]! : undefined;
  switch (r) {
    case 0: if (init) {
      const dims = init.dims ?? [];
      const k = Math.floor(rng() * Math.max(1, dims.length));
      const v = pick(rng, HOSTILE_DIMS());
      dims[k] = v;
      init.dims = dims;
      note(`initializer ${init.name} dims[${k}] = ${String(v)}`);
    } break;
    case 1: if (init) {
      if (rng() < 0.5) init.dims = [...(init.dims ?? []), 1];
      else init.dims = (init.dims ?? []).slice(1);
      note(`initializer ${init.name} rank changed to ${init.dims.length}`);
    } break;
    case 2: if (init) {
      init.dataType = Math.floor(rng() * 22);
      note(`initializer ${init.name} data_type ${init.dataType}`);
    } break;
    case 3: if (init) {
      const raw = init.rawData ?? new Uint8Array();
      const choice = Math.floor(rng() * 4);
      if (choice === 0) init.rawData = raw.subarray(0, Math.floor(rng() * raw.length));
      else if (choice === 1) init.rawData = new Uint8Array([...raw, 0, 0, 0x80, 0x7f]);
      else if (choice === 2) { init.rawData = new Uint8Array(); init.floatData = []; }
      else { init.rawData = new Uint8Array(); init.floatData = Array.from({ length: 3 }, () => NaN); }
      note(`initializer ${init.name} raw_data edit ${choice}`);
    } break;
    case 4: if (node) {
      const name = pick(rng, ATTRIBUTES);
      const kind = Math.floor(rng() * 4);
      const attr: AttributeProto =
        kind === 0 ? { name, type: onnx.AttributeProto.AttributeType.INT, i: pick(rng, HOSTILE_DIMS()) }
        : kind === 1 ? { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: pick(rng, [NaN, -1, 0, 1e30]) }
        : kind === 2 ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: Array.from({ length: Math.floor(rng() * 6) }, () => pick(rng, HOSTILE_DIMS())) }
        : { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(pick(rng, ['VALID', 'SAME_UPPER', 'NOTSET', 'x'])) };
      node.attribute = [...(node.attribute ?? []).filter((a) => a.name !== name), attr];
      note(`node ${node.name || node.opType} attribute ${name} kind ${kind}`);
    } break;
    case 5: if (node) {
      g.node = nodes.filter((n) => n !== node);
      note(`node ${node.name || node.opType} deleted`);
    } break;
    case 6: if (node) {
      g.node = [...nodes, onnx.NodeProto.fromObject(onnx.NodeProto.toObject(node))];
      note(`node ${node.name || node.opType} duplicated`);
    } break;
    case 7: if (node) {
      node.opType = pick(rng, OPS);
      note(`node ${node.name} op_type ${node.opType}`);
    } break;
    case 8: if (node) {
      const inputs = node.input ?? [];
      const k = Math.floor(rng() * Math.max(1, inputs.length));
      const replacement = pick(rng, ['nope', '', ...(node.output ?? []), ...nodes.flatMap((n) => n.output ?? [])]);
      inputs[k] = replacement;
      node.input = inputs;
      note(`node ${node.name || node.opType} input[${k}] = '${replacement}'`);
    } break;
    case 9: {
      g.node = [...nodes].reverse();
      note('nodes in reverse order');
    } break;
    case 10: {
      const input = (g.input ?? [])[0];
      if (input?.type?.tensorType) {
        const choice = Math.floor(rng() * 3);
        if (choice === 0) input.type.tensorType.elemType = Math.floor(rng() * 17);
        else if (choice === 1) input.type.tensorType.shape = { dim: Array.from({ length: Math.floor(rng() * 5) }, () => ({ dimValue: pick(rng, HOSTILE_DIMS()) })) };
        else input.type.tensorType.shape = null;
        note(`graph input edit ${choice}`);
      } else if (rng() < 0.5) {
        g.input = [];
        note('graph inputs removed');
      }
    } break;
    case 11: {
      if (rng() < 0.5) g.output = [];
      else for (const o of g.output ?? []) o.name = 'nowhere';
      note('graph outputs edited');
    } break;
    case 12: {
      const choice = Math.floor(rng() * 3);
      if (choice === 0) model.irVersion = pick(rng, [0, 1, 3, 99, Long.fromString('9223372036854775807')]);
      else if (choice === 1) model.opsetImport = rng() < 0.3 ? [] : [{ domain: pick(rng, ['', 'ai.onnx', 'com.evil']), version: pick(rng, [0, 1, 7, 13, 99, 1000]) }];
      else model.graph!.name = 'x'.repeat(5000);
      note(`model-level edit ${choice}`);
    } break;
    default: if (init) {
      init.name = pick(rng, [inits[0]!.name ?? '', '', 'x', 'a'.repeat(3000)]);
      note(`initializer renamed (${init.name!.length} chars)`);
    }
  }
  return onnx.ModelProto.encode(model).finish();
}

// ---------------------------------------------------------------------------------------------
// TF.js model.json.

const TFJS_CLASSES = ['Conv2D', 'Dropout', 'Flatten', 'Foo', 'InputLayer', 'BatchNormalization', 'Activation', 'Dense'];

function structuralTfjs(bytes: Uint8Array, rng: Rng, c: FuzzCase): Uint8Array {
  try {
    return editTfjs(bytes, rng, c);
  } catch {
    // an earlier edit left a shape this one cannot walk (layers that are not objects...)
    return mutateBytes(bytes, rng, c, 'model.json');
  }
}

function editTfjs(bytes: Uint8Array, rng: Rng, c: FuzzCase): Uint8Array {
  let json: any;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return mutateBytes(bytes, rng, c, 'model.json');
  }
  const note = (text: string): void => void c.mutations.push(`model.json: ${text}`);
  const layers: any[] = json?.modelTopology?.config?.layers ?? [];
  const layer = layers.length > 0 ? layers[Math.floor(rng() * layers.length)] : undefined;
  const weights: any[] = json?.weightsManifest?.[0]?.weights ?? [];
  const weight = weights.length > 0 ? weights[Math.floor(rng() * weights.length)] : undefined;
  const r = Math.floor(rng() * 12);
  switch (r) {
    case 0: if (layer) {
      layer.config.units = pick(rng, [0, -1, 1e6, 3e14, 2.5, 'x', null, 7]);
      note(`${layer.config.name} units ${layer.config.units}`);
    } break;
    case 1: if (layer) {
      layer.config.activation = pick(rng, ['tanh', 'softmax', 'relu6', 'elu', 'x', null, 5]);
      note(`${layer.config.name} activation ${layer.config.activation}`);
    } break;
    case 2: if (layer) {
      if (rng() < 0.5) layer.class_name = pick(rng, TFJS_CLASSES);
      else layer.config.use_bias = !layer.config.use_bias;
      note(`${layer.config.name} class_name/use_bias edit`);
    } break;
    case 3: if (layers.length > 0) {
      layers[0].config.batch_input_shape = pick(rng, [[null, 8, 8], [null, 1e9], [], [null, -1], [null, 300000000000000], null, 'x', [null, 0]]);
      note(`batch_input_shape ${JSON.stringify(layers[0].config.batch_input_shape)}`);
    } break;
    case 4: if (layer) {
      if (rng() < 0.5) layers.splice(layers.indexOf(layer), 1);
      else layers.push(JSON.parse(JSON.stringify(layer)));
      note(`${layer.config.name} removed or duplicated`);
    } break;
    case 5: if (weight) {
      weight.shape = pick(rng, [[], [8], [6, 8], [-1, 6], [8, 6, 1], [1e6, 1e6], [2 ** 53, 1], 'x', null, [0, 6]]);
      note(`weight ${weight.name} shape ${JSON.stringify(weight.shape)}`);
    } break;
    case 6: if (weight) {
      weight.dtype = pick(rng, ['int32', 'bool', 'float16', 'string', 'complex64', undefined, 3]);
      note(`weight ${weight.name} dtype ${weight.dtype}`);
    } break;
    case 7: if (weight) {
      weight.quantization = pick(rng, [{ dtype: 'uint8', scale: 0.1, min: -1 }, { dtype: 'uint8' }, { dtype: 'float16' }, { dtype: 'int4' }, 5, 'x', { dtype: 'uint16', scale: NaN, min: 0 }]);
      note(`weight ${weight.name} quantization ${JSON.stringify(weight.quantization)}`);
    } break;
    case 8: if (weight) {
      weight.name = pick(rng, ['', weights[0].name, 'nope/kernel', 'x'.repeat(2000)]);
      note(`weight renamed (${weight.name.length} chars)`);
    } break;
    case 9: if (json.weightsManifest?.[0]) {
      const choice = pick(rng, ['../secret.bin', '/etc/hostname', '../../../../../../etc/passwd', 'sub/../../secret.bin', 'link.bin', 'loop.bin', 'missing.bin', '', '.', 'model.json', 5, null]);
      json.weightsManifest[0].paths = [choice];
      if (choice === 'link.bin') c.links['model/link.bin'] = '../secret.bin';
      if (choice === 'loop.bin') c.links['model/loop.bin'] = 'loop.bin';
      c.leavesFolder = typeof choice === 'string' && /^(\/|\.\.\/|sub\/\.\.\/\.\.)|^link\.bin$/.test(choice);
      note(`shard path ${JSON.stringify(choice)}`);
    } break;
    case 10: {
      const choice = Math.floor(rng() * 5);
      if (choice === 0) json.format = 'graph-model';
      else if (choice === 1) delete json.weightsManifest;
      else if (choice === 2) json.weightsManifest = {};
      else if (choice === 3) json.modelTopology = { class_name: pick(rng, ['Model', 'Functional', 'Foo', 5]), config: {} };
      else json.modelTopology.config.layers = 'x';
      note(`top-level edit ${choice}`);
    } break;
    default: {
      json.weightsManifest = [...(json.weightsManifest ?? []), { paths: ['group1-shard1of1.bin'], weights: [{ name: 'extra', shape: [1], dtype: 'float32' }] }];
      note('a second manifest group');
    }
  }
  return new TextEncoder().encode(JSON.stringify(json));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}
