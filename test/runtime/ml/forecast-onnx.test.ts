import assert from 'node:assert/strict';
import { N_FEATURES, STEPS_PER_DAY, dayCount, featuresForDay } from '../../../domain/forecast/features';
import { loadBerlinDemand, loadHouseholdProfile } from '../../../io/data/real-data';
import { forecastToOnnx, predictForecast, trainForecast, trainingSet } from '../../../runtime/ml/forecast-model';
import { forecastModelInfo } from '../../../io/ml/model-files';
import type { LoadedSeries } from '../../../runtime/ml/load-series';
import { openSession, runRows } from '../../../io/ml/onnx-session';

function household(days: number): LoadedSeries {
  const h = loadHouseholdProfile();
  return { startMs: h.time[0]!, values: Float64Array.from(h.loadKw.subarray(0, days * STEPS_PER_DAY)), unit: 'kW', file: 'household' };
}

function berlin(days: number): LoadedSeries {
  const t = loadBerlinDemand();
  return { startMs: t.originMs, values: Float64Array.from(t.values.subarray(0, days * STEPS_PER_DAY)), unit: 'W', file: 'berlin' };
}

async function parity(series: LoadedSeries, region: 'BY' | 'BE', trainDays: number): Promise<void> {
  const model = trainForecast(trainingSet(series, region, 14, trainDays), region, series.unit, { nTrees: 60, maxDepth: 5, minSamplesLeaf: 20, subsample: 0.8, loss: 'l1' });
  const bytes = forecastToOnnx(model);
  const session = await openSession(bytes);
  try {
    for (let d = trainDays; d < dayCount(series); d++) {
      const X = featuresForDay(series, d, region);
      const js = predictForecast(model, X);
      const onnx = await runRows(session, X, N_FEATURES);
      assert.equal(onnx.length, STEPS_PER_DAY);
      for (let s = 0; s < STEPS_PER_DAY; s++) {
        const rel = Math.abs(onnx[s]! - js[s]!) / Math.max(Math.abs(js[s]!), 1e-9);
        assert.ok(rel <= 1e-4, `day ${d} step ${s}: onnx ${onnx[s]} vs trainer ${js[s]}`);
      }
    }
  } finally {
    await session.release();
  }
}

describe('load forecast exported to ONNX', function () {
  // Trains models and simulates days to a year: slow on a busy machine.
  this.timeout(300_000);
  it('gives the trainer\'s own predictions through onnxruntime-web (household kW, 1e-4 relative)', async () => {
    await parity(household(60), 'BY', 45);
  });

  it('gives the trainer\'s own predictions on the Berlin demand in W (values near 1e9)', async () => {
    await parity(berlin(60), 'BE', 45);
  });

  it('carries its kind, region, unit and feature list in the model metadata', () => {
    const series = household(30);
    const model = trainForecast(trainingSet(series, 'BY'), 'BY', 'kW', { nTrees: 5 });
    const info = forecastModelInfo(forecastToOnnx(model, { trained_on: 'household' }));
    assert.equal(info.region, 'BY');
    assert.equal(info.unit, 'kW');
    assert.equal(info.metadata.trained_on, 'household');
  });

  it('beats same-time-last-week on held-out household days', () => {
    const series = household(120);
    const model = trainForecast(trainingSet(series, 'BY', 14, 90), 'BY', 'kW');
    let mae = 0;
    let naive = 0;
    for (let d = 90; d < 120; d++) {
      const pred = predictForecast(model, featuresForDay(series, d, 'BY'));
      for (let s = 0; s < STEPS_PER_DAY; s++) {
        const i = d * STEPS_PER_DAY + s;
        mae += Math.abs(pred[s]! - series.values[i]!);
        naive += Math.abs(series.values[i - 7 * STEPS_PER_DAY]! - series.values[i]!);
      }
    }
    assert.ok(mae < 0.9 * naive, `model MAE sum ${mae} vs naive ${naive}`);
  });
});
