// A small builder of ONNX models with the official schema: tests and examples use it to make
// graphs (Gemm, MatMul+Add, Conv, ...) without a Python toolchain.
import { FLOAT, onnx, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.ts';

/** An attribute value: integers become INT, other numbers FLOAT; `{ f }` forces FLOAT. */
export type AttributeValue = number | number[] | string | { f: number };

/** A dimension: a fixed size, or a symbolic name such as 'batch'. */
export type Dim = number | string;

export interface ModelOptions {
  opset?: number;
  irVersion?: number;
  producerName?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];

  constructor(private readonly name = 'graph') {}

  /** A float32 graph input. */
  input(name: string, dims: Dim[]): this {
    this.inputs.push(valueInfo(name, dims));
    return this;
  }

  /** A float32 graph output; `dims` may be omitted (the runtime infers it). */
  output(name: string, dims?: Dim[]): this {
    this.outputs.push(dims ? valueInfo(name, dims) : { name, type: { tensorType: { elemType: FLOAT } } });
    return this;
  }

  /** A float32 initializer stored as raw_data (or as float_data when `asFloatData`). */
  initializer(name: string, dims: number[], values: ArrayLike<number>, asFloatData = false): this {
    const data = Float32Array.from(values);
    const tensor: TensorProto = { name, dims, dataType: FLOAT };
    if (asFloatData) tensor.floatData = Array.from(data);
    else tensor.rawData = new Uint8Array(data.buffer);
    this.initializers.push(tensor);
    return this;
  }

  node(opType: string, input: string[], output: string[], attributes: Record<string, AttributeValue> = {}, name = ''): this {
    const attribute = Object.entries(attributes).map(([key, value]) => toAttribute(key, value));
    this.nodes.push({ opType, input, output, attribute, name });
    return this;
  }

  /** The encoded model. */
  toBytes(options: ModelOptions = {}): Uint8Array {
    const metadataProps = Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value }));
    return onnx.ModelProto.encode({
      irVersion: options.irVersion ?? 8,
      producerName: options.producerName ?? 'nettrim-builder',
      docString: options.docString ?? '',
      opsetImport: [{ domain: '', version: options.opset ?? 13 }],
      metadataProps,
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    }).finish();
  }
}

function valueInfo(name: string, dims: Dim[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

function toAttribute(name: string, value: AttributeValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    return value.every(Number.isInteger) ? { name, type: T.INTS, ints: value } : { name, type: T.FLOATS, floats: value };
  }
  if (typeof value === 'object') return { name, type: T.FLOAT, f: value.f };
  return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
}
