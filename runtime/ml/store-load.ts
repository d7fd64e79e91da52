// A site's load history as the forecast model needs it, read from the time-series store: 15-minute
// means of netLoadW (grid meter + PCS power: the site's consumption net of PV, as the arbitrage
// and load-forecast nodes compute it, io/timeseries/fields.ts) in kW, on the site's calendar.
import { DAY_MS, STEPS_PER_DAY, STEP_MS } from '../../domain/forecast/features';
import { MAX_FILLED_FRACTION } from '../../domain/forecast/load-history';
import { rangeBuckets, type TimeseriesStore } from '../../io/timeseries/store';
import type { LoadedSeries } from './load-series';

/** 15-minute mean site load in kW by step start (ms UTC) over [from, to); steps without records are absent. */
export async function loadSteps(store: TimeseriesStore, siteId: string, from: number, to: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const b of await rangeBuckets(store, { siteId, from, to, everyMs: STEP_MS, fields: ['netLoadW'] })) {
    const w = b.fields.netLoadW?.mean;
    if (typeof w === 'number' && Number.isFinite(w)) out.set(b.start, w / 1000);
  }
  return out;
}

/** The actual load of the 96 steps from `start` (ms UTC), kW, null where nothing was stored. */
export async function actualDay(store: TimeseriesStore, siteId: string, start: number): Promise<(number | null)[]> {
  const steps = await loadSteps(store, siteId, start, start + DAY_MS);
  return Array.from({ length: STEPS_PER_DAY }, (_, i) => steps.get(start + i * STEP_MS) ?? null);
}

export type SeriesResult = { series: LoadedSeries; filled: number } | { series: null; reason: string };

/**
 * Whole site-local days of load before the local day `endDayLocal` (a local-calendar midnight,
 * ms), at most `maxDays`, starting at the first local day with data. A missing step is filled like
 * the load-forecast node fills its window (LoadHistory): the same step a week before, else the
 * step before; more than MAX_FILLED_FRACTION filled steps and the series is refused.
 */
export async function seriesFromStore(
  store: TimeseriesStore, siteId: string, endDayLocal: number, maxDays: number, offsetMs: number, minDays: number,
): Promise<SeriesResult> {
  const toUtc = endDayLocal - offsetMs;
  const steps = await loadSteps(store, siteId, toUtc - maxDays * DAY_MS, toUtc);
  if (steps.size === 0) return { series: null, reason: 'no load history in the store' };
  const firstStep = Math.min(...steps.keys());
  const firstDayLocal = Math.ceil((firstStep + offsetMs) / DAY_MS) * DAY_MS;
  const days = Math.round((endDayLocal - firstDayLocal) / DAY_MS);
  if (days < minDays) return { series: null, reason: `${Math.max(days, 0)} whole days of load history, ${minDays} needed` };
  const n = days * STEPS_PER_DAY;
  const values = new Float64Array(n);
  const start = firstDayLocal - offsetMs;
  let filled = 0;
  for (let i = 0; i < n; i++) {
    const v = steps.get(start + i * STEP_MS);
    if (v !== undefined) {
      values[i] = v;
      continue;
    }
    filled++;
    const week = steps.get(start + (i - 7 * STEPS_PER_DAY) * STEP_MS);
    values[i] = i >= 7 * STEPS_PER_DAY ? values[i - 7 * STEPS_PER_DAY]! : week ?? (i > 0 ? values[i - 1]! : NaN);
  }
  if (filled > MAX_FILLED_FRACTION * n) return { series: null, reason: `${filled} of ${n} steps missing (more than ${MAX_FILLED_FRACTION * 100} %)` };
  const first = values.findIndex((v) => Number.isFinite(v));
  for (let i = 0; i < first; i++) values[i] = values[first]!;
  return { series: { startMs: firstDayLocal, values, unit: 'kW', file: `timeseries:${siteId}` }, filled };
}
