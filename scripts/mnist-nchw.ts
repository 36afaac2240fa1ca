// The committed digits (examples/data, flat [N, 784]) as [N, 1, 28, 28] .npy files for models whose
// input is an NCHW image (the ONNX CNN and architecture examples), or with --nhwc as [N, 28, 28, 1]
// for the TF.js Layers CNNs: the CLI requires --calib and --eval to match the model input's shape.
// Same values (one channel); only the .npy header's shape differs.
//
//   node --import tsx scripts/mnist-nchw.ts [--nhwc] [OUT_DIR]   (default examples/data/nchw or nhwc, git-ignored)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readNpyFile, writeNpyFile } from '../src/io/npy.ts';
import { DATA_DIR } from './mnist-training.ts';

const nhwc = process.argv.includes('--nhwc');
const outDir = process.argv.slice(2).find(a => !a.startsWith('--')) ?? join(DATA_DIR, nhwc ? 'nhwc' : 'nchw');
const image = nhwc ? [28, 28, 1] : [1, 28, 28];
mkdirSync(outDir, { recursive: true });
for (const name of ['mnist-calib-x', 'mnist-test-x']) {
  const flat = await readNpyFile(join(DATA_DIR, `${name}.npy`));
  const out = join(outDir, `${name}.npy`);
  await writeNpyFile(out, flat.data as Float32Array, [flat.shape[0]!, ...image]);
  console.log(`${out}: [${[flat.shape[0], ...image].join(', ')}]`);
}
