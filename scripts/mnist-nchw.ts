// The committed digits (examples/data, flat [N, 784]) as [N, 1, 28, 28] .npy files for models whose
// input is an NCHW image (the CNN and architecture examples): the CLI requires --calib and --eval
// to match the model input's shape. Same values; only the .npy header's shape differs.
//
//   node --import tsx scripts/mnist-nchw.ts [OUT_DIR]     (default examples/data/nchw, git-ignored)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readNpyFile, writeNpyFile } from '../src/io/npy.ts';
import { DATA_DIR } from './mnist-training.ts';

const outDir = process.argv[2] ?? join(DATA_DIR, 'nchw');
mkdirSync(outDir, { recursive: true });
for (const name of ['mnist-calib-x', 'mnist-test-x']) {
  const flat = await readNpyFile(join(DATA_DIR, `${name}.npy`));
  const out = join(outDir, `${name}.npy`);
  await writeNpyFile(out, flat.data as Float32Array, [flat.shape[0]!, 1, 28, 28]);
  console.log(`${out}: [${flat.shape[0]}, 1, 28, 28]`);
}
