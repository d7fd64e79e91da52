// Peak shaving: keep grid import at or under a threshold with the battery, recharge while import
// is low enough, keep a SoC reserve, and remember the month's billed peak (demand charges are
// billed on the month's highest 15-minute average import, so once the month has reached X,
// holding import below X buys nothing). Pure: state in, state out; the node and the benchmark
// drive it. Shape after OpenEMS's PeakShaving controller (io.openems.edge.controller.ess.
// peakshaving): one run() with a "Peak-Shaving" branch and a "Recharge" branch.
//
// Signs (docs/ARCHITECTURE.md, "Conventions"): grid + = import; battery + = discharge. The site's load net of PV is what
// the grid would carry without the battery: net = grid + battery.
import { z } from 'zod';
import { forecastProfileW, holdableThresholdW, learnedProfileW, type NetLoadForecast } from './forecast';

export const PeakShavingConfigSchema = z.object({
  /**
   * 'fixed': hold import at thresholdW. 'auto': learn the threshold from the load seen so far
   * (forecast.ts) and never go below thresholdW (a floor, 0 = none).
   */
  mode: z.enum(['fixed', 'auto']).default('fixed'),
  thresholdW: z.number().finite().nonnegative().default(5000),
  /** Peak shaving never discharges below this SoC: it belongs to backup (black start, level 2). */
  reserveSocPct: z.number().min(0).max(100).default(20),
  /** Recharge only while import is this far under the threshold, and only up to that level. */
  rechargeMarginW: z.number().finite().nonnegative().default(0),
  /** Recharge stops here (the safety envelope still has the last word on the SoC window). */
  rechargeToSocPct: z.number().min(0).max(100).default(95),
  /** Effective threshold = max(threshold, this month's billed peak so far). */
  trackMonthPeak: z.boolean().default(true),
  /** Billing interval: the demand charge is on the highest average import over one interval. */
  intervalMs: z.number().int().positive().default(900_000),
  /** Auto mode: days of history kept, and the quantile of each time-of-day slot forecast. */
  historyDays: z.number().int().min(1).max(60).default(7),
  forecastQuantile: z.number().min(0).max(1).default(0.9),
  /** Auto mode: forecast horizon, intervals (96 = one day of 15-minute intervals). */
  horizonIntervals: z.number().int().min(1).max(2000).default(96),
  /** Auto mode: assumed round-trip efficiency of the battery for the forecast. */
  roundTripEfficiency: z.number().gt(0).max(1).default(0.9),
});
export type PeakShavingConfig = z.infer<typeof PeakShavingConfigSchema>;
export const DEFAULT_PEAK_SHAVING_CONFIG: PeakShavingConfig = PeakShavingConfigSchema.parse({});

export interface PeakShavingInput {
  ts: number;
  /** Grid power at the meter now, W, + = import. */
  gridW: number;
  /** Battery (PCS AC) power now, W, + = discharge. */
  batteryW: number;
  socPct: number;
  capacityWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  /** Auto mode: the site's day-ahead net load forecast (load-forecast node), used where it covers the horizon. */
  forecast?: NetLoadForecast;
}

/** One billing interval being averaged: integrals in W·ms over the time covered. */
interface OpenInterval {
  start: number;
  gridWms: number;
  netWms: number;
  coveredMs: number;
}

export interface PeakShavingState {
  /** The billing month of the last sample, 'YYYY-MM' (UTC), null before the first. */
  month: string | null;
  /** Highest closed interval-average import this month, W (0 when nothing was imported). */
  monthPeakW: number;
  interval: OpenInterval | null;
  /** The last sample: its time, the import expected after our action, and the net load. */
  last: { ts: number; gridAfterW: number; netW: number } | null;
  /** Closed interval averages of the net load, [interval start, W], oldest first. */
  history: [number, number][];
  /** The threshold learnt at the start of the current interval (auto mode), W. */
  learnedW: number | null;
}

export const INITIAL_PEAK_SHAVING_STATE: PeakShavingState = {
  month: null, monthPeakW: 0, interval: null, last: null, history: [], learnedW: null,
};

export type PeakShavingAction = 'shave' | 'recharge' | 'hold' | 'idle';

export interface PeakShavingOutput {
  /** The battery power to request, W (+ = discharge); null = nothing to do, let lower levels act. */
  powerW: number | null;
  action: PeakShavingAction;
  reason: string;
  /** The threshold in force: max(threshold, month peak) when tracking, W. */
  thresholdW: number;
  monthPeakW: number;
  /** Average import of the current billing interval so far, W. */
  intervalAvgW: number;
  /** Load net of PV (what the grid would carry without the battery), W. */
  netW: number;
  state: PeakShavingState;
}

export function monthOf(ts: number): string {
  return new Date(ts).toISOString().slice(0, 7);
}

const kw = (w: number): string => `${(w / 1000).toFixed(2)} kW`;

/**
 * Account the time since the last sample to the billing interval it fell in (a sample's import
 * holds until the next sample), close intervals that ended, and roll the month over.
 */
function account(state: PeakShavingState, ts: number, cfg: PeakShavingConfig): PeakShavingState {
  let { monthPeakW, interval, history, learnedW } = state;
  const last = state.last;
  if (last && interval && ts > last.ts) {
    const end = Math.min(ts, interval.start + cfg.intervalMs);
    const dt = end - last.ts;
    if (dt > 0) interval = { ...interval, gridWms: interval.gridWms + last.gridAfterW * dt, netWms: interval.netWms + last.netW * dt, coveredMs: interval.coveredMs + dt };
  }
  const start = Math.floor(ts / cfg.intervalMs) * cfg.intervalMs;
  if (!interval || interval.start !== start) {
    if (interval && interval.coveredMs > 0) {
      const gridAvg = interval.gridWms / interval.coveredMs;
      if (monthOf(interval.start) === monthOf(ts)) monthPeakW = Math.max(monthPeakW, gridAvg);
      history = [...history, [interval.start, interval.netWms / interval.coveredMs] as [number, number]];
      const keep = cfg.historyDays * Math.round(86_400_000 / cfg.intervalMs);
      if (history.length > keep) history = history.slice(history.length - keep);
    }
    // The part of the last sample's span that falls in the new interval counts there.
    const dt = last ? ts - Math.max(last.ts, start) : 0;
    interval = last && dt > 0
      ? { start, gridWms: last.gridAfterW * dt, netWms: last.netW * dt, coveredMs: dt }
      : { start, gridWms: 0, netWms: 0, coveredMs: 0 };
    learnedW = null;
  }
  const month = monthOf(ts);
  if (state.month !== null && month !== state.month) monthPeakW = 0;
  return { ...state, month, monthPeakW: Math.max(0, monthPeakW), interval, history, learnedW };
}

/** One control cycle: the meter and battery now -> the battery power to request. */
export function step(prev: PeakShavingState, input: PeakShavingInput, cfg: PeakShavingConfig): PeakShavingOutput {
  let state = account(prev, input.ts, cfg);
  const netW = input.gridW + input.batteryW;
  const maxChargeW = Math.max(0, input.maxChargeW);
  const maxDischargeW = Math.max(0, input.maxDischargeW);

  let baseW = cfg.thresholdW;
  if (cfg.mode === 'auto') {
    // Learnt once per billing interval, from the SoC and the load at its start: the lowest
    // threshold the battery could hold for the next day if it looked like the recent past, or
    // like the load forecast where one covers it.
    let learnedW = state.learnedW;
    if (learnedW === null) {
      const learned = learnedProfileW(state.history, input.ts, netW, cfg);
      const profile = input.forecast ? forecastProfileW(learned, input.forecast, input.ts, cfg) : learned;
      learnedW = holdableThresholdW(profile, {
        energyWh: (input.socPct / 100) * input.capacityWh,
        reserveWh: (cfg.reserveSocPct / 100) * input.capacityWh,
        fullWh: (cfg.rechargeToSocPct / 100) * input.capacityWh,
        maxChargeW, maxDischargeW,
        stepH: cfg.intervalMs / 3_600_000,
        efficiency: Math.sqrt(cfg.roundTripEfficiency),
      });
      state = { ...state, learnedW };
    }
    baseW = Math.max(cfg.thresholdW, learnedW);
  }
  const thresholdW = cfg.trackMonthPeak ? Math.max(baseW, state.monthPeakW) : baseW;

  let powerW: number | null;
  let action: PeakShavingAction;
  let reason: string;
  const excessW = netW - thresholdW;
  if (excessW > 0) {
    // Peak-Shaving: discharge by the excess (never more, so the battery never exports).
    if (input.socPct <= cfg.reserveSocPct) {
      // At the reserve: hold 0 W rather than withdraw, so no lower level charges into the peak.
      powerW = 0;
      action = 'hold';
      reason = `import ${kw(netW)} above ${kw(thresholdW)} but SoC ${input.socPct.toFixed(1)} % at the ${cfg.reserveSocPct} % reserve`;
    } else {
      powerW = Math.min(excessW, maxDischargeW);
      action = 'shave';
      reason = `shave ${kw(excessW)} over ${kw(thresholdW)}`;
    }
  } else if (netW < thresholdW - cfg.rechargeMarginW && input.socPct < cfg.rechargeToSocPct) {
    // Recharge: only from the room under the threshold, so recharging never makes a new peak.
    powerW = -Math.min(maxChargeW, thresholdW - cfg.rechargeMarginW - netW);
    action = 'recharge';
    reason = `recharge ${kw(-powerW)} under ${kw(thresholdW - cfg.rechargeMarginW)}`;
  } else {
    powerW = null;
    action = 'idle';
    reason = `import ${kw(netW)} within ${kw(thresholdW)}; nothing to do`;
  }

  // The import this sample's span will see: after our request, or with the battery at rest when
  // we withdraw (what a lower level then does is measured at the next sample, a cycle later).
  const gridAfterW = netW - (powerW ?? 0);
  state = { ...state, last: { ts: input.ts, gridAfterW, netW } };
  const iv = state.interval;
  const intervalAvgW = iv && iv.coveredMs > 0 ? iv.gridWms / iv.coveredMs : gridAfterW;
  return { powerW, action, reason, thresholdW, monthPeakW: state.monthPeakW, intervalAvgW, netW, state };
}
