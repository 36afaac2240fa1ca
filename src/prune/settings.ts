// Defaults overlaid with a caller's choices, each checked with the offending value in the message.
import { InputError } from '../errors.ts';
import { DEFAULT_PRUNE_SETTINGS, type PruneSettings } from './types.ts';

export function resolvePruneSettings(partial: Partial<PruneSettings> = {}): PruneSettings {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_PRUNE_SETTINGS)) throw new InputError(`unknown prune setting '${key}'`);
  }
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const s: PruneSettings = { ...DEFAULT_PRUNE_SETTINGS, ...defined };
  if (s.scheme !== 'parallel' && s.scheme !== 'cascade') throw new InputError(`scheme must be parallel or cascade, got '${s.scheme}'`);
  if (!(s.epsilon > 0 && s.epsilon <= 1)) throw new InputError(`epsilon must be in (0, 1] (a fraction of ||Y||_F), got ${s.epsilon}`);
  if (s.sparsity !== null && !(s.sparsity > 0 && s.sparsity < 1)) {
    throw new InputError(`sparsity must be in (0, 1), the fraction of weights to remove, got ${s.sparsity}`);
  }
  if (!(s.sparsityTolerance > 0 && s.sparsityTolerance < 0.5)) throw new InputError(`sparsityTolerance must be in (0, 0.5), got ${s.sparsityTolerance}`);
  if (!(s.gamma >= 1 && Number.isFinite(s.gamma))) throw new InputError(`gamma must be a finite number >= 1, got ${s.gamma}`);
  if (s.allocation !== 'sensitivity' && s.allocation !== 'uniform') throw new InputError(`allocation must be sensitivity or uniform, got '${s.allocation}'`);
  if (typeof s.refit !== 'boolean') throw new InputError(`refit must be true or false, got ${s.refit}`);
  if (typeof s.trimSupports !== 'boolean') throw new InputError(`trimSupports must be true or false, got ${s.trimSupports}`);
  if (s.refitBounds !== 'soft' && s.refitBounds !== 'hard') throw new InputError(`refitBounds must be soft or hard, got '${s.refitBounds}'`);
  integer('maxSearchTries', s.maxSearchTries, 1);
  integer('maxColumns', s.maxColumns, 1);
  integer('batchSize', s.batchSize, 1);
  integer('seed', s.seed, 0);
  if (s.threads !== null) integer('threads', s.threads, 1);
  if (!['dense', 'sparse', 'sparse-int64'].includes(s.weightFormat)) {
    throw new InputError(`weightFormat must be dense, sparse or sparse-int64, got '${s.weightFormat}'`);
  }
  if (s.structure !== 'weights' && s.structure !== 'neurons') throw new InputError(`structure must be weights or neurons, got '${s.structure}'`);
  if (s.keep !== null) checkKeep(s.keep);
  integer('neuronMultiple', s.neuronMultiple, 1);
  if (s.neuronMultiple > 1 && s.keep === null) throw new InputError(`neuronMultiple (${s.neuronMultiple}) rounds the neuron counts of a keep target: give keep too`);
  if (typeof s.weightsAfterNeurons !== 'boolean') throw new InputError(`weightsAfterNeurons must be true or false, got ${s.weightsAfterNeurons}`);
  if (s.structure === 'weights' && (s.keep !== null || s.weightsAfterNeurons)) {
    throw new InputError(`keep and weightsAfterNeurons need structure 'neurons' (structure is '${s.structure}')`);
  }
  return s;
}

/** keep: { neurons: f } (or one f per layer: [f1, f2, ...]) or { flops: f }, every f in (0, 1]. */
function checkKeep(keep: PruneSettings['keep']): void {
  const keys = keep && typeof keep === 'object' ? Object.keys(keep) : [];
  const v = keys.length === 1 ? (keep as Record<string, unknown>)[keys[0]!] : undefined;
  if (keys.length !== 1 || (keys[0] !== 'neurons' && keys[0] !== 'flops')) {
    throw new InputError(`keep must be { neurons: f } or { flops: f }, got ${JSON.stringify(keep)}`);
  }
  const fraction = (f: unknown) => typeof f === 'number' && f > 0 && f <= 1;
  const perLayer = keys[0] === 'neurons' && Array.isArray(v);
  if (perLayer ? !(v.length > 0 && v.every(fraction)) : !fraction(v)) {
    throw new InputError(`keep.${keys[0]} must be a fraction in (0, 1] (of the hidden neurons or of the multiply-adds to keep)${keys[0] === 'neurons' ? ', or a non-empty list of them (one per layer)' : ''}, got ${JSON.stringify(v) ?? String(v)}`);
  }
}

function integer(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new InputError(`${name} must be an integer >= ${min}, got ${v}`);
}
