// Public API of nettrim.
export { trimLayer, LayerSolver, type SolveOptions } from './layer/solve.ts';
export { SolverPool, type LayerJob, type PoolOptions, type PoolRunOptions } from './layer/pool.ts';
export { planLanes, type LanePlan, type ProgramShape } from './layer/lanes.ts';
export { DEFAULT_SETTINGS, resolveSettings } from './settings.ts';
export { TrimStatus, STATUS_MESSAGES } from './types.ts';
export type { TrimSettings, TrimResult, LayerInput, Activation, EpsilonMode, Penalty, LinearForm, Relaxation, IterationRecord } from './types.ts';
export type { KernelOptions, LiveFigures } from './wasm/interface.ts';
export type { KernelFlavour, WasmBinary, WasmSource } from './wasm/load.ts';
export { init, type InitSource } from './runtime/init.ts';
