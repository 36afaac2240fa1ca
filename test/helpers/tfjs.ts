// TensorFlow.js Layers models on disk for tests: pure @tensorflow/tfjs has no file:// handler in
// Node, so these IOHandlers read and write model.json and its shards with node:fs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

await tf.setBackend('cpu');

/** Loads model.json (and the shards its manifest lists) with tf.loadLayersModel. */
export async function loadLayersModelFile(modelJson: string): Promise<tf.LayersModel> {
  const dir = dirname(modelJson);
  const json = JSON.parse(readFileSync(modelJson, 'utf8')) as tf.io.ModelJSON;
  return tf.loadLayersModel({
    load: () => tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const specs = manifest.flatMap((group) => group.weights);
      const shards = manifest.flatMap((group) => group.paths.map((p) => new Uint8Array(readFileSync(join(dir, p)))));
      return [specs, tf.io.concatenateArrayBuffers(shards.map((s) => s.slice().buffer))];
    }),
  });
}

/** Saves a model as DIR/model.json and DIR/group1-shard1of1.bin, as model.save() would; returns the model.json path. */
export async function saveLayersModelFile(model: tf.LayersModel, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await model.save({
    save: async (artifacts) => {
      const data = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(data));
      const json = {
        format: 'layers-model', generatedBy: 'test', convertedBy: null, modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  return join(dir, 'model.json');
}

/** The values of every weight of a loaded model, by its manifest name. */
export function weightsByName(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

/** model.predict on a sample-major array, as one flat Float32Array. */
export function predictFlat(model: tf.LayersModel, data: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(data, shape)) as tf.Tensor).dataSync() as Float32Array);
}

/**
 * Seeded initializers for a layer's config: tf.layers draw unseeded weights (Math.random) by default,
 * and a test that asserts how much a program removes must prune the same model on every machine.
 */
export function seeded(seed: number): { kernelInitializer: tf.initializers.Initializer } {
  return { kernelInitializer: tf.initializers.glorotUniform({ seed }) };
}

export { tf };
