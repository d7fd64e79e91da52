// Day-ahead load forecast features: at 00:00 of day D, one row per 15-minute step of D built only
// from calendar facts of D and the load of the 14 days before D. Lagged loads are given in the
// series' own unit; the model divides them by the 7-day level inside its ONNX graph, so one model
// serves a 1 kW household and a 2 GW city alike (the level column is the divisor).
import type { Region } from './holidays';
import { isPublicHoliday } from './holidays';

export const STEPS_PER_DAY = 96;
export const STEP_MS = 900_000;
export const DAY_MS = 86_400_000;
/** Days of history a forecast needs before the day it forecasts. */
export const HISTORY_DAYS = 14;

export const FEATURE_NAMES = [
  'step_of_day',
  'weekday',
  'holiday',
  'holiday_yesterday',
  'holiday_last_week',
  'level_7d',
  'lag_7d',
  'lag_14d',
  'lag_1d',
  'mean_yesterday',
  'last_value',
  'mean_7d_ago',
  'week_profile',
  'lag_7d_smoothed',
  'mean_14d_ago',
] as const;
export const N_FEATURES = FEATURE_NAMES.length;
/** Index of the column every load-valued column is divided by in the graph. */
export const LEVEL_FEATURE = FEATURE_NAMES.indexOf('level_7d');
/** 1 for the columns in load units (scaled by the level), 0 for calendar columns. */
export const LOAD_SCALED: readonly number[] = FEATURE_NAMES.map((_, i) => (i >= LEVEL_FEATURE ? 1 : 0));

export class ForecastInputError extends Error {
  override name = 'ForecastInputError';
}

function mean(values: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += values[i] ?? 0;
  return s / (to - from);
}

function meanAbs(values: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += Math.abs(values[i] ?? 0);
  return s / (to - from);
}

/**
 * The 96 feature rows (row-major, N_FEATURES columns) for the day starting at `dayStartMs`,
 * from `history`: exactly HISTORY_DAYS * 96 loads ending at dayStartMs (oldest first).
 */
export function dayAheadFeatures(history: ArrayLike<number>, dayStartMs: number, region: Region): Float32Array {
  const H = HISTORY_DAYS * STEPS_PER_DAY;
  if (history.length !== H) throw new ForecastInputError(`need ${H} steps of history (14 days), got ${history.length}`);
  for (let i = 0; i < H; i++) {
    if (!Number.isFinite(history[i])) throw new ForecastInputError(`history step ${i} is not a finite number`);
  }
  if (dayStartMs % DAY_MS !== 0) throw new ForecastInputError('dayStartMs must be a day start (00:00)');
  const dayOff = (daysBack: number): number => H - daysBack * STEPS_PER_DAY;
  // The mean magnitude, not the mean: the same for a load (always >= 0), and still a scale for a
  // net load (load - PV), whose week can average near or below zero in summer.
  const level = Math.max(meanAbs(history, dayOff(7), H), 1e-9);
  const meanYesterday = mean(history, dayOff(1), H);
  const mean7 = mean(history, dayOff(7), dayOff(6));
  const mean14 = mean(history, 0, STEPS_PER_DAY);
  const last = history[H - 1] ?? 0;
  const weekday = (new Date(dayStartMs).getUTCDay() + 6) % 7;
  const hol = isPublicHoliday(dayStartMs, region) ? 1 : 0;
  const holY = isPublicHoliday(dayStartMs - DAY_MS, region) ? 1 : 0;
  const holW = isPublicHoliday(dayStartMs - 7 * DAY_MS, region) ? 1 : 0;
  const out = new Float32Array(STEPS_PER_DAY * N_FEATURES);
  for (let s = 0; s < STEPS_PER_DAY; s++) {
    let week = 0;
    for (let d = 1; d <= 7; d++) week += history[dayOff(d) + s] ?? 0;
    const lo = Math.max(0, s - 2);
    const hi = Math.min(STEPS_PER_DAY, s + 3);
    const row = [
      s,
      weekday,
      hol,
      holY,
      holW,
      level,
      history[dayOff(7) + s] ?? 0,
      history[dayOff(14) + s] ?? 0,
      history[dayOff(1) + s] ?? 0,
      meanYesterday,
      last,
      mean7,
      week / 7,
      mean(history, dayOff(7) + lo, dayOff(7) + hi),
      mean14,
    ];
    out.set(row, s * N_FEATURES);
  }
  return out;
}

/** A uniform 15-minute load series starting at a day's 00:00. */
export interface LoadSeries {
  startMs: number;
  values: Float64Array;
}

/** Whole days of `series` (index 0 = the day at startMs). */
export function dayCount(series: LoadSeries): number {
  return Math.floor(series.values.length / STEPS_PER_DAY);
}

/** Features for day index `d` of the series (needs d >= HISTORY_DAYS). */
export function featuresForDay(series: LoadSeries, d: number, region: Region): Float32Array {
  if (d < HISTORY_DAYS) throw new ForecastInputError(`day ${d} has less than ${HISTORY_DAYS} days of history`);
  const hist = series.values.subarray((d - HISTORY_DAYS) * STEPS_PER_DAY, d * STEPS_PER_DAY);
  return dayAheadFeatures(hist, series.startMs + d * DAY_MS, region);
}
