// The report of a run (JSON, camelCase keys) and the table printed at the end of the command.
import { gzipSync } from 'node:zlib';
import Table from 'cli-table3';
import type { SkippedLayer } from '../graph/layer.ts';
import { countNonzero } from '../graph/weights.ts';
import { layerFigures, worstStatus } from './programs.ts';
import type { NetworkSolution } from './schemes.ts';
import type { EvalReport, FileReport, LayerReport, PruneReport, PruneSettings, SearchReport, StructureReport, WeightFormat } from './types.ts';
import type { TrimResult } from '../types.ts';

export interface ReportParts {
  model: string;
  settings: PruneSettings;
  calibrationSamples: number;
  solution: NetworkSolution;
  /** Nonzero weights of each layer before pruning, by layer index. */
  nnzBefore: number[];
  skipped: SkippedLayer[];
  search: SearchReport | null;
  maxOutputChange: number;
  evaluation: EvalReport | null;
  seconds: number;
  threads: number;
}

export function buildReport(parts: ReportParts): PruneReport {
  const layers = parts.solution.layers.map((s): LayerReport => {
    const figures = layerFigures(s);
    const weights = s.weight.length;
    return {
      name: s.layer.name,
      op: s.layer.op,
      nodes: s.layer.nodes,
      activation: activationName(s.layer.structure.clip),
      constraint: s.layer.structure.reason,
      inputs: s.layer.inputSize,
      outputs: s.layer.outputSize,
      groups: s.layer.groups,
      samples: s.columns,
      weights,
      nnzBefore: parts.nnzBefore[s.layer.index]!,
      nnzAfter: figures.nnz,
      keptFraction: figures.nnz / weights,
      epsilon: figures.epsilon,
      relativeError: figures.relativeError,
      status: worstStatus(s.results.map((r) => r.status)),
      iterations: Math.max(...s.results.map((r) => r.iterations)),
      ...certificate(s.results),
      refit: s.refit ? { ...s.refit } : null,
      trimmedAt: s.trimmedAt ?? null,
      seconds: s.seconds,
    };
  });
  const weights = sum(layers.map((l) => l.weights));
  const nnzAfter = sum(parts.solution.layers.map((s) => countNonzero(s.weight)));
  return {
    model: parts.model,
    scheme: parts.settings.scheme,
    epsilon: parts.solution.epsilon,
    gamma: parts.settings.scheme === 'cascade' ? parts.settings.gamma : null,
    refit: parts.settings.refit,
    refitBounds: parts.settings.refit ? parts.settings.refitBounds : null,
    calibrationSamples: parts.calibrationSamples,
    layers,
    skipped: parts.skipped.map((s) => ({ ...s })),
    total: {
      weights,
      nnzBefore: sum(layers.map((l) => l.nnzBefore)),
      nnzAfter,
      keptFraction: nnzAfter / weights,
      removedFraction: 1 - nnzAfter / weights,
      seconds: parts.seconds,
    },
    threads: { total: parts.threads, lanes: parts.solution.lanes },
    search: parts.search,
    maxOutputChange: parts.maxOutputChange,
    eval: parts.evaluation,
  };
}

/** 'relu', 'clip(0, 6)' or 'linear'. */
function activationName(clip: { min: number; max: number } | null): string {
  if (!clip) return 'linear';
  return clip.min === 0 && clip.max === Infinity ? 'relu' : `clip(${clip.min}, ${clip.max})`;
}

/** The layer's dual bound and gap: the programs' bounds and l1 summed. */
function certificate(results: readonly TrimResult[]): { dualBound: number; gap: number } {
  const dualBound = sum(results.map((r) => r.dualBound)), l1 = sum(results.map((r) => r.l1));
  return { dualBound, gap: l1 > 0 ? (l1 - dualBound) / l1 : 0 };
}

/** Sizes of the written file and of the trained one, raw and gzipped (what a download would cost). */
export function fileReport(weightFormat: WeightFormat, written: Uint8Array, trained: Uint8Array): FileReport {
  return {
    weightFormat,
    bytes: written.length,
    gzipBytes: gzipSync(written).length,
    trainedBytes: trained.length,
    trainedGzipBytes: gzipSync(trained).length,
  };
}

/** The per-layer table and the totals, as printed by `nettrim prune`. */
export function formatReport(report: PruneReport): string {
  const table = new Table({
    head: ['layer', 'op', 'shape (N x M)', 'act', 'P', 'kept', 'eps', 'error', 'status', 'iter', 'gap', 'time'],
    colAligns: ['left', 'left', 'right', 'left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const l of report.layers) {
    const shape = `${l.inputs} x ${l.outputs}${l.groups > 1 ? ` x${l.groups}` : ''}`;
    table.push([
      l.name, l.op, shape, l.activation, l.samples, percent(l.keptFraction), l.epsilon.toFixed(3), l.relativeError.toFixed(3),
      l.status, l.iterations, `${(100 * l.gap).toFixed(2)}%`, `${l.seconds.toFixed(1)} s`,
    ]);
  }
  const t = report.total;
  table.push(['total', '', `${t.weights} weights`, '', '', percent(t.keptFraction), '', '', '', '', '', `${t.seconds.toFixed(1)} s`]);
  const lines = [table.toString()];
  lines.push(`removed ${percent(t.removedFraction)} of ${t.weights} weights (${t.nnzBefore} -> ${t.nnzAfter} nonzero), ${report.scheme} scheme, epsilon ${report.epsilon.toPrecision(3)}`);
  const { total, lanes } = report.threads;
  lines.push(`solved on ${total} thread${total > 1 ? 's' : ''}${lanes > 1 ? `, ${lanes} programs at a time` : ''}`);
  if (report.search) {
    const s = report.search;
    const how = s.mixed ? ', layers combined from several tries' : '';
    lines.push(`sparsity search: target ${percent(s.target)}, reached ${percent(s.removedFraction)} in ${s.tries.length} tries${how}${s.reached ? '' : ' (NOT within tolerance)'}`);
    if (s.allocation) {
      const each = s.allocation.layers.map((l) => `${l.name} eps ${l.epsilon.toPrecision(2)} (output change ${l.outputChange.toPrecision(2)})`);
      lines.push(`allocation by sensitivity: ${each.join(', ')}`);
    }
  }
  for (const l of report.layers) lines.push(`program of ${l.name}: ${l.constraint}`);
  const trimmed = report.layers.filter((l) => l.trimmedAt !== null);
  if (trimmed.length > 0) {
    lines.push(`trimmed supports (the refit choice one gain lower, cut to these counts by |w| ||x||; --no-trim-supports leaves them out): ${trimmed.map((l) => `${l.name} at g ${l.trimmedAt!.toPrecision(2)}`).join(', ')}`);
  }
  if (report.refit) {
    const errors = report.layers.map((l) => (l.refit ? `${l.name} ${l.refit.relativeErrorBefore.toFixed(3)} -> ${l.relativeError.toFixed(3)}` : `${l.name} -`));
    lines.push(`refit (least squares on the kept weights, not Net-Trim's program; --no-refit leaves it out): error ${errors.join(', ')}`);
  }
  for (const s of report.skipped) lines.push(`skipped ${s.name} (${s.op}): ${s.reason}`);
  lines.push(`largest relative change of the outputs on the calibration data: ${report.maxOutputChange.toPrecision(3)}`);
  if (report.file) {
    const f = report.file, size = (n: number) => n.toLocaleString('en-US');
    lines.push(
      `file: ${size(f.bytes)} bytes (gzip ${size(f.gzipBytes)}), weights stored ${f.weightFormat}; trained ${size(f.trainedBytes)} ` +
        `(gzip ${size(f.trainedGzipBytes)}): ${(f.trainedBytes / f.bytes).toFixed(2)}x smaller`,
    );
  }
  if (report.structure) lines.push(formatStructure(report.structure));
  if (report.eval) {
    const e = report.eval;
    lines.push(
      `top-1 accuracy on ${e.samples} samples: trained ${percent(e.accuracyBefore)}, pruned ${percent(e.accuracyAfter)}, ` +
        `at the same per-layer counts: magnitude pruning ${percent(e.accuracyMagnitude)}, Wanda ${percent(e.accuracyWanda)}, ` +
        `SparseGPT ${percent(e.accuracySparseGpt)}`,
    );
    if (e.accuracyL1Neurons !== undefined) lines.push(`at the same per-layer neuron counts: L1-norm neuron pruning ${percent(e.accuracyL1Neurons)}`);
  }
  return lines.join('\n');
}

/** The neurons table of a structured run: neurons, multiply-adds and parameters per layer, before -> after. */
function formatStructure(r: StructureReport): string {
  const table = new Table({
    head: ['layer', 'op', 'neurons', 'multiply-adds', 'params', 'group eps', 'tries'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  const arrow = (a: number, b: number) => `${a.toLocaleString('en-US')} -> ${b.toLocaleString('en-US')}`;
  for (const l of r.layers) {
    table.push([l.name, l.op, arrow(l.neuronsBefore, l.neuronsAfter) + (l.keptDead > 0 ? ` (+${l.keptDead} kept: ${l.reason})` : ''),
      arrow(l.flopsBefore, l.flopsAfter), arrow(l.paramsBefore, l.paramsAfter), l.epsilon === null ? '' : l.epsilon.toPrecision(3), l.tries || '']);
  }
  table.push(['total', '', arrow(r.neurons.before, r.neurons.after), arrow(r.flops.before, r.flops.after), arrow(r.params.before, r.params.after), '', '']);
  const target = r.target === null ? 'no target (group programs at epsilon)' : ('neurons' in r.target ? `keep ${keptNeurons(r.target.neurons)} of the neurons` : `keep ${percent(r.target.flops)} of the multiply-adds`) +
    (r.neuronMultiple > 1 ? `, counts rounded up to a multiple of ${r.neuronMultiple}` : '');
  return [
    table.toString(),
    `neurons: ${target}; kept ${percent(r.keptNeuronFraction)} of the hidden neurons, ${percent(r.keptFlopFraction)} of the multiply-adds ` +
      `(${(r.flops.before / r.flops.after).toFixed(2)}x fewer), ${(r.params.before / r.params.after).toFixed(2)}x fewer parameters` +
      `${r.reached ? '' : ' (a layer\'s search did NOT land within tolerance)'}${r.weightsAfter ? '; then single weights inside the kept neurons' : ''}`,
    r.shrunk ? 'written with the smaller tensors' : 'written as the zero-masked model (this format cannot shrink yet)',
  ].join('\n');
}

function percent(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** A neurons target as printed: one percentage, or one per layer. */
function keptNeurons(f: number | readonly number[]): string {
  return typeof f === 'number' ? percent(f) : `${f.map(percent).join(', ')} (per layer)`;
}
