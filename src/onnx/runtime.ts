// The one module that talks to onnxruntime: sessions from model bytes, batched runs.
// onnxruntime-node is an optional peer dependency, loaded on first use with a clear message.
import type * as Ort from 'onnxruntime-node';
import { InputError, runtimeMessage } from '../errors.ts';
import { sliceSamples, type Feeds, type TensorData } from './inputs.ts';

/** A float32 result tensor. */
export interface RuntimeTensor {
  data: Float32Array;
  dims: number[];
}

export type RunResult = Map<string, RuntimeTensor>;

/** A loaded model: run batches of samples, read named tensors back. */
export class ModelSession {
  private constructor(private readonly ort: typeof Ort, private readonly session: Ort.InferenceSession, readonly source: string) {}

  /** Loads model bytes; a runtime refusal becomes an InputError naming `source`. */
  static async create(bytes: Uint8Array, source: string): Promise<ModelSession> {
    const ort = await loadRuntime();
    try {
      // logSeverityLevel 4: fatal only. Errors come back as exceptions, mapped below; at level 3
      // onnxruntime would also print its own coloured "[E:onnxruntime:...]" lines on stderr.
      const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4, graphOptimizationLevel: 'all' });
      return new ModelSession(ort, session, source);
    } catch (err) {
      throw new InputError(`${source}: onnxruntime cannot load the model: ${runtimeMessage(err)}`, { cause: err });
    }
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs one batch; returns the requested outputs (all by default) as float32. */
  async run(feeds: ReadonlyMap<string, TensorData>, outputs: readonly string[] = this.session.outputNames): Promise<RunResult> {
    const input: Record<string, Ort.Tensor> = {};
    for (const [name, t] of feeds) input[name] = new this.ort.Tensor('float32', t.data.slice(), t.shape);
    let raw: Ort.InferenceSession.ReturnType;
    try {
      raw = await this.session.run(input, [...outputs], { logSeverityLevel: 4 });
    } catch (err) {
      throw new InputError(`${this.source}: onnxruntime failed to run the model: ${runtimeMessage(err)}`, { cause: err });
    }
    const result: RunResult = new Map();
    for (const name of outputs) {
      const t = raw[name]!;
      if (t.type !== 'float32') throw new InputError(`${this.source}: tensor '${name}' is ${t.type}, expected float32`);
      result.set(name, { data: t.data as Float32Array, dims: [...t.dims] });
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Calls `visit` for each batch of `batchSize` samples (the last may be shorter). */
export async function forEachBatch(
  session: ModelSession, feeds: Feeds, samples: number, batchSize: number, outputs: readonly string[],
  visit: (result: RunResult, batch: Feeds, start: number) => void,
): Promise<void> {
  for (let start = 0; start < samples; start += batchSize) {
    const end = Math.min(samples, start + batchSize);
    const batch = new Map<string, TensorData>();
    for (const [name, t] of feeds) batch.set(name, sliceSamples(t, start, end));
    visit(await session.run(batch, outputs), batch, start);
  }
}

let runtime: Promise<typeof Ort> | undefined;

/** onnxruntime-node, imported once; its absence is an InputError that says what to install. */
function loadRuntime(): Promise<typeof Ort> {
  runtime ??= import('onnxruntime-node').then((ort) => {
    ort.env.logLevel = 'fatal'; // the process-wide logger: no "[E:onnxruntime:...]" lines of its own
    return ort;
  }).catch((err: unknown) => {
    runtime = undefined;
    throw new InputError(`pruning ONNX models needs the onnxruntime-node package (npm install onnxruntime-node): ${messageOf(err)}`);
  });
  return runtime;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
