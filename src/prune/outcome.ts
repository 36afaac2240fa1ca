// The records a whole-network pruning run takes besides its settings (PruneOptions) and gives back
// (PruneOutcome), shared by the element-wise pipeline (network.ts), the structured one
// (structured.ts) and the format entry points (index.ts for ONNX, tfjs/prune.ts).
import type { ReportFigures } from '../report/figures.ts';
import type { Evaluation } from './evaluation.ts';
import type { ProgressEvent, PruneReport } from './types.ts';

export interface PruneOptions {
  /** Held-out inputs and labels: top-1 accuracy of the trained, pruned and magnitude-pruned models. */
  evaluation?: Evaluation;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Stops the run: a solve in progress within one ADMM iteration, otherwise at the next stage. The
   * promise rejects with the signal's reason; nothing is returned or written.
   */
  signal?: AbortSignal;
}

/** A pruning run's products; `Written` is the format's model (ONNX: the model bytes). */
export interface PruneOutcome<Written = Uint8Array> {
  /** The pruned model: the original with only the pruned weight values changed. */
  model: Written;
  /** The magnitude-pruning baseline at the same per-layer nonzero counts. */
  magnitudeModel: Written;
  /** The Wanda baseline (|W| times input norm, per output) at the same per-layer nonzero counts. */
  wandaModel: Written;
  report: PruneReport;
  /**
   * Structure 'neurons': the zero-masked model (trained shapes, removed neurons' weights zero), which
   * computes what `model` computes; `model` is the shrunk one when the backend can shrink.
   */
  maskedModel?: Written;
  /** Kept-weight masks and the first layer's per-input counts, for the HTML report (report/html.ts). */
  figures: ReportFigures;
}
