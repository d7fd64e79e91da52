// The anomaly and ageing models as the `lifo4 ml train` commands write them: ONNX with what a node
// needs to use them in the metadata (kind, the anomaly alarm threshold, training time and source).
import { ageingToOnnx, fitAgeingModel } from './ageing-model';
import { readAgeingData } from '../../io/data/real-data';
import { RANGE_MARGIN, THRESHOLD_MARGIN, TRAINING_SCENARIOS, trainAnomalyModel } from './anomaly-eval';
import { isolationForestToOnnx } from './isolation-forest';
import { withMetadata } from './model-output';

export interface TrainedAnomaly {
  onnx: Uint8Array;
  threshold: number;
  trainingRows: number;
  trees: number;
}

/** Trains the isolation forest on the healthy simulated packs of anomaly-eval.ts (about 20 s). */
export function trainAnomalyOnnx(seed = 1): TrainedAnomaly {
  const model = trainAnomalyModel(TRAINING_SCENARIOS, seed);
  const onnx = isolationForestToOnnx(model.forest, {
    threshold: String(model.threshold),
    threshold_rule: `max healthy training score + ${THRESHOLD_MARGIN}`,
    range_margin: String(RANGE_MARGIN),
    training_cycles: String(model.trainingRows),
    seed: String(seed),
    trained_at: new Date().toISOString(),
  });
  return { onnx, threshold: model.threshold, trainingRows: model.trainingRows, trees: model.forest.trees.length };
}

export interface TrainedAgeing {
  onnx: Uint8Array;
  points: number;
  rmsePct: number;
  maxCycles: number;
}

export function trainAgeingOnnx(file?: string): TrainedAgeing {
  const points = file ? readAgeingData(file) : readAgeingData();
  const model = fitAgeingModel(points);
  const onnx = withMetadata(ageingToOnnx(model), { trained_at: new Date().toISOString(), ...(file ? { source: file } : {}) });
  return { onnx, points: points.length, rmsePct: model.rmsePct, maxCycles: model.maxCycles };
}
