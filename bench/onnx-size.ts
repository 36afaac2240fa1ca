// How large an element-wise pruned ONNX file is in each weight format (src/onnx/sparse.ts), raw and
// gzipped (node:zlib, default level 6, as the report measures), for the shipped models with their
// weights magnitude-masked to several kept fractions (file size depends only on the nonzero count
// and positions, not on which pruner chose them). The target: the MLP at 85% removed >= 2x
// smaller than the trained 1,068,112 bytes. Run: `node --import tsx bench/onnx-size.ts`.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { initializerValues, readModel } from '../src/onnx/model.ts';
import { patchInitializers } from '../src/onnx/patch.ts';
import { writeSparse } from '../src/onnx/sparse.ts';
import { keepLargest } from '../src/prune/magnitude.ts';

const MODELS = fileURLToPath(new URL('../examples/models/', import.meta.url));
const REMOVED = [0.7, 0.85, 0.95];

const rows: string[] = [];
for (const name of ['mnist-mlp', 'mnist-conv']) {
  const model = await readModel(join(MODELS, `${name}.onnx`));
  const trained = model.bytes.length;
  rows.push(`${name}.onnx: trained ${trained} bytes (gzip ${gzipSync(model.bytes).length})`);
  for (const removed of REMOVED) {
    const values = new Map<string, Float32Array>();
    for (const [tensor, t] of model.initializers) {
      if ((t.dims ?? []).length < 2) continue;
      const w = initializerValues(model, tensor);
      values.set(tensor, keepLargest(w, Math.round((1 - removed) * w.length)));
    }
    const forms: Array<[string, Uint8Array]> = [
      ['dense', patchInitializers(model, values)],
      ['sparse', writeSparse(model, values, 'compact').bytes],
      ['sparse-int64', writeSparse(model, values, 'int64').bytes],
    ];
    for (const [format, bytes] of forms) {
      const gzip = gzipSync(bytes).length;
      rows.push(`  ${(100 * removed).toFixed(0)}% removed, ${format.padEnd(12)} ${String(bytes.length).padStart(9)} bytes (${(trained / bytes.length).toFixed(2)}x smaller), gzip ${String(gzip).padStart(9)} (${(trained / gzip).toFixed(2)}x)`);
    }
  }
}
process.stdout.write(`${rows.join('\n')}\n`);
