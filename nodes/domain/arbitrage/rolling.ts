// The rolling-horizon side of arbitrage: the prices known so far, the problem at a moment (the
// current step, partly gone, then whole steps to the end of the known prices or the horizon), the
// plan in the contract's shape, and when a plan is stale. The arbitrage node drives it.
import type { Plan, PriceSeries } from '../contracts';
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

/** Plan at `now` from `socPct`; null when no price is known for the current step. */
export async function planAt(now: number, book: PriceBook, socPct: number, s: ArbitrageSettings, siteId: string, siteNetLoadKw?: number): Promise<PlanAt | null> {
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
  if (siteNetLoadKw !== undefined && (s.gridImportMaxKw !== undefined || s.gridExportMaxKw !== undefined)) {
    // Persistence forecast: the site's net load now, for every step.
    problem.loadKw = prices.map(() => Math.max(0, siteNetLoadKw));
    problem.pvKw = prices.map(() => Math.max(0, -siteNetLoadKw));
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
