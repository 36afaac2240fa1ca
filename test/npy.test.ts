// .npy reading/writing and the atomic writer. Every input file is built here byte by byte from the
// NPY format spec (numpy.lib.format), so the tests need neither fixtures nor Python.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy, readNpyFile, writeNpyFile } from '../src/io/npy.ts';
import { assertNotInput, writeFileAtomic } from '../src/io/atomic.ts';

// ---------------------------------------------------------------------------------------------
// Building .npy bytes by hand.

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

interface BuildOptions {
  major?: number;
  minor?: number;
  /** Overrides the header length field (to lie about it). */
  headerLength?: number;
  /** Leaves the header unpadded (no spaces, no newline). */
  raw?: boolean;
}

/** Preamble + header (padded to 64 bytes with a final newline, as NumPy writes) + data. */
function npy(header: string, data: Uint8Array = new Uint8Array(), options: BuildOptions = {}): Uint8Array {
  const major = options.major ?? 1;
  const lengthSize = major === 1 ? 2 : 4;
  const preambleSize = 8 + lengthSize;
  let text = header;
  if (!options.raw) {
    const unpadded = preambleSize + Buffer.byteLength(header, 'utf8') + 1;
    text += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  }
  const headerBytes = major === 3 ? Buffer.from(text, 'utf8') : Buffer.from(text, 'latin1');
  const out = new Uint8Array(preambleSize + headerBytes.length + data.length);
  out.set(MAGIC);
  out[6] = major;
  out[7] = options.minor ?? 0;
  const view = new DataView(out.buffer);
  const length = options.headerLength ?? headerBytes.length;
  if (lengthSize === 2) view.setUint16(8, length, true);
  else view.setUint32(8, length, true);
  out.set(headerBytes, preambleSize);
  out.set(data, preambleSize + headerBytes.length);
  return out;
}

function dict(descr: string, fortran: boolean, shape: string): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
}

function f4(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function f8(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat64(i * 8, v, true));
  return out;
}

/** Reorders row-major values of `shape` to Fortran order, straight from the definition. */
function toFortran(values: number[], shape: number[]): number[] {
  const out = new Array<number>(values.length);
  values.forEach((value, c) => {
    // Multi-index of row-major offset c, then its column-major offset.
    let rest = c;
    const index = new Array<number>(shape.length);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      index[axis] = rest % shape[axis];
      rest = Math.floor(rest / shape[axis]);
    }
    let f = 0;
    for (let axis = shape.length - 1; axis >= 0; axis--) f = f * shape[axis] + index[axis];
    out[f] = value;
  });
  return out;
}

function refuses(bytes: Uint8Array, ...patterns: (string | RegExp)[]): string {
  let message = '';
  try {
    parseNpy(bytes, 'x.npy');
  } catch (err) {
    message = (err as Error).message;
  }
  assert.ok(message !== '', 'parseNpy should have thrown');
  assert.ok(message.startsWith('x.npy: '), `message should start with the file name: ${message}`);
  for (const pattern of patterns) {
    const found = typeof pattern === 'string' ? message.includes(pattern) : pattern.test(message);
    assert.ok(found, `message ${JSON.stringify(message)} should contain ${pattern}`);
  }
  return message;
}

// ---------------------------------------------------------------------------------------------

const Encode = suite('encodeNpy / parseNpy round trip');

Encode('round trip keeps values bit for bit and the shape', () => {
  const values = new Float32Array(30).map((_, i) => Math.fround(i * 0.37 - 4));
  values[1] = -0;
  values[2] = NaN;
  values[3] = Infinity;
  values[4] = 1.4e-45; // smallest subnormal
  const parsed = parseNpy(encodeNpy(values, [2, 3, 5]), 'a.npy');
  assert.equal(parsed.shape, [2, 3, 5]);
  assert.is(parsed.sourceDtype, '<f4');
  assert.equal(new Uint8Array(parsed.data.buffer), new Uint8Array(values.buffer));
});

Encode('writes a NumPy version 1.0 header padded to 64 bytes and ending in a newline', () => {
  const bytes = encodeNpy(new Float32Array(12), [3, 4]);
  assert.equal(Array.from(bytes.subarray(0, 8)), [...MAGIC, 1, 0]);
  const headerLength = bytes[8] + 256 * bytes[9];
  assert.is((10 + headerLength) % 64, 0);
  const header = Buffer.from(bytes.subarray(10, 10 + headerLength)).toString('latin1');
  assert.ok(header.endsWith('\n'));
  assert.is(header.trimEnd(), "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
  assert.is(bytes.length, 10 + headerLength + 48);
});

Encode('round trips rank 0, rank 1 and empty arrays', () => {
  const scalar = parseNpy(encodeNpy(new Float32Array([7.5]), []), 's.npy');
  assert.equal(scalar.shape, []);
  assert.equal(Array.from(scalar.data), [7.5]);
  const vector = parseNpy(encodeNpy(new Float32Array([1, 2, 3]), [3]), 'v.npy');
  assert.equal(vector.shape, [3]);
  assert.equal(Array.from(vector.data), [1, 2, 3]);
  const empty = parseNpy(encodeNpy(new Float32Array(0), [0, 4]), 'e.npy');
  assert.equal(empty.shape, [0, 4]);
  assert.is(empty.data.length, 0);
});

Encode('encodes a Float32Array view with a byte offset', () => {
  const backing = new Float32Array([9, 1, 2, 3, 4, 9]);
  const view = backing.subarray(1, 5);
  assert.equal(Array.from(parseNpy(encodeNpy(view, [2, 2]), 'v.npy').data), [1, 2, 3, 4]);
});

Encode('refuses a shape that does not match the data', () => {
  assert.throws(() => encodeNpy(new Float32Array(10), [3, 4]), /shape \(3, 4\) holds 12 values but the data has 10/);
  assert.throws(() => encodeNpy(new Float32Array(0), [-1, 0]), /invalid dimension -1/);
  assert.throws(() => encodeNpy(new Float32Array(2), [2.5]), /invalid dimension 2.5/);
});

Encode.run();

// ---------------------------------------------------------------------------------------------

const Accept = suite('parseNpy accepts');

Accept('float64, converted to float32', () => {
  const values = [1 / 3, -2.5, 1e-50, 1e300, 123456789.123];
  const parsed = parseNpy(npy(dict('<f8', false, '(5,)'), f8(values)), 'd.npy');
  assert.is(parsed.sourceDtype, '<f8');
  assert.equal(parsed.shape, [5]);
  assert.equal(Array.from(parsed.data), values.map(Math.fround)); // 1e300 rounds to Infinity
});

Accept('Fortran order, transposed to row-major (2-D)', () => {
  // C order [[1, 2, 3], [4, 5, 6]] is stored column by column: 1 4 2 5 3 6.
  const parsed = parseNpy(npy(dict('<f4', true, '(2, 3)'), f4([1, 4, 2, 5, 3, 6])), 'f.npy');
  assert.equal(parsed.shape, [2, 3]);
  assert.equal(Array.from(parsed.data), [1, 2, 3, 4, 5, 6]);
});

Accept('Fortran order, any rank, float32 and float64', () => {
  for (const shape of [[2, 3, 4], [3, 1, 4, 5], [1, 7], [5]]) {
    const count = shape.reduce((a, b) => a * b, 1);
    const rowMajor = Array.from({ length: count }, (_, i) => i + 0.25);
    const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
    const fromF4 = parseNpy(npy(dict('<f4', true, tuple), f4(toFortran(rowMajor, shape))), 'f.npy');
    assert.equal(fromF4.shape, shape);
    assert.equal(Array.from(fromF4.data), rowMajor);
    const fromF8 = parseNpy(npy(dict('<f8', true, tuple), f8(toFortran(rowMajor, shape))), 'f.npy');
    assert.equal(Array.from(fromF8.data), rowMajor);
  }
});

Accept('format versions 2.0 and 3.0', () => {
  const v2 = parseNpy(npy(dict('<f4', false, '(2,)'), f4([1, 2]), { major: 2 }), 'v2.npy');
  assert.equal(Array.from(v2.data), [1, 2]);
  const v3 = parseNpy(npy(dict('<f8', true, '(2, 2)'), f8([1, 3, 2, 4]), { major: 3 }), 'v3.npy');
  assert.equal(Array.from(v3.data), [1, 2, 3, 4]);
});

Accept('any literal spelling NumPy accepts: quotes, spacing, key order, no trailing comma', () => {
  const headers = [
    `{"descr": "<f4", "fortran_order": False, "shape": (1, 2)}`,
    `{ 'shape' : ( 1 , 2 ) ,\t'fortran_order':False,'descr':'<f4' }`,
  ];
  for (const header of headers) {
    const parsed = parseNpy(npy(header, f4([5, 6])), 'h.npy');
    assert.equal(parsed.shape, [1, 2], header);
    assert.equal(Array.from(parsed.data), [5, 6]);
  }
  // Unpadded header ending in its newline, unaligned data: the format allows it.
  assert.equal(parseNpy(npy(`${dict('<f4', false, '(1,)')}\n`, f4([3]), { raw: true }), 'r.npy').shape, [1]);
});

Accept('bytes at an unaligned offset, and the result never aliases them', () => {
  const file = npy(dict('<f4', false, '(3,)'), f4([1, 2, 3]));
  const backing = new Uint8Array(file.length + 3);
  backing.set(file, 3);
  const bytes = backing.subarray(3);
  const parsed = parseNpy(bytes, 'u.npy');
  assert.equal(Array.from(parsed.data), [1, 2, 3]);
  bytes.fill(0, bytes.length - 12);
  assert.equal(Array.from(parsed.data), [1, 2, 3]);
});

Accept.run();

// ---------------------------------------------------------------------------------------------

const Refuse = suite('parseNpy refuses');

Refuse('files that are not NPY (bad magic, empty, cut in the preamble)', () => {
  refuses(new TextEncoder().encode('hello world, not numpy'), 'not an NPY file: bad magic', 'found 68 65 6c 6c 6f 20');
  refuses(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), 'not an NPY file: bad magic', 'found 89 50 4e 47');
  refuses(new Uint8Array(0), 'not an NPY file: the file is empty');
  refuses(new Uint8Array([...MAGIC, 1]), 'truncated preamble: the file has only 7 bytes');
  refuses(new Uint8Array([...MAGIC, 2, 0, 5, 0]), 'truncated preamble: the file has only 10 bytes, version 2.0 needs 12');
});

Refuse('unsupported format versions', () => {
  refuses(npy(dict('<f4', false, '(1,)'), f4([1]), { major: 4 }), 'unsupported NPY format version 4.0 (supported: 1.0, 2.0, 3.0)');
  refuses(npy(dict('<f4', false, '(1,)'), f4([1]), { minor: 1 }), 'unsupported NPY format version 1.1');
  refuses(npy(dict('<f4', false, '(1,)'), f4([1]), { major: 0 }), 'unsupported NPY format version 0.0');
});

Refuse('a header length beyond the end of the file', () => {
  const bytes = npy(dict('<f4', false, '(1,)'), f4([1]), { headerLength: 1000 });
  refuses(bytes, `header length 1000 goes beyond the end of the file (the header would end at byte 1010, the file has ${bytes.length} bytes)`);
  refuses(npy(dict('<f4', false, '(1,)'), f4([1]), { major: 2, headerLength: 0xffffffff }), 'header length 4294967295 goes beyond');
});

Refuse('malformed headers, with the reason', () => {
  const cases: [string, string][] = [
    ['', 'malformed header: unexpected end of the header'],
    ["['<f4']", 'malformed header: expected a dict'],
    ["{'descr': '<f4', 'shape': (1,)}", "malformed header: missing key 'fortran_order'"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "malformed header: unexpected key 'extra'"],
    ["{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "malformed header: duplicate key 'descr'"],
    ["{1: '<f4'}", 'malformed header: key 1 is not a string'],
    ["{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 'malformed header: expected'],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "malformed header: expected ',' or '}' in the dict, found the end of the header"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", 'malformed header: unexpected text "junk'],
    ["{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "malformed header: expected ',' or '}'"],
    ["{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", "malformed header: expected ':' after the key 'descr'"],
    ["{'descr': __import__('os').system('x'), 'fortran_order': False, 'shape': (1,)}", "malformed header: unexpected name '__import__'"],
    ["{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", 'malformed header: escape sequences in header strings are not supported'],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "malformed header: 'fortran_order' must be True or False, found 0"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "malformed header: 'shape' must be a tuple of integers, found 1"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "malformed header: 'shape' must be a tuple of integers, found [1]"],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (0x10,)}", 'malformed header: invalid number "0x10,)'],
    ["{'descr': 4, 'fortran_order': False, 'shape': (1,)}", "malformed header: 'descr' must be a string, found 4"],
    [`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(5000)}`, 'malformed header: nested more than 16 levels deep'],
  ];
  for (const [header, expected] of cases) refuses(npy(header, f4([1])), expected);
  refuses(npy(dict('<f4', false, '(1,)'), f4([1]), { major: 3 }).map((b, i) => (i === 20 ? 0xff : b)), 'not valid UTF-8');
});

Refuse('big-endian floats', () => {
  refuses(npy(dict('>f4', false, '(1,)'), f4([1])), "big-endian dtype '>f4' is not supported", "a.astype('<f4')");
  refuses(npy(dict('>f8', false, '(1,)'), f8([1])), "big-endian dtype '>f8' is not supported");
});

Refuse('every other dtype, naming it', () => {
  const cases: [string, string][] = [
    ['<i8', "unsupported dtype '<i8' (64-bit signed integer)"],
    ['<u2', "unsupported dtype '<u2' (16-bit unsigned integer)"],
    ['|b1', "unsupported dtype '|b1' (bool)"],
    ['|O', "unsupported dtype '|O' (Python object)"],
    ['<c16', "unsupported dtype '<c16' (128-bit complex)"],
    ['<f2', "unsupported dtype '<f2' (16-bit float)"],
    ['>i4', "unsupported dtype '>i4' (big-endian 32-bit signed integer)"],
    ['<U3', "unsupported dtype '<U3' (unicode string)"],
    ['float32', "unsupported dtype 'float32'"],
  ];
  for (const [descr, expected] of cases) {
    refuses(npy(dict(descr, false, '(1,)'), new Uint8Array(16)), expected, "only little-endian '<f4' (float32) and '<f8' (float64)");
  }
  refuses(npy("{'descr': [('a', '<f4'), ('b', '<f8')], 'fortran_order': False, 'shape': (1,)}", new Uint8Array(12)), 'structured array');
});

Refuse('negative and non-integer dimensions', () => {
  refuses(npy(dict('<f4', false, '(-3, 4)'), f4([])), 'negative dimension -3 in shape (-3, 4)');
  refuses(npy(dict('<f4', false, '(3.5, 2)'), f4([])), 'non-integer dimension 3.5 in shape (3.5, 2)');
  refuses(npy(dict('<f4', false, '(2.0,)'), f4([1, 2])), 'non-integer dimension 2.0 in shape (2.0,)');
  refuses(npy(dict('<f4', false, '(True,)'), f4([1])), 'non-integer dimension True');
  refuses(npy(dict('<f4', false, "('2',)"), f4([1, 2])), "non-integer dimension '2'");
});

Refuse('truncated data, with the expected and found sizes', () => {
  refuses(npy(dict('<f4', false, '(3, 4)'), new Uint8Array(20)), 'x.npy: truncated data: expected 48 bytes after the header, found 20 (shape (3, 4), <f4)');
  refuses(npy(dict('<f8', true, '(3,)'), new Uint8Array(0)), 'truncated data: expected 24 bytes after the header, found 0');
});

Refuse('bytes after the data', () => {
  refuses(npy(dict('<f4', false, '(2,)'), new Uint8Array(9)), '1 unexpected bytes after the data: expected 8 bytes after the header, found 9');
});

Refuse('hostile shapes, before allocating anything', () => {
  const RealFloat32Array = globalThis.Float32Array;
  let allocations = 0;
  class CountingFloat32Array extends RealFloat32Array {
    constructor(...args: ConstructorParameters<Float32ArrayConstructor>) {
      super(...args);
      allocations++;
    }
  }
  globalThis.Float32Array = CountingFloat32Array as Float32ArrayConstructor;
  try {
    refuses(npy(dict('<f4', false, '(1099511627776, 1099511627776)'), f4([1])), 'shape (1099511627776, 1099511627776) is too large', '4835703278458516698824704 bytes');
    refuses(npy(dict('<f8', false, '(4611686018427387904, 4)'), f8([1])), 'is too large');
    refuses(npy(dict('<f4', false, `(0, ${'9'.repeat(40)})`), new Uint8Array(0)), 'is too large');
    refuses(npy(dict('<f4', false, '(1000000000, 1000)'), f4([1])), 'truncated data: expected 4000000000000 bytes after the header, found 4');
    assert.is(allocations, 0);
    parseNpy(npy(dict('<f4', false, '(1,)'), f4([1])), 'ok.npy');
    assert.ok(allocations > 0, 'the counter sees a real allocation');
  } finally {
    globalThis.Float32Array = RealFloat32Array;
  }
});

Refuse.run();

// ---------------------------------------------------------------------------------------------

const Files = suite('readNpyFile / writeNpyFile / writeFileAtomic');
let dir = '';
Files.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'nettrim-npy-'));
});
Files.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

Files('writeNpyFile then readNpyFile', async () => {
  const path = join(dir, 'w.npy');
  await writeNpyFile(path, new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  const parsed = await readNpyFile(path);
  assert.equal(parsed.shape, [3, 2]);
  assert.equal(Array.from(parsed.data), [1, 2, 3, 4, 5, 6]);
  assert.equal(readdirSync(dir), ['w.npy']);
});

Files('readNpyFile names the path: missing file, directory, bad content', async () => {
  const missing = join(dir, 'missing.npy');
  const message = async (path: string) => readNpyFile(path).then(() => '', (err: Error) => err.message);
  assert.is(await message(missing), `${missing}: cannot read a .npy file: no such file`);
  assert.is(await message(dir), `${dir}: a .npy file must be a regular file, but this is a directory`);
  const text = join(dir, 'text.npy');
  writeFileSync(text, 'a,b\n1,2\n');
  assert.ok((await message(text)).startsWith(`${text}: not an NPY file: bad magic`));
});

Files('writeFileAtomic replaces the target and leaves no temporary file', async () => {
  const path = join(dir, 'out.txt');
  writeFileSync(path, 'old');
  await writeFileAtomic(path, 'new');
  assert.is(readFileSync(path, 'utf8'), 'new');
  await writeFileAtomic(path, new Uint8Array([65, 66]));
  assert.is(readFileSync(path, 'utf8'), 'AB');
  assert.equal(readdirSync(dir), ['out.txt']);
});

Files('a nonexistent directory: clear error, nothing left behind', async () => {
  const path = join(dir, 'no', 'such', 'out.npy');
  const error = await writeNpyFile(path, new Float32Array(1), [1]).then(() => undefined, (err: Error) => err);
  assert.ok(error);
  assert.is(error.message, `${path}: cannot write: directory ${join(dir, 'no', 'such')} does not exist`);
  assert.equal(readdirSync(dir), []);
});

Files('a failure after the temporary file exists: removed, original target intact', async () => {
  const path = join(dir, 'keep.npy');
  writeFileSync(path, 'original');
  // Not bytes: writing fails once the temporary file is open.
  const error = await writeFileAtomic(path, 42 as unknown as string).then(() => undefined, (err: Error) => err);
  assert.ok(error);
  assert.ok(error.message.startsWith(`${path}: cannot write:`), error.message);
  assert.is(readFileSync(path, 'utf8'), 'original');
  assert.equal(readdirSync(dir), ['keep.npy']);
});

Files('a directory as target: refused, directory and its content intact', async () => {
  const target = join(dir, 'sub');
  mkdirSync(target);
  writeFileSync(join(target, 'inside'), 'x');
  const error = await writeFileAtomic(target, 'data').then(() => undefined, (err: Error) => err);
  assert.ok(error);
  assert.ok(error.message.startsWith(`${target}: cannot write:`), error.message);
  assert.ok(statSync(target).isDirectory());
  assert.equal(readdirSync(target), ['inside']);
  assert.equal(readdirSync(dir), ['sub']);
});

Files('keeps the permission bits of the file it replaces, writes through symlinks', async () => {
  if (process.platform === 'win32') return;
  const real = join(dir, 'real.npy');
  writeFileSync(real, 'old');
  chmodSync(real, 0o640);
  const link = join(dir, 'link.npy');
  symlinkSync(real, link);
  await writeFileAtomic(link, 'new');
  assert.is(readFileSync(real, 'utf8'), 'new');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.is(statSync(real).mode & 0o777, 0o640);
});

Files('assertNotInput: same path, relative spelling, symlink and hard link are refused', () => {
  const input = join(dir, 'x.npy');
  writeFileSync(input, 'input');
  const hard = join(dir, 'hard.npy');
  linkSync(input, hard);
  const soft = join(dir, 'soft.npy');
  symlinkSync(input, soft);
  const spellings = [input, join(dir, '.', 'x.npy'), join(dir, 'sub', '..', 'x.npy'), hard, soft];
  for (const out of spellings) {
    assert.throws(() => assertNotInput(out, [join(dir, 'other.npy'), input]), (err: Error) =>
      err.message === `refusing to write ${out}: it is the same file as the input ${input}`);
  }
  assertNotInput(join(dir, 'new.npy'), [input]); // a new file is never an input
  writeFileSync(join(dir, 'other.npy'), 'other');
  assertNotInput(join(dir, 'other.npy'), [input]);
});

Files('writeNpyFile with inputs never overwrites an input', async () => {
  const input = join(dir, 'x.npy');
  writeFileSync(input, 'input');
  const error = await writeNpyFile(input, new Float32Array(1), [1], [input]).then(() => undefined, (err: Error) => err);
  assert.ok(error);
  assert.match(error.message, 'it is the same file as the input');
  assert.is(readFileSync(input, 'utf8'), 'input');
  assert.equal(readdirSync(dir), ['x.npy']);
});

Files.run();
