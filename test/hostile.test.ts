// The bad-input findings of issue 13, one test each: outputs that are not regular files, special
// and oversized inputs, shard paths out of the model's folder, --threads beyond the cores, and
// messages in our words (file and problem first, no runtime internals, no `undefined`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { encodeNpy, readNpyFile } from '../src/io/npy.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { InputError, runtimeMessage } from '../src/errors.ts';
import { readModel } from '../src/onnx/model.ts';
import { onnx } from '../src/onnx/proto.ts';
import { readFeeds } from '../src/prune/files.ts';
import { readLayersModel } from '../src/tfjs/model.ts';
import { prune } from './helpers/cli.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nettrim-hostile-'));
const path = (name: string): string => join(dir, name);
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real command in a child process (native stderr included), killed after `seconds`. */
function run(args: string[], seconds = 60): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** The message of the InputError `promise` rejects with (fails on success or another error type). */
async function inputError(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
  return (err as InputError).message;
}

/** No runtime internals, no undefined, no doubled prefix, one line. */
function assertOurWords(stderr: string): void {
  for (const bad of ['undefined', 'onnxruntime_src', '[E:onnxruntime', 'onnxruntime::', 'nettrim: nettrim:', 'ELOOP', 'Hi, looks like', '    at ']) {
    assert.not.ok(stderr.includes(bad), `stderr contains '${bad}': ${stderr}`);
  }
}

// Small fixtures: a ReLU layer's X and Y, a two-layer ONNX MLP with its calibration data.
const [P, N, M] = [40, 6, 3];
const X = Float32Array.from({ length: P * N }, (_, i) => Math.sin(i));
const Y = Float32Array.from({ length: P * M }, (_, i) => Math.max(0, Math.cos(i)));
writeFileSync(path('x.npy'), encodeNpy(X, [P, N]));
writeFileSync(path('y.npy'), encodeNpy(Y, [P, M]));
const mlp = new GraphBuilder('mlp')
  .input('x', ['N', 8])
  .initializer('W1', [8, 6], Array.from({ length: 48 }, (_, i) => Math.sin(i) / 2)).initializer('b1', [6], [0, 0.1, 0, 0.1, 0, 0.1])
  .node('Gemm', ['x', 'W1', 'b1'], ['h'], {}, 'fc1').node('Relu', ['h'], ['a'])
  .initializer('W2', [6, 4], Array.from({ length: 24 }, (_, i) => Math.cos(i) / 2)).initializer('b2', [4], [0, 0, 0, 0])
  .node('Gemm', ['a', 'W2', 'b2'], ['y'], {}, 'fc2')
  .output('y', ['N', 4])
  .toBytes();
writeFileSync(path('model.onnx'), mlp);
writeFileSync(path('calib.npy'), encodeNpy(Float32Array.from({ length: 64 * 8 }, (_, i) => Math.sin(3 * i)), [64, 8]));
writeFileSync(path('eval.npy'), encodeNpy(Float32Array.from({ length: 20 * 8 }, (_, i) => Math.cos(5 * i)), [20, 8]));

/** A .npy of little-endian int64 values (as np.save of class indices writes). */
function int64Npy(values: bigint[]): Uint8Array {
  const template = encodeNpy(new Float32Array(values.length), [values.length]);
  const header = Buffer.from(template.subarray(0, template.length - 4 * values.length)).toString('latin1').replace("'<f4'", "'<i8'");
  const data = new Uint8Array(8 * values.length);
  const view = new DataView(data.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return new Uint8Array([...Buffer.from(header, 'latin1'), ...data]);
}

/** An .npy with `header` as its dict (padded, newline unless `newline` is false) and `data`. */
function rawNpy(dict: string, data: Uint8Array, newline = true): Uint8Array {
  let text = dict;
  if (newline) text += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), 10);
  out.set(data, 10 + text.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Outputs.

test('--out naming a FIFO, a directory, or a symlink to either: refused before any work, nothing replaced', async () => {
  execFileSync('mkfifo', [path('fifo')]);
  mkdirSync(path('folder'));
  symlinkSync(path('fifo'), path('fifo-link'));
  symlinkSync(path('folder'), path('folder-link'));
  for (const target of ['fifo', 'folder', 'fifo-link', 'folder-link']) {
    const r = await run(['layer', path('x.npy'), path('y.npy'), '--out', path(target)]);
    assert.is(r.code, 1, `${target}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${target}: cannot write: it is (a symbolic link to )?(a named pipe|a directory)`));
    assert.not.ok(r.stdout.includes('kept'), 'the solve ran before the output was checked');
  }
  assert.ok(statSync(path('fifo')).isFIFO());
  assert.ok(statSync(path('folder')).isDirectory());
  assert.ok(lstatSync(path('fifo-link')).isSymbolicLink() && lstatSync(path('folder-link')).isSymbolicLink());
  const p = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--out', path('fifo-link'), '--no-progress']);
  assert.is(p.code, 1);
  assert.match(p.stderr, /fifo-link: cannot write: it is a symbolic link to a named pipe/);
  assert.ok(statSync(path('fifo')).isFIFO());
});

test('layer: an output directory that does not exist is reported before the inputs are even read', async () => {
  writeFileSync(path('garbage.npy'), 'not numpy');
  const r = await run(['layer', path('garbage.npy'), path('y.npy'), '--out', path('no/such/w.npy')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /no\/such\/w\.npy: cannot write: directory .*no\/such does not exist/);
});

// ---------------------------------------------------------------------------------------------
// Inputs.

test('/dev/zero, a FIFO without writer and a huge sparse file: refused at once, nothing read', async () => {
  if (!existsSync(path('fifo'))) execFileSync('mkfifo', [path('fifo')]);
  const zero = await inputError(readNpyFile('/dev/zero'));
  assert.is(zero, '/dev/zero: a .npy file must be a regular file, but this is a character device');
  const started = performance.now();
  assert.match(await inputError(readNpyFile(path('fifo'))), /fifo: a \.npy file must be a regular file, but this is a named pipe \(FIFO\)/);
  assert.ok(performance.now() - started < 5000);
  // A valid header for 40 x 6 float32, then 20 GB of holes: refused by size, not read.
  writeFileSync(path('huge.npy'), encodeNpy(X, [P, N]));
  execFileSync('truncate', ['-s', '20G', path('huge.npy')]);
  assert.match(await inputError(readNpyFile(path('huge.npy'))), /huge\.npy: \d+ unexpected bytes after the data: expected 960 bytes after the header/);
  // A header that claims 16 GiB, on a file that has them (sparse): refused by the 4 GiB limit.
  const claim = rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 4), }", new Uint8Array());
  writeFileSync(path('claims.npy'), claim);
  execFileSync('truncate', ['-s', String(claim.length + 16 * 2 ** 30), path('claims.npy')]);
  assert.match(await inputError(readNpyFile(path('claims.npy'))), /more than the 4294967295 nettrim can read/);
  // Through the commands: `layer /dev/zero` and `prune --calib /dev/zero` end at once.
  const layer = await run(['layer', '/dev/zero', path('y.npy')], 30);
  assert.is(layer.code, 1, layer.stderr);
  assert.match(layer.stderr, /^nettrim layer: \/dev\/zero: a \.npy file must be a regular file, but this is a character device\n$/);
  const calib = await prune([path('model.onnx'), '--calib', '/dev/zero', '--out', path('never.onnx'), '--no-progress']);
  assert.is(calib.code, 1);
  assert.match(calib.stderr, /\/dev\/zero: a \.npy file must be a regular file/);
  const model = await prune(['/dev/zero', '--calib', path('calib.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.match(model.stderr, /\/dev\/zero: the model must be a regular file, but this is a character device/);
  assert.not.ok(existsSync(path('never.onnx')));
});

test('strict .npy headers: the trailing newline is required, no Python 2 "40L", only literals', async () => {
  const data = new Uint8Array(4 * 2);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['no-newline.npy', rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", data, false), /must end with a newline/],
    ['long.npy', rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 2L), }", data), /malformed header: invalid number "1L, 2L\), }/],
    ['call.npy', rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': tuple([1, 2]), }", data), /unexpected name 'tuple'/],
  ];
  for (const [name, bytes, message] of cases) {
    writeFileSync(path(name), bytes);
    assert.match(await inputError(readNpyFile(path(name))), message);
  }
});

test('a 10,000-dimension shape gives a short message', async () => {
  const dims = Array.from({ length: 10000 }, () => '1').join(', ');
  writeFileSync(path('dims.npy'), rawNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`, new Uint8Array(8)));
  const message = await inputError(readNpyFile(path('dims.npy')));
  assert.ok(message.length < 400, `${message.length} characters`);
  assert.match(message, /\(1, 1, 1, 1, \.\.\. \(9992 more\) \.\.\., 1, 1, 1, 1\)/);
});

test('a model input with 10,000 dimensions: the shape mismatch is one short line', async () => {
  const wide = new GraphBuilder('wide').input('x', ['N', ...Array.from({ length: 9999 }, () => 1)])
    .initializer('W', [8, 4], Array.from({ length: 32 }, (_, i) => i / 32))
    .node('Flatten', ['x'], ['f'], { axis: 1 }).node('MatMul', ['f', 'W'], ['y'], {}, 'fc').output('y').toBytes();
  writeFileSync(path('wide.onnx'), wide);
  const r = await prune([path('wide.onnx'), '--calib', path('calib.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.is(r.code, 1, r.stderr);
  assert.ok(r.stderr.length < 400, `${r.stderr.length} characters: ${r.stderr.slice(0, 300)}`);
  assert.match(r.stderr, /calib\.npy: shape \[64, 8\] does not match the model input 'x' \[\?, 1, 1, 1, \.\.\. \(9992 more\) \.\.\., 1, 1, 1, 1\]/);
});

test('a loop of symbolic links as model, calibration, labels or output: exit 1, said in words', async () => {
  symlinkSync('loop', path('loop'));
  const model = path('model.onnx'), calib = path('calib.npy'), out = path('never.onnx');
  const cases: string[][] = [
    [model, '--calib', calib, '--out', path('loop')],
    [path('loop'), '--calib', calib, '--out', out],
    [model, '--calib', path('loop'), '--out', out],
    [model, '--calib', calib, '--eval', path('eval.npy'), '--labels', path('loop'), '--out', out],
    [model, '--calib', calib, '--out', path('loop/x.onnx')],
  ];
  for (const args of cases) {
    const r = await prune([...args, '--no-progress']);
    assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /loop(\/x\.onnx)?: cannot (read|write)[^:]*: the path goes round a loop of symbolic links/);
    assertOurWords(r.stderr);
  }
  assert.not.ok(existsSync(out));
});

// ---------------------------------------------------------------------------------------------
// TensorFlow.js shards.

test('TF.js shard paths: .., absolute paths and symlinks out of the folder are refused without revealing the target', async () => {
  const source = join(ROOT, 'examples/models/mnist-mlp-tfjs');
  const shardSize = statSync(join(source, 'group1-shard1of1.bin')).size;
  mkdirSync(path('outside'));
  const model = path('outside/model');
  cpSync(source, model, { recursive: true });
  cpSync(join(source, 'group1-shard1of1.bin'), path('outside/secret.bin')); // the right size, outside
  const json = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
  const withPath = (p: string): string => {
    json.weightsManifest[0].paths = [p];
    writeFileSync(join(model, 'model.json'), JSON.stringify(json));
    return join(model, 'model.json');
  };
  symlinkSync(path('outside/secret.bin'), join(model, 'link.bin'));
  const cases: Array<[string, RegExp]> = [
    ['../secret.bin', /leads out of the model's folder/],
    ['/etc/passwd', /is an absolute path/],
    ['../../../../../../../../etc/passwd', /leads out of the model's folder/],
    ['link.bin', /is a symbolic link that leads out of the model's folder/],
  ];
  for (const [p, why] of cases) {
    const message = await inputError(readLayersModel(withPath(p)));
    assert.match(message, why);
    assert.not.ok(message.includes(String(shardSize)) || message.includes(String(statSync('/etc/passwd').size)), message);
    assert.not.ok(message.includes('root:'), message);
  }
  // and the command stops with exit code 1 (it used to prune ../secret.bin with rc 0)
  const r = await prune([withPath('../secret.bin'), '--calib', join(ROOT, 'examples/data/mnist-calib-x.npy'), '--out', path('never-tfjs'), '--no-progress']);
  assert.is(r.code, 1, r.stderr);
  assert.not.ok(existsSync(path('never-tfjs')));
  // a shard in a subfolder of the model's folder is fine
  mkdirSync(join(model, 'weights'));
  cpSync(join(source, 'group1-shard1of1.bin'), join(model, 'weights/shard.bin'));
  assert.is((await readLayersModel(withPath('weights/shard.bin'))).weights.length, 6);
});

test('TF.js shard sizes are checked before the shards are read: a FIFO shard is refused at once', async () => {
  const model = path('fifo-model');
  cpSync(join(ROOT, 'examples/models/mnist-mlp-tfjs'), model, { recursive: true });
  rmSync(join(model, 'group1-shard1of1.bin'));
  execFileSync('mkfifo', [join(model, 'group1-shard1of1.bin')]);
  assert.match(await inputError(readLayersModel(join(model, 'model.json'))), /must be a regular file, but this is a named pipe/);
});

// ---------------------------------------------------------------------------------------------
// Threads.

test('--threads 1000 is clamped to the cores, said on stderr, and the layer is solved', async () => {
  const out = path('w-threads.npy');
  const r = await run(['layer', path('x.npy'), path('y.npy'), '--threads', '1000', '--out', out], 120);
  assert.ok(r.code === 0 || r.code === 3, `exit ${r.code}: ${r.stderr}`);
  const cores = availableParallelism();
  assert.match(r.stderr, new RegExp(`--threads 1000 is more than the ${cores} cores this machine can run at once; using ${cores}`));
  assert.ok(existsSync(out));
});

// ---------------------------------------------------------------------------------------------
// Messages.

test('NaN in a layer input: the file and the position, no doubled prefix', async () => {
  const nan = X.slice();
  nan[77] = NaN;
  writeFileSync(path('nan.npy'), encodeNpy(nan, [P, N]));
  const r = await run(['layer', path('nan.npy'), path('y.npy')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^nettrim layer: .*nan\.npy: value NaN at row 12, column 5; the data must be finite\n$/);
  assertOurWords(r.stderr);
});

test('a model with no data inputs: no empty list in the message', async () => {
  const message = await inputError(readFeeds([], ['calib.npy'], 'calib'));
  assert.is(message, '--calib calib.npy: the model has no data inputs to feed');
});

test('int64 dims are printed exactly (9223372036854775807), not rounded', async () => {
  const proto = onnx.ModelProto.decode(mlp);
  proto.graph!.initializer![0]!.dims = [protobuf.util.Long.fromString('9223372036854775807')];
  writeFileSync(path('int64.onnx'), onnx.ModelProto.encode(proto).finish());
  assert.match(await inputError(readModel(path('int64.onnx'))), /initializer 'W1' has invalid dims \[9223372036854775807\]/);
});

test('onnxruntime refusals: our words and no [E:onnxruntime] lines; the runtime text only with --verbose', async () => {
  const proto = onnx.ModelProto.decode(mlp);
  proto.irVersion = 99;
  writeFileSync(path('ir99.onnx'), onnx.ModelProto.encode(proto).finish());
  const r = await run(['prune', path('ir99.onnx'), '--calib', path('calib.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^nettrim prune: .*ir99\.onnx: onnxruntime cannot load the model: .*IR version: 99/);
  assertOurWords(r.stderr);
  assert.is(r.stderr.split('\n').length, 2, r.stderr);
  const verbose = await run(['prune', path('ir99.onnx'), '--calib', path('calib.npy'), '--out', path('never.onnx'), '--no-progress', '--verbose']);
  assert.match(verbose.stderr, /caused by: .*IR version/);
  // and the cleaning itself, on onnxruntime's real text
  const raw = new Error("[ONNXRuntimeError] : 1 : FAIL : Load model from /tmp/x.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:202 onnxruntime::Model::Model(onnx::ModelProto&&, const PathString&, const IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) Unsupported model IR version: 99, max supported IR version: 10");
  assert.is(runtimeMessage(raw), 'Unsupported model IR version: 99, max supported IR version: 10');
});

test('an allocation onnxruntime cannot make: no coloured [E:onnxruntime] line, the reason in one line', async () => {
  const big = new GraphBuilder('big').input('x', ['N', 8])
    .initializer('W', [8, 4], Array.from({ length: 32 }, (_, i) => i / 32))
    .node('Gemm', ['x', 'W'], ['h'], {}, 'fc')
    .node('Shape', ['h'], ['s']).node('Mul', ['s', 'k'], ['s2']).node('ConstantOfShape', ['s2'], ['big'])
    .node('ReduceSum', ['big'], ['r'], { keepdims: 0 }).node('Add', ['h', 'r'], ['y'])
    .output('y').toBytes();
  const proto = onnx.ModelProto.decode(big);
  const Long = protobuf.util.Long;
  proto.graph!.initializer!.push({ name: 'k', dims: [2], dataType: 7, int64Data: [Long.fromNumber(1e6), Long.fromNumber(1e8)] });
  writeFileSync(path('big.onnx'), onnx.ModelProto.encode(proto).finish());
  const r = await run(['prune', path('big.onnx'), '--calib', path('calib.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^nettrim prune: .*big\.onnx: onnxruntime failed to run the model: a ConstantOfShape node: Failed to allocate memory/);
  assertOurWords(r.stderr);
  assert.is(r.stderr.split('\n').length, 2, r.stderr);
  assert.not.ok(existsSync(path('never.onnx')));
});

test('a TF.js run prints no "Hi, looks like you are running TensorFlow.js in Node.js" banner', async () => {
  const calib = await readNpyFile(join(ROOT, 'examples/data/mnist-calib-x.npy'));
  writeFileSync(path('mnist-32.npy'), encodeNpy(calib.data.subarray(0, 32 * 784), [32, ...calib.shape.slice(1)]));
  const r = await run([
    'prune', join(ROOT, 'examples/models/mnist-mlp-tfjs'), '--calib', path('mnist-32.npy'),
    '--max-iterations', '5', '--max-columns', '64', '--out', path('tfjs-out'), '--no-progress',
  ], 300);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(r.stderr.includes('looks like you are running TensorFlow.js'), r.stderr);
});

// ---------------------------------------------------------------------------------------------
// Labels.

test('--labels accepts int64 class indices (np.save of y), checks them, and only labels accept integers', async () => {
  writeFileSync(path('labels-i8.npy'), int64Npy(Array.from({ length: 20 }, (_, i) => BigInt(i % 4))));
  const ok = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--eval', path('eval.npy'), '--labels', path('labels-i8.npy'), '--out', path('labelled.onnx'), '--no-progress']);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /top-1 accuracy on 20 samples/);
  const seven = Array.from({ length: 20 }, (_, i) => BigInt(i % 4));
  seven[3] = 7n;
  writeFileSync(path('labels-7.npy'), int64Npy(seven));
  const bad = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--eval', path('eval.npy'), '--labels', path('labels-7.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /labels-7\.npy: label 7 at index 3 is not a class index in 0\.\.3/);
  seven[3] = 9223372036854775807n;
  writeFileSync(path('labels-max.npy'), int64Npy(seven));
  const max = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--eval', path('eval.npy'), '--labels', path('labels-max.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.is(max.code, 1);
  assert.match(max.stderr, /labels-max\.npy: value 9223372036854775807 at index 3 is too large/);
  writeFileSync(path('calib-i8.npy'), int64Npy(Array.from({ length: 64 * 8 }, () => 1n)));
  const calib = await prune([path('model.onnx'), '--calib', path('calib-i8.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.is(calib.code, 1);
  assert.match(calib.stderr, /calib-i8\.npy: unsupported dtype '<i8' \(64-bit signed integer\)/);
  assert.not.ok(readdirSync(dir).includes('never.onnx'));
});

test.run();
