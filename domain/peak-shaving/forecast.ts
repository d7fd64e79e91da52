// The 'auto' threshold: learnt from the past only (no foresight). The recent days' net load at
// each time of day gives a forecast of the next day (a high quantile, so that an ordinary day
// does not drain the battery); the threshold is the lowest the battery could hold over that
// forecast from its present SoC. Measured on the household year (bench/peak.ts), a day's
// horizon, a week of history and the 0.9 quantile came closest to the perfect-foresight optimum;
// the month-peak ratchet in controller.ts then absorbs the days the forecast was too low.

export interface ForecastConfig {
  intervalMs: number;
  historyDays: number;
  forecastQuantile: number;
  horizonIntervals: number;
}

/** The q-quantile of values (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? 0;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

/**
 * The net load expected over the horizon, W per interval, starting with the interval now (whose
 * load is known: netNowW). Each later interval takes the quantile of the same time of day over
 * the history; a time of day not seen yet takes the highest interval seen (or netNowW).
 */
export function learnedProfileW(history: readonly (readonly [number, number])[], ts: number, netNowW: number, cfg: ForecastConfig): number[] {
  const slots = Math.max(1, Math.round(86_400_000 / cfg.intervalMs));
  const bySlot: number[][] = Array.from({ length: slots }, () => []);
  let highest = netNowW;
  for (const [start, w] of history) {
    bySlot[Math.floor((start % 86_400_000) / cfg.intervalMs) % slots]?.push(w);
    highest = Math.max(highest, w);
  }
  const profile = bySlot.map((vals) => (vals.length ? quantile(vals, cfg.forecastQuantile) : highest));
  const now = Math.floor((ts % 86_400_000) / cfg.intervalMs);
  const out = [netNowW];
  for (let k = 1; k < cfg.horizonIntervals; k++) out.push(profile[(now + k) % slots] ?? highest);
  return out;
}

/** A day-ahead net load forecast as the load-forecast node sends it (kW per step, + = import). */
export interface NetLoadForecast {
  /** Start of the first step, ms UTC. */
  start: number;
  stepMinutes: number;
  loadKw: readonly number[];
}

/**
 * The profile of learnedProfileW with the intervals a load forecast covers taken from it instead
 * (its time-weighted mean over each interval, kW -> W): the model forecasts the day itself, where
 * the learnt quantiles only repeat the recent past. The interval now stays the measured netNowW,
 * and an interval the forecast does not cover keeps the learnt value.
 */
export function forecastProfileW(learnedW: readonly number[], forecast: NetLoadForecast, ts: number, cfg: Pick<ForecastConfig, 'intervalMs'>): number[] {
  const stepMs = forecast.stepMinutes * 60_000;
  const end = forecast.start + forecast.loadKw.length * stepMs;
  const first = Math.floor(ts / cfg.intervalMs) * cfg.intervalMs;
  return learnedW.map((w, k) => {
    if (k === 0) return w;
    const from = first + k * cfg.intervalMs;
    const to = from + cfg.intervalMs;
    if (from < forecast.start || to > end) return w;
    let energy = 0;
    for (let j = Math.floor((from - forecast.start) / stepMs); j < forecast.loadKw.length; j++) {
      const a = forecast.start + j * stepMs;
      if (a >= to) break;
      energy += (forecast.loadKw[j] ?? 0) * 1000 * (Math.min(to, a + stepMs) - Math.max(from, a));
    }
    return energy / cfg.intervalMs;
  });
}

export interface BucketBattery {
  energyWh: number;
  reserveWh: number;
  fullWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  /** Interval length, h. */
  stepH: number;
  /** One-way efficiency (charge and discharge alike). */
  efficiency: number;
}

/** Can the battery hold import at thresholdW over the profile, shaving above and recharging below? */
export function canHold(profileW: readonly number[], thresholdW: number, b: BucketBattery): boolean {
  let e = b.energyWh;
  for (const w of profileW) {
    if (w > thresholdW) {
      const d = w - thresholdW;
      if (d > b.maxDischargeW + 1e-9) return false;
      e -= (d * b.stepH) / b.efficiency;
      if (e < b.reserveWh - 1e-9) return false;
    } else {
      e = Math.min(Math.max(e, b.fullWh), e + Math.min(b.maxChargeW, thresholdW - w) * b.stepH * b.efficiency);
    }
  }
  return true;
}

/** The lowest threshold (to 1 W) the battery can hold over the profile; 0 when import never comes. */
export function holdableThresholdW(profileW: readonly number[], b: BucketBattery): number {
  let hi = Math.max(0, ...profileW);
  if (hi === 0 || canHold(profileW, 0, b)) return 0;
  let lo = 0;
  while (hi - lo > 1) {
    const mid = (lo + hi) / 2;
    if (canHold(profileW, mid, b)) hi = mid;
    else lo = mid;
  }
  return hi;
}
