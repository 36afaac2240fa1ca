// NumPy .npy files in and out (format: numpy.lib.format, versions 1.0, 2.0, 3.0), float32 for the
// solver. Hand-written rather than npyjs: npyjs finds the header fields with regular expressions,
// reads data without checking its length, ignores the byte order and leaves Fortran-ordered data
// as is; here every field is validated and the caller always gets row-major float32.

import { InputError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { clip, listText } from './format.ts';
import { RegularFile } from './read.ts';

/** The float dtypes always accepted: little-endian float32 and float64. */
export type NpyFloatDtype = '<f4' | '<f8';
/** Integer dtypes, accepted only when asked for (class labels): '|i1' and '|u1' as NumPy writes them. */
export type NpyIntegerDtype = '|i1' | '|u1' | '<i2' | '<u2' | '<i4' | '<u4' | '<i8' | '<u8';
export type NpyDtype = NpyFloatDtype | NpyIntegerDtype;

/** A parsed array: row-major (C order) float32 values, whatever the file's order and dtype. */
export interface NpyArray {
  data: Float32Array;
  shape: number[];
  sourceDtype: NpyDtype;
}

export interface NpyReadOptions {
  /**
   * Also accept little-endian integer arrays (int8 to int64, uint8 to uint64), as class labels are
   * saved; their values must be integers float32 holds exactly (|v| <= 2**24).
   */
  integers?: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** NumPy pads the header so the data starts on a 64-byte boundary (memory-mapping friendly). */
const ARRAY_ALIGN = 64;
const ITEM_SIZE: Record<NpyDtype, number> = {
  '<f4': 4, '<f8': 8, '|i1': 1, '|u1': 1, '<i2': 2, '<u2': 2, '<i4': 4, '<u4': 4, '<i8': 8, '<u8': 8,
};
const INTEGER_DTYPES: ReadonlySet<string> = new Set(['|i1', '|u1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8']);
/** NumPy writes '|i1' for int8; '<i1' and '=i1' mean the same and are seen in the wild. */
const INTEGER_ALIASES: Readonly<Record<string, NpyIntegerDtype>> = { '<i1': '|i1', '<u1': '|u1', '=i1': '|i1', '=u1': '|u1', '|b1': '|u1' };
const ACCEPTED = `only little-endian '<f4' (float32) and '<f8' (float64) are accepted`;
const ACCEPTED_INTEGERS = `accepted: little-endian float32, float64 and int8 to int64, uint8 to uint64`;
/** Largest integer float32 holds exactly: labels beyond it cannot be class indices anyway. */
const EXACT_FLOAT32 = 2 ** 24;
/** Node buffers and wasm32 memories stop at 4 GiB: larger data is refused before it is read. */
const MAX_DATA_BYTES = 2 ** 32 - 1;
/** Real headers are a few hundred bytes; NumPy itself refuses more than 10,000 by default. */
const MAX_HEADER_BYTES = 1 << 20;
/** Hostile headers could nest brackets deep enough to overflow the stack; real ones nest 2 deep. */
const MAX_NESTING = 16;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A problem with the bytes; parseNpy prefixes the file name. */
class NpyProblem extends Error {}

/**
 * Parses the bytes of a .npy file. `name` (usually the path) starts every error message.
 * Refuses anything but an exactly sized little-endian float32/float64 array of any rank.
 */
export function parseNpy(bytes: Uint8Array, name: string, options: NpyReadOptions = {}): NpyArray {
  try {
    const preamble = readPreamble(bytes, bytes.length);
    const header = parseHeader(decodeHeader(bytes, preamble), options);
    const count = checkDataLength(header, bytes.length - preamble.dataStart);
    return toArray(header, decodeValues(bytes, preamble.dataStart, count, header.descr));
  } catch (err) {
    if (err instanceof NpyProblem) throw new InputError(`${name}: ${err.message}`);
    throw err;
  }
}

/**
 * Reads and parses a .npy file; every error is an InputError naming the path. Only a regular file
 * is read, and its size is checked against the header before the data is read: a device, a FIFO
 * or a file larger than its header says is refused at once.
 */
export async function readNpyFile(path: string, options: NpyReadOptions = {}): Promise<NpyArray> {
  const file = await RegularFile.open(path, 'a .npy file');
  try {
    if (file.size === 0) throw new NpyProblem('not an NPY file: the file is empty');
    const preamble = readPreamble(await file.read(0, Math.min(file.size, 12)), file.size);
    const header = parseHeader(decodeHeader(await file.read(0, preamble.dataStart), preamble), options);
    const count = checkDataLength(header, file.size - preamble.dataStart);
    const data = await file.read(preamble.dataStart, file.size - preamble.dataStart);
    return toArray(header, decodeValues(data, 0, count, header.descr));
  } catch (err) {
    if (err instanceof NpyProblem) throw new InputError(`${path}: ${err.message}`);
    throw err;
  } finally {
    await file.close();
  }
}

function toArray(header: Header, values: Float32Array): NpyArray {
  const shape = header.dims.map(Number);
  return { data: header.fortranOrder ? fortranToRowMajor(values, shape) : values, shape, sourceDtype: header.descr };
}

/** Encodes row-major float32 data as a version 1.0 '<f4' .npy file, as numpy.save writes it. */
export function encodeNpy(data: Float32Array, shape: number[]): Uint8Array<ArrayBuffer> {
  checkShapeHolds(data.length, shape);
  const header = paddedHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': ${pythonTuple(shape)}, }`);
  if (header.length > 0xffff) {
    throw new Error(`encodeNpy: header of ${header.length} bytes does not fit a version 1.0 file`);
  }
  const dataStart = 10 + header.length;
  const out = new Uint8Array(dataStart + data.byteLength);
  out.set(MAGIC);
  out[6] = 1; // version 1.0
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart);
  } else {
    const view = new DataView(out.buffer, dataStart);
    for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  }
  return out;
}

/** Writes a .npy file atomically (never a partial file); refuses to overwrite any of `inputs`. */
export async function writeNpyFile(
  path: string,
  data: Float32Array,
  shape: number[],
  inputs: readonly string[] = [],
): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape), inputs);
}

// ---------------------------------------------------------------------------------------------
// Preamble: magic, version, header length.

interface Preamble {
  major: number;
  headerStart: number;
  dataStart: number;
}

/** `bytes` holds at least the first 12 bytes of a file of `fileSize` bytes (or all of a shorter one). */
function readPreamble(bytes: Uint8Array, fileSize: number): Preamble {
  if (fileSize === 0) throw new NpyProblem('not an NPY file: the file is empty');
  const head = Array.from(bytes.subarray(0, MAGIC.length));
  if (head.length < MAGIC.length || head.some((b, i) => b !== MAGIC[i])) {
    throw new NpyProblem(`not an NPY file: bad magic (expected bytes ${hex(MAGIC)}, "\\x93NUMPY"; found ${hex(head)})`);
  }
  if (fileSize < 8) throw new NpyProblem(`truncated preamble: the file has only ${fileSize} bytes`);
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0) {
    throw new NpyProblem(`unsupported NPY format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  // Version 1.0 stores the header length on 2 bytes, 2.0 and 3.0 on 4 (all little-endian).
  const lengthSize = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthSize;
  if (fileSize < headerStart) {
    throw new NpyProblem(`truncated preamble: the file has only ${fileSize} bytes, version ${major}.0 needs ${headerStart}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = lengthSize === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLength;
  if (dataStart > fileSize) {
    throw new NpyProblem(
      `header length ${headerLength} goes beyond the end of the file (the header would end at byte ${dataStart}, the file has ${fileSize} bytes)`,
    );
  }
  if (headerLength > MAX_HEADER_BYTES) {
    throw new NpyProblem(`header length ${headerLength} bytes is more than any real header needs (${MAX_HEADER_BYTES} at most)`);
  }
  return { major, headerStart, dataStart };
}

/** Versions 1.0 and 2.0 encode the header in latin-1, 3.0 in UTF-8. */
function decodeHeader(bytes: Uint8Array, preamble: Preamble): string {
  const raw = bytes.subarray(preamble.headerStart, preamble.dataStart);
  if (preamble.major === 3) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new NpyProblem('malformed header: not valid UTF-8 (required by format version 3.0)');
    }
  }
  let text = '';
  for (let i = 0; i < raw.length; i += 8192) {
    text += String.fromCharCode(...raw.subarray(i, i + 8192));
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
// NumPy reads it with ast.literal_eval; this parser accepts the same literal syntax for the values
// a header may hold (strings, True/False/None, integers, tuples, lists, dicts) and nothing else.

type PyValue =
  | { kind: 'str'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' }
  | { kind: 'int'; value: bigint; text: string }
  | { kind: 'float'; text: string }
  | { kind: 'tuple'; items: PyValue[] }
  | { kind: 'list'; items: PyValue[] }
  | { kind: 'dict'; entries: [PyValue, PyValue][] };

interface Header {
  descr: NpyDtype;
  fortranOrder: boolean;
  dims: bigint[];
}

function parseHeader(text: string, options: NpyReadOptions): Header {
  // The format: the dict is "terminated by a newline (\n) and padded with spaces".
  if (!text.endsWith('\n')) throw new NpyProblem('malformed header: it must end with a newline, as the NPY format requires');
  const dict = new LiteralParser(text).parseDocument();
  if (dict.kind !== 'dict') throw new NpyProblem(`malformed header: expected a dict, found ${render(dict)}`);
  const fields = headerFields(dict);
  return {
    descr: checkDescr(fields.get('descr')!, options),
    fortranOrder: checkFortranOrder(fields.get('fortran_order')!),
    dims: checkShape(fields.get('shape')!),
  };
}

/** The dict must have exactly the keys descr, fortran_order and shape, as NumPy requires. */
function headerFields(dict: { entries: [PyValue, PyValue][] }): Map<string, PyValue> {
  const fields = new Map<string, PyValue>();
  for (const [key, value] of dict.entries) {
    if (key.kind !== 'str') throw new NpyProblem(`malformed header: key ${render(key)} is not a string`);
    if (fields.has(key.value)) throw new NpyProblem(`malformed header: duplicate key '${key.value}'`);
    if (!['descr', 'fortran_order', 'shape'].includes(key.value)) {
      throw new NpyProblem(`malformed header: unexpected key '${key.value}'`);
    }
    fields.set(key.value, value);
  }
  for (const required of ['descr', 'fortran_order', 'shape']) {
    if (!fields.has(required)) throw new NpyProblem(`malformed header: missing key '${required}'`);
  }
  return fields;
}

function checkDescr(descr: PyValue, options: NpyReadOptions): NpyDtype {
  const accepted = options.integers ? ACCEPTED_INTEGERS : ACCEPTED;
  if (descr.kind === 'list') {
    throw new NpyProblem(`unsupported dtype: structured array (descr is a list of fields); ${accepted}`);
  }
  if (descr.kind !== 'str') throw new NpyProblem(`malformed header: 'descr' must be a string, found ${render(descr)}`);
  const text = descr.value;
  if (text === '<f4' || text === '<f8') return text;
  if (options.integers) {
    if (INTEGER_DTYPES.has(text)) return text as NpyIntegerDtype;
    if (text !== '|b1' && INTEGER_ALIASES[text]) return INTEGER_ALIASES[text];
  }
  if (text === '>f4' || text === '>f8' || (options.integers && /^>[iu][248]$/.test(text))) {
    throw new NpyProblem(`big-endian dtype '${text}' is not supported; ${accepted} (convert with a.astype('<${text.slice(1)}'))`);
  }
  throw new NpyProblem(`unsupported dtype '${clip(text)}'${describeDtype(text)}; ${accepted}`);
}

const KIND_NAMES: Record<string, string> = {
  b: 'bool', i: 'signed integer', u: 'unsigned integer', f: 'float', c: 'complex',
  O: 'Python object', S: 'byte string', a: 'byte string', U: 'unicode string', V: 'raw bytes',
  M: 'datetime', m: 'timedelta',
};

/** " (big-endian 64-bit signed integer)" for '>i8': says in words what the file holds. */
function describeDtype(descr: string): string {
  const match = /^([<>|=]?)([A-Za-z])(\d*)/.exec(descr);
  const kind = match ? KIND_NAMES[match[2]] : undefined;
  if (!match || kind === undefined) return '';
  const order = match[1] === '>' ? 'big-endian ' : '';
  const bits = match[3] !== '' && 'iufc'.includes(match[2]) ? `${Number(match[3]) * 8}-bit ` : '';
  return ` (${order}${bits}${kind})`;
}

function checkFortranOrder(value: PyValue): boolean {
  if (value.kind !== 'bool') {
    throw new NpyProblem(`malformed header: 'fortran_order' must be True or False, found ${render(value)}`);
  }
  return value.value;
}

function checkShape(shape: PyValue): bigint[] {
  if (shape.kind !== 'tuple') {
    throw new NpyProblem(`malformed header: 'shape' must be a tuple of integers, found ${render(shape)}`);
  }
  return shape.items.map((item) => {
    if (item.kind === 'int') {
      if (item.value < 0n) throw new NpyProblem(`negative dimension ${item.text} in shape ${render(shape)}`);
      return item.value;
    }
    throw new NpyProblem(`non-integer dimension ${render(item)} in shape ${render(shape)}`);
  });
}

/** Python-like text of a header value, for error messages. */
function render(value: PyValue): string {
  switch (value.kind) {
    case 'str': return `'${value.value}'`;
    case 'bool': return value.value ? 'True' : 'False';
    case 'none': return 'None';
    case 'int': case 'float': return value.text;
    case 'str': return `'${clip(value.value)}'`;
    case 'tuple': return value.items.length === 1 ? `(${render(value.items[0])},)` : `(${listText(value.items.map(render))})`;
    case 'list': return `[${listText(value.items.map(render))}]`;
    case 'dict': return `{${listText(value.entries.map(([k, v]) => `${render(k)}: ${render(v)}`))}}`;
  }
}

/** A recursive-descent reader of the Python literal subset above; never evaluates anything. */
class LiteralParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): PyValue {
    const value = this.parseValue(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`unexpected text ${this.excerpt()} after the dict`);
    return value;
  }

  private parseValue(depth: number): PyValue {
    if (depth > MAX_NESTING) this.fail(`nested more than ${MAX_NESTING} levels deep`);
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === undefined) this.fail('unexpected end of the header');
    if (ch === '{') return this.parseDict(depth);
    if (ch === '(') return this.parseTuple(depth);
    if (ch === '[') return { kind: 'list', items: this.parseItems(']', depth).items };
    if (ch === "'" || ch === '"') return this.parseString(ch);
    if (/[-+.0-9]/.test(ch)) return this.parseNumber();
    if (/[A-Za-z_]/.test(ch)) return this.parseName();
    return this.fail(`unexpected character ${this.excerpt()}`);
  }

  private parseDict(depth: number): PyValue {
    this.pos++; // '{'
    const entries: [PyValue, PyValue][] = [];
    for (;;) {
      this.skipSpace();
      if (this.eat('}')) return { kind: 'dict', entries };
      const key = this.parseValue(depth + 1);
      this.skipSpace();
      if (!this.eat(':')) this.fail(`expected ':' after the key ${render(key)}, found ${this.excerpt()}`);
      entries.push([key, this.parseValue(depth + 1)]);
      this.skipSpace();
      if (this.eat('}')) return { kind: 'dict', entries };
      if (!this.eat(',')) this.fail(`expected ',' or '}' in the dict, found ${this.excerpt()}`);
    }
  }

  /** Python reads "(5)" as the number 5 and "(5,)" as a tuple: keep that difference. */
  private parseTuple(depth: number): PyValue {
    const { items, trailingComma } = this.parseItems(')', depth);
    if (items.length === 1 && !trailingComma) return items[0];
    return { kind: 'tuple', items };
  }

  private parseItems(close: string, depth: number): { items: PyValue[]; trailingComma: boolean } {
    this.pos++; // opening bracket
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.eat(close)) return { items, trailingComma: items.length > 0 };
      items.push(this.parseValue(depth + 1));
      this.skipSpace();
      if (this.eat(close)) return { items, trailingComma: false };
      if (!this.eat(',')) this.fail(`expected ',' or '${close}', found ${this.excerpt()}`);
    }
  }

  /** Header strings are plain dtype codes and key names: escapes are refused, not interpreted. */
  private parseString(quote: string): PyValue {
    const start = ++this.pos;
    for (; this.pos < this.text.length; this.pos++) {
      const ch = this.text[this.pos];
      if (ch === quote) return { kind: 'str', value: this.text.slice(start, this.pos++) };
      if (ch === '\\') this.fail('escape sequences in header strings are not supported');
      if (ch === '\n' || ch === '\r') break;
    }
    return this.fail(`unterminated string starting at offset ${start - 1}`);
  }

  private parseNumber(): PyValue {
    // Integers and decimal floats; anything else (the 'L' suffix of Python 2 included) is refused.
    const match = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])/y;
    match.lastIndex = this.pos;
    const found = match.exec(this.text);
    if (!found) this.fail(`invalid number ${this.excerpt()}`);
    const text = found[0];
    this.pos += text.length;
    if (/^[-+]?\d+$/.test(text)) return { kind: 'int', value: BigInt(text), text: clip(text, 40) };
    return { kind: 'float', text };
  }

  private parseName(): PyValue {
    const match = /[A-Za-z_]\w*/y;
    match.lastIndex = this.pos;
    const name = match.exec(this.text)![0];
    this.pos += name.length;
    if (name === 'True' || name === 'False') return { kind: 'bool', value: name === 'True' };
    if (name === 'None') return { kind: 'none' };
    return this.fail(`unexpected name '${name}' (only True, False and None are literals)`);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && ' \t\n\r\f'.includes(this.text[this.pos])) this.pos++;
  }

  private eat(ch: string): boolean {
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  private excerpt(): string {
    if (this.pos >= this.text.length) return 'the end of the header';
    return `${JSON.stringify(this.text.slice(this.pos, this.pos + 12))} at offset ${this.pos}`;
  }

  private fail(problem: string): never {
    throw new NpyProblem(`malformed header: ${problem}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Data.

/**
 * Checks the data length against the shape with exact (BigInt) arithmetic, before anything is
 * allocated: a hostile shape such as (2**40, 2**40) must not reach an allocation. Returns the count.
 */
function checkDataLength(header: Header, found: number): number {
  const itemSize = ITEM_SIZE[header.descr];
  const shapeText = `(${listText(header.dims)}${header.dims.length === 1 ? ',' : ''})`;
  const count = header.dims.reduce((product, dim) => product * dim, 1n);
  const expected = count * BigInt(itemSize);
  const tooLarge = header.dims.find((dim) => dim > BigInt(Number.MAX_SAFE_INTEGER));
  if (expected > BigInt(Number.MAX_SAFE_INTEGER) || tooLarge !== undefined) {
    throw new NpyProblem(
      `shape ${shapeText} is too large: it describes ${count} values (${expected} bytes of ${header.descr} data), the file has ${found} bytes after the header`,
    );
  }
  if (expected > BigInt(found)) {
    throw new NpyProblem(`truncated data: expected ${expected} bytes after the header, found ${found} (shape ${shapeText}, ${header.descr})`);
  }
  if (expected > BigInt(MAX_DATA_BYTES)) {
    throw new NpyProblem(`shape ${shapeText} holds ${expected} bytes of ${header.descr} data, more than the ${MAX_DATA_BYTES} nettrim can read (4 GiB)`);
  }
  if (expected < BigInt(found)) {
    throw new NpyProblem(
      `${BigInt(found) - expected} unexpected bytes after the data: expected ${expected} bytes after the header, found ${found} (shape ${shapeText}, ${header.descr})`,
    );
  }
  return Number(count);
}

/** Copies the values out (the result never aliases the file's buffer) as float32. */
function decodeValues(bytes: Uint8Array, start: number, count: number, descr: NpyDtype): Float32Array {
  const out = new Float32Array(count);
  if (descr === '<f4' && HOST_LITTLE_ENDIAN) {
    // One byte copy; also fixes alignment, which the file's data offset does not guarantee.
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + count * 4));
    return out;
  }
  // float64 (rounded to nearest float32, as numpy's astype does), integers, or a big-endian host.
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * ITEM_SIZE[descr]);
  if (descr === '<f4') for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  else if (descr === '<f8') for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  else decodeIntegers(view, count, descr, out);
  return out;
}

/** Integer values into float32, refusing those float32 cannot hold exactly (printed exactly). */
function decodeIntegers(view: DataView, count: number, descr: NpyIntegerDtype, out: Float32Array): void {
  const size = ITEM_SIZE[descr];
  const signed = descr[1] === 'i';
  for (let i = 0; i < count; i++) {
    const at = i * size;
    const v: number | bigint =
      size === 1 ? (signed ? view.getInt8(at) : view.getUint8(at))
      : size === 2 ? (signed ? view.getInt16(at, true) : view.getUint16(at, true))
      : size === 4 ? (signed ? view.getInt32(at, true) : view.getUint32(at, true))
      : signed ? view.getBigInt64(at, true) : view.getBigUint64(at, true);
    if (Number(v) > EXACT_FLOAT32 || Number(v) < -EXACT_FLOAT32) {
      throw new NpyProblem(`value ${v} at index ${i} is too large to convert: integers are read as float32, which holds them exactly up to ${EXACT_FLOAT32}`);
    }
    out[i] = Number(v);
  }
}

/** Reorders column-major (Fortran) values to row-major, for any rank. */
function fortranToRowMajor(values: Float32Array, shape: number[]): Float32Array {
  const rank = shape.length;
  if (rank < 2 || values.length === 0) return values; // the two orders coincide
  const rowMajorStrides = new Array<number>(rank);
  for (let axis = rank - 1, stride = 1; axis >= 0; axis--) {
    rowMajorStrides[axis] = stride;
    stride *= shape[axis];
  }
  const index = new Array<number>(rank).fill(0);
  const out = new Float32Array(values.length);
  let target = 0;
  for (let k = 0; k < values.length; k++) {
    out[target] = values[k];
    // Advance the multi-index in Fortran order (first axis fastest), tracking the row-major offset.
    for (let axis = 0; axis < rank; axis++) {
      index[axis]++;
      target += rowMajorStrides[axis];
      if (index[axis] < shape[axis]) break;
      target -= rowMajorStrides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function checkShapeHolds(length: number, shape: number[]): void {
  const bad = shape.find((dim) => !Number.isSafeInteger(dim) || dim < 0);
  if (bad !== undefined) throw new Error(`encodeNpy: invalid dimension ${bad} in shape ${pythonTuple(shape)}`);
  const count = shape.reduce((product, dim) => product * dim, 1);
  if (count !== length) {
    throw new Error(`encodeNpy: shape ${pythonTuple(shape)} holds ${count} values but the data has ${length}`);
  }
}

/** "(3, 4)", "(5,)" or "()", as Python writes tuples. */
function pythonTuple(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Pads the dict with spaces and a final newline so that the data starts 64-byte aligned. */
function paddedHeader(dict: string): string {
  const unpadded = 10 + dict.length + 1; // preamble, dict, newline
  const padding = (ARRAY_ALIGN - (unpadded % ARRAY_ALIGN)) % ARRAY_ALIGN;
  return dict + ' '.repeat(padding) + '\n';
}

function hex(bytes: number[]): string {
  return bytes.length === 0 ? 'none' : bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
