// How many neurons each layer keeps for a target (structured-links.ts keepCounts): the fraction of
// its neurons, one fraction per layer, rounded up to a multiple (a ceiling the search keeps to), and
// a flops target met with the rounded counts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError } from '../src/errors.ts';
import { keepCounts, type NeuronLink } from '../src/prune/structured-links.ts';
import type { ModelLayer } from '../src/graph/layer.ts';

// the shipped MLP's two links (fc1 -> fc2, fc2 -> fc3) as keepCounts sees them: Dense layers 784-300-100-10
const dense = (name: string, index: number, n: number, m: number) => ({ name, index, inputSize: n, outputSize: m, groups: 1 }) as unknown as ModelLayer;
const layers = [dense('fc1', 0, 784, 300), dense('fc2', 1, 300, 100), dense('fc3', 2, 100, 10)];
const links = [
  { producer: layers[0]!, consumer: layers[1]!, neurons: 300, rowNeuron: new Int32Array(300).map((_, i) => i) },
  { producer: layers[1]!, consumer: layers[2]!, neurons: 100, rowNeuron: new Int32Array(100).map((_, i) => i) },
] as NeuronLink[];
const positions = [1, 1, 1];

test('one fraction for every layer, or one per layer in model order', () => {
  assert.equal(keepCounts(layers, positions, links, { neurons: 0.5 }), [150, 50]);
  assert.equal(keepCounts(layers, positions, links, { neurons: [0.48, 1] }), [144, 100]);
  assert.equal(keepCounts(layers, positions, links, { neurons: [0.001, 0.001] }), [1, 1], 'at least one neuron');
  assert.throws(() => keepCounts(layers, positions, links, { neurons: [0.5] }), (e: unknown) => e instanceof InputError && /lists 1 fractions.*2 layers.*fc1, fc2/.test((e as Error).message));
});

test('a multiple rounds each count up, never past the layer\'s neurons', () => {
  assert.equal(keepCounts(layers, positions, links, { neurons: 0.5 }, 16), [160, 64]);
  assert.equal(keepCounts(layers, positions, links, { neurons: [0.45, 0.95] }, 16), [144, 96], '135 -> 144, 95 -> 96');
  assert.equal(keepCounts(layers, positions, links, { neurons: [0.45, 0.99] }, 16), [144, 100], '99 -> 112, but fc2 has 100');
});

test('a flops target with a multiple: the rounded counts stay within the multiply-add budget', () => {
  const flops = (c: number[]) => 784 * c[0]! + c[0]! * c[1]! + c[1]! * 10;
  const budget = 0.5 * flops([300, 100]);
  for (const multiple of [1, 8, 16]) {
    const counts = keepCounts(layers, positions, links, { flops: 0.5 }, multiple);
    assert.ok(flops(counts) <= budget, `multiple ${multiple}: ${counts} costs ${flops(counts)} > ${budget}`);
    assert.ok(counts.every((c, i) => c % multiple === 0 || c === links[i]!.neurons), `multiple ${multiple}: ${counts}`);
  }
});

test.run();
