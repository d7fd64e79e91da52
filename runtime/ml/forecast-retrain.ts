// Retraining the load forecast with rollback on regression: a candidate is trained on
// the data before the most recent two weeks and both it and the current model forecast each of
// those days at 00:00 from the days before, through onnxruntime-web (what the node runs). The
// candidate replaces the current model only when its MAE there is lower; otherwise the current
// model stays. Both scores go into the metadata of the model that is current afterwards and into
// a small JSON history next to it (<model>.scores.json); a replaced model is kept as
// <model>.previous.onnx so an operator can roll back by hand.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { DAY_MS, HISTORY_DAYS, N_FEATURES, STEPS_PER_DAY, dayCount, featuresForDay } from '../../domain/forecast/features';
import type { Region } from '../../domain/forecast/holidays';
import { forecastModelInfo } from '../../io/ml/model-files';
import { trainAndScoreForecast } from './forecast-training';
import type { LoadedSeries } from './load-series';
import { writeFileDurably } from '../../io/durable-file';
import { withMetadata } from './model-output';
import { openSession, runRows } from '../../io/ml/onnx-session';

export const RETRAIN_EVAL_DAYS = 14;

export interface EvalScore {
  mae: number;
  /** NaN when every actual value is 0. */
  mapePct: number;
  days: number;
}

/** The ONNX forecast's score on days [fromDay, toDay) of the series, each forecast from the days before. */
export async function scoreOnnxForecast(bytes: Uint8Array, series: LoadedSeries, fromDay: number, toDay: number, region: Region): Promise<EvalScore> {
  const session = await openSession(bytes);
  try {
    let ae = 0;
    let ape = 0;
    let nape = 0;
    let n = 0;
    for (let d = Math.max(fromDay, HISTORY_DAYS); d < toDay; d++) {
      const pred = await runRows(session, featuresForDay(series, d, region), N_FEATURES);
      for (let s = 0; s < STEPS_PER_DAY; s++) {
        const a = series.values[d * STEPS_PER_DAY + s] as number;
        const e = Math.abs(a - (pred[s] as number));
        ae += e;
        if (a !== 0) {
          ape += e / Math.abs(a);
          nape++;
        }
        n++;
      }
    }
    return { mae: n ? ae / n : NaN, mapePct: nape ? (100 * ape) / nape : NaN, days: n / STEPS_PER_DAY };
  } finally {
    await session.release();
  }
}

export const RetrainRecordSchema = z.object({
  at: z.string(),
  data: z.string(),
  evalFrom: z.string(),
  evalTo: z.string(),
  current: z.object({ model: z.string(), mae: z.number(), mapePct: z.number().nullable() }),
  candidate: z.object({ mae: z.number(), mapePct: z.number().nullable(), trainDays: z.number() }),
  replaced: z.boolean(),
});
export type RetrainRecord = z.infer<typeof RetrainRecordSchema>;
const HistorySchema = z.array(RetrainRecordSchema);
/** Records kept in the JSON history. */
const MAX_HISTORY = 100;

export const scoresFileOf = (model: string): string => `${model.replace(/\.onnx$/i, '')}.scores.json`;
export const previousFileOf = (model: string): string => `${model.replace(/\.onnx$/i, '')}.previous.onnx`;

export function readRetrainHistory(model: string): RetrainRecord[] {
  const f = scoresFileOf(model);
  if (!existsSync(f)) return [];
  const r = HistorySchema.safeParse(JSON.parse(readFileSync(f, 'utf8')));
  if (!r.success) throw new Error(`${f}: not a retraining history`);
  return r.data;
}

/** Retrain on `series`, compare on its last `evalDays` days, replace `currentFile` only on improvement. */
export async function retrainForecast(series: LoadedSeries, currentFile: string, evalDays = RETRAIN_EVAL_DAYS, now = new Date()): Promise<RetrainRecord> {
  const currentBytes = readFileSync(currentFile);
  const info = forecastModelInfo(currentBytes);
  const days = dayCount(series);
  const trained = trainAndScoreForecast(series, info.region, evalDays);
  const from = days - evalDays;
  const current = await scoreOnnxForecast(currentBytes, series, from, days, info.region);
  const candidate = await scoreOnnxForecast(trained.onnx, series, from, days, info.region);
  if (!Number.isFinite(current.mae) || !Number.isFinite(candidate.mae)) throw new Error('no day to compare the models on');
  const replaced = candidate.mae < current.mae;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const nan = (x: number): number | null => (Number.isFinite(x) ? x : null);
  const record: RetrainRecord = {
    at: now.toISOString(),
    data: series.file,
    evalFrom: iso(series.startMs + from * DAY_MS),
    evalTo: iso(series.startMs + days * DAY_MS),
    current: { model: `${info.metadata.trained_at ?? 'untimed'}`, mae: current.mae, mapePct: nan(current.mapePct) },
    candidate: { mae: candidate.mae, mapePct: nan(candidate.mapePct), trainDays: trained.trainDays },
    replaced,
  };
  const scores = {
    retrained_at: record.at,
    eval_from: record.evalFrom,
    eval_to: record.evalTo,
    eval_mae: String(replaced ? candidate.mae : current.mae),
    eval_mape_pct: String(replaced ? candidate.mapePct : current.mapePct),
    [replaced ? 'replaced_model_eval_mae' : 'rejected_candidate_eval_mae']: String(replaced ? current.mae : candidate.mae),
    [replaced ? 'replaced_model_eval_mape_pct' : 'rejected_candidate_eval_mape_pct']: String(replaced ? current.mapePct : candidate.mapePct),
  };
  if (replaced) {
    copyFileSync(currentFile, previousFileOf(currentFile));
    // The candidate forecasts the same series as the model it replaces (load or net load).
    writeFileDurably(currentFile, withMetadata(trained.onnx, { ...(info.metadata.series ? { series: info.metadata.series } : {}), ...scores }), 0o644);
  } else {
    writeFileDurably(currentFile, withMetadata(currentBytes, scores), 0o644);
  }
  writeFileDurably(scoresFileOf(currentFile), `${JSON.stringify([...readRetrainHistory(currentFile), record].slice(-MAX_HISTORY), null, 2)}\n`, 0o644);
  return record;
}
