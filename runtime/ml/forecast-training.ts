// Training with a holdout score: the score a retrained model must beat before it replaces the
// current one: a new model replaces the current one only when it beats it on the most recent two
// weeks.
import type { Region } from '../../domain/forecast/holidays';
import type { LoadSeries } from '../../domain/forecast/features';
import { HISTORY_DAYS, STEPS_PER_DAY, dayCount, featuresForDay } from '../../domain/forecast/features';
import type { ForecastModel } from './forecast-model';
import { forecastToOnnx, predictForecast, trainForecast, trainingSet } from './forecast-model';

export interface ForecastScore {
  days: number;
  mae: number;
  mapePct: number;
  naiveWeekMae: number;
}

/** Scores a model on days [fromDay, toDay) of the series, each forecast from the days before it. */
export function scoreForecast(model: ForecastModel, series: LoadSeries, fromDay: number, toDay = dayCount(series)): ForecastScore {
  let ae = 0;
  let ape = 0;
  let nape = 0;
  let naive = 0;
  let n = 0;
  for (let d = Math.max(fromDay, HISTORY_DAYS); d < toDay; d++) {
    const pred = predictForecast(model, featuresForDay(series, d, model.region));
    for (let s = 0; s < STEPS_PER_DAY; s++) {
      const i = d * STEPS_PER_DAY + s;
      const a = series.values[i]!;
      ae += Math.abs(a - pred[s]!);
      naive += Math.abs(a - series.values[i - 7 * STEPS_PER_DAY]!);
      if (a !== 0) {
        ape += Math.abs(a - pred[s]!) / Math.abs(a);
        nape++;
      }
      n++;
    }
  }
  const days = n / STEPS_PER_DAY;
  return { days, mae: n ? ae / n : NaN, mapePct: nape ? (100 * ape) / nape : NaN, naiveWeekMae: n ? naive / n : NaN };
}

export interface TrainedForecast {
  model: ForecastModel;
  onnx: Uint8Array;
  score: ForecastScore;
  trainDays: number;
  holdoutDays: number;
  trees: number;
}

export function trainAndScoreForecast(series: LoadSeries & { unit: string }, region: Region, holdoutDays: number): TrainedForecast {
  const days = dayCount(series);
  const split = days - holdoutDays;
  if (split - HISTORY_DAYS < 7) throw new Error(`need at least ${HISTORY_DAYS + 7 + holdoutDays} whole days, the data has ${days}`);
  const model = trainForecast(trainingSet(series, region, HISTORY_DAYS, split), region, series.unit);
  const score = scoreForecast(model, series, split, days);
  const onnx = forecastToOnnx(model, {
    trained_days: String(split - HISTORY_DAYS),
    holdout_days: String(holdoutDays),
    holdout_mae: String(score.mae),
    holdout_mape_pct: String(score.mapePct),
    trained_at: new Date().toISOString(),
  });
  return { model, onnx, score, trainDays: split - HISTORY_DAYS, holdoutDays, trees: model.gbdt.trees.length };
}
