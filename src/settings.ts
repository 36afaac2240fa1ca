// The one home of the solver's defaults, and their validation.
import type { TrimSettings } from './types.ts';

/**
 * Defaults of every setting. Tolerances and rho were chosen on the mnist-mlp layers
 * (bench/layer.ts): they meet the reference's l1 within 1% at the fewest iterations we found.
 * inactiveTolerance 1e-3 makes the default answer meet the program (issue 11). Over-relaxation 1.8
 * halves the iterations on mnist-mlp layer 1 (300 -> 150) but stops degenerate tiny programs
 * (test/layer-input, test/planted) 0.3% off their optimum, so 'auto' uses it only on programs
 * large enough for iterations to cost time (relaxationFor; bench/README.md).
 */
export const DEFAULT_SETTINGS: Readonly<TrimSettings> = Object.freeze({
  epsilon: 0.05,
  epsilonMode: 'relative',
  activation: 'relu',
  bias: true,
  absTol: 1e-6,
  relTol: 1e-3,
  maxIterations: 2000,
  rho: 100,
  adaptiveRho: true,
  relaxation: 'auto',
  activeThreshold: 1e-6,
  ballTolerance: 1e-3,
  inactiveTolerance: 1e-3,
  maxCgSteps: 25,
  penalizeBias: true,
  recordHistory: false,
  returnDuals: false,
  penalty: 'l1',
  form: 'auto',
});

/**
 * 'auto' relaxation: 1.8 from this many multiply-adds per product (samples x rows x outputs, or
 * rows^2 x outputs in the Gram form), about a millisecond on this project's machine; below it a
 * thousand iterations take a second and plain ADMM's answer is the more accurate (bench/README.md).
 */
export const RELAXED_WORK = 1e7;
export const AUTO_RELAXATION = 1.8;

/** The alpha a program of this size runs with. */
export function relaxationFor(setting: TrimSettings['relaxation'], work: number): number {
  if (setting !== 'auto') return setting;
  return work >= RELAXED_WORK ? AUTO_RELAXATION : 1;
}

/** Tolerance of the inner CG solves, relative to each right-hand side (not a user setting). */
export const CG_TOLERANCE = 1e-4;

/** Defaults overlaid with the caller's choices, checked; throws with the offending value. */
export function resolveSettings(partial: Partial<TrimSettings> = {}): TrimSettings {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_SETTINGS)) throw new Error(`nettrim: unknown setting '${key}'`);
  }
  const s: TrimSettings = { ...DEFAULT_SETTINGS, ...stripUndefined(partial) };
  nonNegative('epsilon', s.epsilon);
  oneOf('epsilonMode', s.epsilonMode, ['relative', 'absolute']);
  oneOf('activation', s.activation, ['relu', 'linear']);
  if (typeof s.bias !== 'boolean') throw new Error(`nettrim: setting 'bias' must be true or false, got ${s.bias}`);
  nonNegative('absTol', s.absTol);
  nonNegative('relTol', s.relTol);
  if (s.absTol === 0 && s.relTol === 0) throw new Error(`nettrim: absTol and relTol cannot both be 0`);
  positiveInteger('maxIterations', s.maxIterations);
  positiveInteger('maxCgSteps', s.maxCgSteps);
  if (!(s.rho > 0 && Number.isFinite(s.rho))) throw new Error(`nettrim: setting 'rho' must be a positive number, got ${s.rho}`);
  if (s.relaxation !== 'auto' && !(typeof s.relaxation === 'number' && s.relaxation >= 1 && s.relaxation < 2)) {
    throw new Error(`nettrim: setting 'relaxation' must be 'auto' or in [1, 2), got ${s.relaxation}`);
  }
  nonNegative('activeThreshold', s.activeThreshold);
  nonNegative('ballTolerance', s.ballTolerance);
  nonNegative('inactiveTolerance', s.inactiveTolerance);
  if (typeof s.recordHistory !== 'boolean') throw new Error(`nettrim: setting 'recordHistory' must be true or false, got ${s.recordHistory}`);
  if (typeof s.returnDuals !== 'boolean') throw new Error(`nettrim: setting 'returnDuals' must be true or false, got ${s.returnDuals}`);
  if (typeof s.penalizeBias !== 'boolean') throw new Error(`nettrim: setting 'penalizeBias' must be true or false, got ${s.penalizeBias}`);
  oneOf('penalty', s.penalty, ['l1', 'group']);
  oneOf('form', s.form, ['auto', 'samples', 'gram']);
  if (typeof s.adaptiveRho !== 'boolean') throw new Error(`nettrim: setting 'adaptiveRho' must be true or false, got ${s.adaptiveRho}`);
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function nonNegative(name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new Error(`nettrim: setting '${name}' must be a finite number >= 0, got ${v}`);
  }
}

function positiveInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`nettrim: setting '${name}' must be an integer >= 1, got ${v}`);
}

function oneOf(name: string, v: string, allowed: string[]): void {
  if (!allowed.includes(v)) throw new Error(`nettrim: setting '${name}' must be one of ${allowed.join(', ')}, got '${v}'`);
}
