// The rolling-horizon side of arbitrage: the prices known so far, the problem at a moment (the
// current step, partly gone, then whole steps to the end of the known prices or the horizon), the
// plan in the contract's shape, and when a plan is stale. The arbitrage node drives it.
import type { LoadForecast, Plan, PriceSeries } from '../contracts';
import { terminalValueEurPerKwh, TERMINAL_QUANTILE } from './horizon';
import { planSchedule, type BatteryProblem, type BatterySchedule } from './schedule';

export interface ArbitrageSettings {
  capacityKwh: number;
  maxChargeKw: number;
  maxDischargeKw: number;
  etaCharge: number;
  etaDischarge: number;
  socMinPct: number;
  socMaxPct: number;
  degradationEurPerKwh: number;
  horizonHours: number;
  gridImportMaxKw?: number;
  gridExportMaxKw?: number;
  terminalQuantile?: number;
}

/** Known prices by step start; a newer series overwrites the steps it covers. */
export class PriceBook {
  private prices = new Map<number, number>();
  stepMinutes: 15 | 60 | null = null;

  /** Add a series; true when any known price changed or was added. */
  put(series: PriceSeries): boolean {
    if (this.stepMinutes !== series.stepMinutes) {
      // A different grid replaces what was known: mixing grids would leave holes.
      this.prices.clear();
      this.stepMinutes = series.stepMinutes;
    }
    const step = series.stepMinutes * 60_000;
    let changed = false;
    series.pricesEurPerMWh.forEach((p, i) => {
      const t = series.start + i * step;
      if (this.prices.get(t) !== p) changed = true;
      this.prices.set(t, p);
    });
    return changed;
  }

  get stepMs(): number {
    return (this.stepMinutes ?? 60) * 60_000;
  }

  /** Start of the step holding `now`. */
  stepStart(now: number): number {
    return Math.floor(now / this.stepMs) * this.stepMs;
  }

  /** Consecutive known prices from the step holding `now`, at most `maxSteps`. */
  from(now: number, maxSteps: number): { start: number; prices: number[] } {
    const start = this.stepStart(now);
    const prices: number[] = [];
    for (let t = start; prices.length < maxSteps; t += this.stepMs) {
      const p = this.prices.get(t);
      if (p === undefined) break;
      prices.push(p);
    }
    return { start, prices };
  }

  /** Forget prices of steps that ended before `now`. */
  prune(now: number): void {
    for (const t of this.prices.keys()) if (t + this.stepMs <= now) this.prices.delete(t);
  }

  get size(): number {
    return this.prices.size;
  }
}

export interface PlanAt {
  plan: Plan;
  schedule: BatterySchedule;
  /** SoC at the start of the plan (the measurement it was made from), %. */
  socStartPct: number;
}

/**
 * The site's net load (kW, + = consumption, - = PV surplus) over each interval [from, to): the load
 * forecast's time-weighted mean over the part of the interval its 15-minute steps cover, and the
 * measured net load now for the rest (past the forecast's end, persistence is the best guess left).
 * Without a measurement the uncovered part counts as no site load, as a plan without any forecast
 * treats the site.
 */
export function netLoadPerStep(intervals: readonly (readonly [from: number, to: number])[], forecast: LoadForecast, measuredKw?: number): number[] {
  const slotMs = forecast.stepMinutes * 60_000;
  return intervals.map(([from, to]) => {
    let energy = 0; // kW x ms
    let covered = 0;
    const first = Math.max(0, Math.floor((from - forecast.start) / slotMs));
    for (let j = first; j < forecast.loadKw.length; j++) {
      const a = forecast.start + j * slotMs;
      if (a >= to) break;
      const overlap = Math.min(to, a + slotMs) - Math.max(from, a);
      if (overlap <= 0) continue;
      energy += (forecast.loadKw[j] as number) * overlap;
      covered += overlap;
    }
    energy += (measuredKw ?? 0) * (to - from - covered);
    return energy / (to - from);
  });
}

/**
 * Plan at `now` from `socPct`; null when no price is known for the current step. With a load
 * forecast (`loadForecast`, the load-forecast node's message) the site's load and PV per step come
 * from it, so a grid limit is planned against the forecast peak rather than against the load now.
 */
export async function planAt(now: number, book: PriceBook, socPct: number, s: ArbitrageSettings, siteId: string, siteNetLoadKw?: number, loadForecast?: LoadForecast): Promise<PlanAt | null> {
  const { start, prices } = book.from(now, Math.max(1, Math.round((s.horizonHours * 3_600_000) / book.stepMs)));
  if (prices.length === 0) return null;
  const stepH = book.stepMs / 3_600_000;
  // The current step is partly gone: plan only what is left of it.
  const firstH = Math.max(stepH * 0.02, (start + book.stepMs - now) / 3_600_000);
  const stepHours = prices.map((_, i) => (i === 0 ? firstH : stepH));
  const problem: BatteryProblem = {
    pricesEurPerMWh: prices, stepHours, capacityKwh: s.capacityKwh, socStartPct: socPct,
    socMinPct: s.socMinPct, socMaxPct: s.socMaxPct, maxChargeKw: s.maxChargeKw, maxDischargeKw: s.maxDischargeKw,
    etaCharge: s.etaCharge, etaDischarge: s.etaDischarge, degradationEurPerKwh: s.degradationEurPerKwh,
    terminalValueEurPerKwh: terminalValueEurPerKwh(prices, s.etaDischarge, s.terminalQuantile ?? TERMINAL_QUANTILE, s.degradationEurPerKwh),
  };
  const limited = s.gridImportMaxKw !== undefined || s.gridExportMaxKw !== undefined;
  const stepEnd = (i: number): number => start + (i + 1) * book.stepMs;
  const forecastEnd = loadForecast ? loadForecast.start + loadForecast.loadKw.length * loadForecast.stepMinutes * 60_000 : 0;
  let net: number[] | null = null;
  if (loadForecast && forecastEnd > now) {
    // The current step's interval starts at `now`: only what is left of it is planned.
    net = netLoadPerStep(prices.map((_, i) => [i === 0 ? now : start + i * book.stepMs, stepEnd(i)] as const), loadForecast, siteNetLoadKw);
  } else if (siteNetLoadKw !== undefined && limited) {
    // Persistence forecast: the site's net load now, for every step.
    net = prices.map(() => siteNetLoadKw);
  }
  if (net) {
    problem.loadKw = net.map((x) => Math.max(0, x));
    problem.pvKw = net.map((x) => Math.max(0, -x));
    if (s.gridImportMaxKw !== undefined) problem.gridImportMaxKw = s.gridImportMaxKw;
    if (s.gridExportMaxKw !== undefined) problem.gridExportMaxKw = s.gridExportMaxKw;
  }
  const schedule = await planSchedule(problem);
  const plan: Plan = {
    siteId,
    ts: now,
    stepMinutes: book.stepMinutes ?? 60,
    steps: prices.map((p, i) => ({
      start: start + i * book.stepMs,
      priceEurPerMWh: p,
      powerW: round((schedule.powerKw[i] as number) * 1000),
      socPct: round(schedule.socPct[i] as number, 3),
      gridW: schedule.gridKw[i] === null ? null : round((schedule.gridKw[i] as number) * 1000),
    })),
    objectiveEur: round(schedule.objectiveEur, 4),
    solveMs: round(schedule.solveMs, 2),
    reason: '',
  };
  return { plan, schedule, socStartPct: socPct };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The SoC the plan expects at `now`, %, between its start and the end of the step holding now. */
export function expectedSocPct(p: PlanAt, now: number): number | null {
  const steps = p.plan.steps;
  const stepMs = p.plan.stepMinutes * 60_000;
  const i = steps.findIndex((s) => now >= s.start && now < s.start + stepMs);
  if (i < 0) return null;
  const from = i === 0 ? { t: p.plan.ts, soc: p.socStartPct } : { t: (steps[i] as { start: number }).start, soc: (steps[i - 1] as { socPct: number }).socPct };
  const to = { t: (steps[i] as { start: number }).start + stepMs, soc: (steps[i] as { socPct: number }).socPct };
  const f = to.t > from.t ? Math.min(1, Math.max(0, (now - from.t) / (to.t - from.t))) : 1;
  return from.soc + (to.soc - from.soc) * f;
}
