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
  integer('maxSearchTries', s.maxSearchTries, 1);
  integer('maxColumns', s.maxColumns, 1);
  integer('batchSize', s.batchSize, 1);
  integer('seed', s.seed, 0);
  if (s.threads !== null) integer('threads', s.threads, 1);
  if (!['dense', 'sparse', 'sparse-int64'].includes(s.weightFormat)) {
    throw new InputError(`weightFormat must be dense, sparse or sparse-int64, got '${s.weightFormat}'`);
  }
  return s;
}

function integer(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new InputError(`${name} must be an integer >= ${min}, got ${v}`);
}
