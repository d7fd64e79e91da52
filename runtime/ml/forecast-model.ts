// The day-ahead load forecast model: features (domain/forecast/features.ts) -> in-graph
// normalisation -> GBDT on the load relative to its 7-day level -> back to load units.
// The graph, in float32 as onnxruntime computes it:
//   L = X[:, level]; F = X * (keep + scaled / L); Z = (F - mean) * invStd
//   Y = (Trees(Z) * yStd + yMean) * L
// normalise() and predictForecast() replay exactly those float32 operations, so the trees route
// every row the same way in both and the outputs agree to float32 rounding.
import type { Region } from '../../domain/forecast/holidays';
import type { LoadSeries } from '../../domain/forecast/features';
import { FEATURE_NAMES, HISTORY_DAYS, LEVEL_FEATURE, LOAD_SCALED, N_FEATURES, STEPS_PER_DAY, dayCount, featuresForDay } from '../../domain/forecast/features';
import type { GbdtModel, GbdtParams } from './gbdt';
import { predictGbdt, trainGbdt } from './gbdt';
import { FORECAST_MODEL_KIND } from '../../io/ml/model-files';
import { encodeModel, floatInput, floatTensor, int64Tensor, node, treeEnsembleNode } from './onnx-graph';

const f = Math.fround;

export interface ForecastModel {
  region: Region;
  unit: string;
  mean: Float32Array;
  invStd: Float32Array;
  yMean: number;
  yStd: number;
  gbdt: GbdtModel;
}

/** The trees' input: the graph's normalisation replayed in float32. */
export function normalise(model: Pick<ForecastModel, 'mean' | 'invStd'>, X: Float32Array): Float32Array {
  const n = X.length / N_FEATURES;
  const Z = new Float32Array(X.length);
  for (let r = 0; r < n; r++) {
    const o = r * N_FEATURES;
    const inv = f(1 / X[o + LEVEL_FEATURE]!);
    for (let c = 0; c < N_FEATURES; c++) {
      const factor = LOAD_SCALED[c] ? inv : 1;
      const xs = f(X[o + c]! * factor);
      Z[o + c] = f(f(xs - model.mean[c]!) * model.invStd[c]!);
    }
  }
  return Z;
}

/** Forecast loads for feature rows X (the JS twin of the ONNX graph). */
export function predictForecast(model: ForecastModel, X: Float32Array): Float64Array {
  const raw = predictGbdt(model.gbdt, normalise(model, X));
  const out = new Float64Array(raw.length);
  for (let r = 0; r < raw.length; r++) {
    const level = X[r * N_FEATURES + LEVEL_FEATURE]!;
    out[r] = f(f(f(f(raw[r]!) * f(model.yStd)) + f(model.yMean)) * level);
  }
  return out;
}

export interface TrainingSet {
  X: Float32Array;
  y: Float64Array;
  days: number;
}

/** Feature rows and targets for days [fromDay, toDay) of the series (fromDay >= 14). */
export function trainingSet(series: LoadSeries, region: Region, fromDay = HISTORY_DAYS, toDay = dayCount(series)): TrainingSet {
  const from = Math.max(fromDay, HISTORY_DAYS);
  const days = Math.max(0, toDay - from);
  const X = new Float32Array(days * STEPS_PER_DAY * N_FEATURES);
  const y = new Float64Array(days * STEPS_PER_DAY);
  for (let d = from; d < toDay; d++) {
    X.set(featuresForDay(series, d, region), (d - from) * STEPS_PER_DAY * N_FEATURES);
    y.set(series.values.subarray(d * STEPS_PER_DAY, (d + 1) * STEPS_PER_DAY), (d - from) * STEPS_PER_DAY);
  }
  return { X, y, days };
}

export const DEFAULT_FORECAST_PARAMS: Partial<GbdtParams> = {
  nTrees: 400,
  learningRate: 0.05,
  maxDepth: 6,
  minSamplesLeaf: 30,
  lambda: 1,
  maxBins: 64,
  subsample: 0.8,
  seed: 7,
  // The benchmark scores absolute errors (MAE, MAPE): fit the median (household: -30 % MAE
  // against same-time-last-week with l1, -23 % with l2).
  loss: 'l1',
};

export function trainForecast(set: TrainingSet, region: Region, unit: string, params: Partial<GbdtParams> = DEFAULT_FORECAST_PARAMS): ForecastModel {
  const n = set.y.length;
  if (n === 0) throw new Error('no training days: the series needs more than 14 whole days');
  // Statistics of the level-scaled columns, computed in float32 like the graph.
  const mean = new Float32Array(N_FEATURES);
  const invStd = new Float32Array(N_FEATURES).fill(1);
  const scaled = normalise({ mean: new Float32Array(N_FEATURES), invStd: new Float32Array(N_FEATURES).fill(1) }, set.X);
  for (let c = 0; c < N_FEATURES; c++) {
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < n; r++) {
      const v = scaled[r * N_FEATURES + c]!;
      s += v;
      s2 += v * v;
    }
    const m = s / n;
    const sd = Math.sqrt(Math.max(s2 / n - m * m, 0));
    mean[c] = m;
    invStd[c] = sd > 1e-9 ? 1 / sd : 1;
  }
  const rel = new Float64Array(n);
  for (let r = 0; r < n; r++) rel[r] = set.y[r]! / set.X[r * N_FEATURES + LEVEL_FEATURE]!;
  let ym = 0;
  let ys2 = 0;
  for (const v of rel) {
    ym += v;
    ys2 += v * v;
  }
  ym /= n;
  const ysd = Math.sqrt(Math.max(ys2 / n - ym * ym, 1e-12));
  const yMean = f(ym);
  const yStd = f(ysd);
  const target = rel.map((v) => (v - yMean) / yStd);
  const gbdt = trainGbdt(normalise({ mean, invStd }, set.X), N_FEATURES, target, params);
  return { region, unit, mean, invStd, yMean, yStd, gbdt };
}

/** The ONNX file: input `features` [N, 15] float, output `load` [N, 1] float. */
export function forecastToOnnx(model: ForecastModel, extra: Record<string, string> = {}): Uint8Array {
  const keep = LOAD_SCALED.map((s) => 1 - s);
  return encodeModel({
    name: 'load_forecast',
    docString: 'Day-ahead load: GBDT on load relative to its 7-day level, normalisation inside the graph',
    inputs: [floatInput('features', N_FEATURES)],
    outputs: [floatInput('load', 1)],
    initializers: [
      int64Tensor('level_index', [1], [LEVEL_FEATURE]),
      floatTensor('scaled_mask', [N_FEATURES], LOAD_SCALED),
      floatTensor('keep_mask', [N_FEATURES], keep),
      floatTensor('mean', [N_FEATURES], model.mean),
      floatTensor('inv_std', [N_FEATURES], model.invStd),
      floatTensor('y_std', [1], [model.yStd]),
      floatTensor('y_mean', [1], [model.yMean]),
    ],
    nodes: [
      node('Gather', ['features', 'level_index'], ['level'], [{ name: 'axis', type: 2, i: 1 }]),
      node('Reciprocal', ['level'], ['inv_level']),
      node('Mul', ['inv_level', 'scaled_mask'], ['scaled_factor']),
      node('Add', ['scaled_factor', 'keep_mask'], ['factor']),
      node('Mul', ['features', 'factor'], ['relative']),
      node('Sub', ['relative', 'mean'], ['centred']),
      node('Mul', ['centred', 'inv_std'], ['z']),
      treeEnsembleNode(model.gbdt, 'z', 'trees'),
      node('Mul', ['trees', 'y_std'], ['y_scaled']),
      node('Add', ['y_scaled', 'y_mean'], ['y_rel']),
      node('Mul', ['y_rel', 'level'], ['load']),
    ],
    metadata: {
      kind: FORECAST_MODEL_KIND,
      region: model.region,
      unit: model.unit,
      feature_names: FEATURE_NAMES.join(','),
      steps_per_day: String(STEPS_PER_DAY),
      history_days: String(HISTORY_DAYS),
      trees: String(model.gbdt.trees.length),
      ...extra,
    },
  });
}
