// Writes only the calibration digits of the MNIST examples, without retraining: the first COUNT
// digits of the training set of scripts/mnist-split.ts (the split scripts/train-mnist.ts trained
// the shipped models on), never a held-out digit. A longer head contains every shorter one: the
// committed 2,000 digits begin with the 1,000 the examples first shipped with.
//
//   node --import tsx scripts/mnist-calib.ts [--count 2000] [--out examples/data/mnist-calib-x.npy] [--check FILE.npy]
//
// --check compares the head of the new set with an existing calibration file (which may be
// shorter) and refuses to write when they differ.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { encodeNpy, readNpyFile } from '../src/io/npy.ts';
import { PIXELS, TEST_COUNT, TRAIN_COUNT, splitDigits } from './mnist-split.ts';

const DEFAULT_OUT = fileURLToPath(new URL('../examples/data/mnist-calib-x.npy', import.meta.url));

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    out: { type: 'string', default: DEFAULT_OUT },
    check: { type: 'string' },
  },
});
const count = Number(values.count);
if (!(Number.isInteger(count) && count >= 1 && count <= TRAIN_COUNT)) {
  throw new Error(`--count must be an integer in 1..${TRAIN_COUNT} (the training digits), got ${values.count}`);
}
const { calib, test } = splitDigits(count);
if (values.check) {
  const old = await readNpyFile(values.check);
  const rows = old.shape[0]!;
  if (old.shape[1] !== PIXELS || rows > count) throw new Error(`${values.check}: shape [${old.shape.join(', ')}], expected [<= ${count}, ${PIXELS}]`);
  for (let i = 0; i < rows * PIXELS; i++) {
    if (old.data[i] !== calib.x[i]) throw new Error(`${values.check}: differs at row ${Math.floor(i / PIXELS)}, pixel ${i % PIXELS}`);
  }
  console.log(`${values.check}: its ${rows} digits are the first ${rows} of the new set`);
}
await writeFileAtomic(values.out!, encodeNpy(calib.x, [count, PIXELS]));
console.log(`wrote ${values.out} (${count} training digits of ${TRAIN_COUNT}; the ${TEST_COUNT} held-out digits are not among them)`);
