// The rolling-horizon side of arbitrage: the prices known so far, the problem at a moment (the
// current step, partly gone, then whole steps to the end of the known prices or the horizon), the
// plan in the contract's shape, and when a plan is stale. The arbitrage node drives it.
import type { LoadForecast, Plan, PriceSeries } from '../contracts';
import type { SiteForecast } from '../forecast/site-forecast';
import { exportPriceEurPerKwh, importPriceEurPerKwh, monthIndex, type SiteTariff } from '../tariff/tariff';
import { quantile, terminalValueEurPerKwh, TERMINAL_QUANTILE } from './horizon';
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
  /** When the plan is due again, ms: the end of its first step (a site plan: of the current hour). */
  replanAt: number;
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

/** What a plan against the site's bill needs beyond the prices: the tariff, the month's peak so
 * far and the site's own forecast of load and PV (domain/forecast/site-forecast.ts). */
export interface SiteInputs {
  tariff: SiteTariff;
  /** The month's highest 15-minute mean import so far, kW (tariff.ts MonthPeak). */
  peakSoFarKw: number;
  /** Load and PV per 15-minute step from the step holding `now`; null = none yet. */
  forecast: SiteForecast | null;
}

const QUARTER_MS = 900_000;
const HOUR_MS = 3_600_000;
/** The import price quantile that values the energy left at a site plan's end. Any higher and the
 * plan holds energy through hours it could serve for dearer hours a PV morning then makes cheap
 * (bench/site.ts on the household data, before the dispatch took unforeseen surplus and deficit:
 * 0.88 of the optimum at the median, 0.92 at the lowest on three weeks of May; the README has the rest). */
export const SITE_TERMINAL_QUANTILE = 0;

/**
 * The plan against the site's bill: 15-minute steps (the meter's and the demand charge's grid) to
 * the end of the current hour, then hourly steps to the end of the known prices or the horizon
 * (a third of the LP's size of all-quarter steps at the same prices: the re-plan every hour and
 * dispatch.ts's following of the meter take care of what happens inside an hour). Load and PV per
 * step are the site forecast's means (past its end, or without one, the net load measured now);
 * import and export are priced by the tariff. The energy left at the end is valued at the lowest
 * import price over the horizon times the discharge efficiency, less wear (SITE_TERMINAL_QUANTILE).
 * The plan as sent keeps 15-minute steps throughout.
 */
async function sitePlanAt(now: number, book: PriceBook, socPct: number, s: ArbitrageSettings, siteId: string, site: SiteInputs, siteNetLoadKw?: number): Promise<PlanAt | null> {
  const start = Math.floor(now / QUARTER_MS) * QUARTER_MS;
  const end = start + Math.max(QUARTER_MS, Math.round(s.horizonHours * 4) * QUARTER_MS);
  const hourEnd = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  const intervals: [number, number][] = [];
  const spot: number[] = [];
  for (let a = start; a < end; ) {
    const b = a < hourEnd ? a + QUARTER_MS : Math.min(end, a + HOUR_MS);
    // The mean of the known prices inside the interval; the first unknown one ends the plan.
    let sum = 0;
    let k = 0;
    for (let q = a; q < b; q += QUARTER_MS) {
      const { prices } = book.from(q, 1);
      if (prices.length === 0) break;
      sum += prices[0] as number;
      k++;
    }
    if (k * QUARTER_MS < b - a) break;
    intervals.push([a, b]);
    spot.push(sum / k);
    a = b;
  }
  if (spot.length === 0) return null;
  const stepHours = intervals.map(([a, b], i) => (i === 0 ? Math.max(0.25 * 0.02, (b - now) / HOUR_MS) : (b - a) / HOUR_MS));
  const f = site.forecast;
  const fallback = siteNetLoadKw ?? 0;
  const meanOf = (arr: readonly number[] | undefined, [a, b]: readonly [number, number], dflt: number): number => {
    let sum = 0;
    let k = 0;
    for (let q = a; q < b; q += QUARTER_MS) {
      const j = f && arr ? Math.round((q - f.start) / QUARTER_MS) : -1;
      sum += f && arr && j >= 0 && j < arr.length ? (arr[j] as number) : dflt;
      k++;
    }
    return sum / k;
  };
  const loadKw = intervals.map((iv) => meanOf(f?.loadKw, iv, Math.max(0, fallback)));
  const pvKw = intervals.map((iv) => meanOf(f?.pvKw, iv, Math.max(0, -fallback)));
  // The demand charge's margin: how far the load may run above the forecast in the step.
  const marginKw = intervals.map((iv, i) => Math.max(0, meanOf(f?.loadHighKw, iv, loadKw[i] as number) - (loadKw[i] as number)));
  const imp = spot.map((x) => importPriceEurPerKwh(x, site.tariff));
  const problem: BatteryProblem = {
    pricesEurPerMWh: spot, stepHours, capacityKwh: s.capacityKwh, socStartPct: socPct,
    socMinPct: s.socMinPct, socMaxPct: s.socMaxPct, maxChargeKw: s.maxChargeKw, maxDischargeKw: s.maxDischargeKw,
    etaCharge: s.etaCharge, etaDischarge: s.etaDischarge, degradationEurPerKwh: s.degradationEurPerKwh,
    terminalValueEurPerKwh: Math.max(0, quantile(imp, s.terminalQuantile ?? SITE_TERMINAL_QUANTILE) * s.etaDischarge - s.degradationEurPerKwh),
    loadKw, pvKw,
    tariff: {
      importEurPerKwh: imp,
      exportEurPerKwh: spot.map((x) => exportPriceEurPerKwh(x, site.tariff)),
      demandChargeEurPerKw: site.tariff.demandChargeEurPerKw,
      month: intervals.map(([a]) => monthIndex(a)),
      peakSoFarKw: site.peakSoFarKw,
      peakMarginKw: marginKw,
    },
    ...(s.gridImportMaxKw !== undefined ? { gridImportMaxKw: s.gridImportMaxKw } : {}),
    ...(s.gridExportMaxKw !== undefined ? { gridExportMaxKw: s.gridExportMaxKw } : {}),
  };
  const schedule = await planSchedule(problem);
  // Back to 15-minute steps: an hourly step's power holds for its four quarters, its SoC moves evenly.
  const quarters: number[] = [];
  const quarter = { power: [] as number[], soc: [] as number[], grid: [] as (number | null)[], spot: [] as number[], imp: [] as number[], exp: [] as number[] };
  let socBefore = socPct;
  intervals.forEach(([a, b], i) => {
    const n = Math.max(1, Math.round((b - a) / QUARTER_MS));
    const socEnd = schedule.socPct[i] as number;
    for (let q = 0; q < n; q++) {
      quarters.push(a + q * QUARTER_MS);
      quarter.power.push(schedule.powerKw[i] as number);
      quarter.soc.push(socBefore + ((socEnd - socBefore) * (q + 1)) / n);
      quarter.grid.push(schedule.gridKw[i] ?? null);
      quarter.spot.push(spot[i] as number);
      quarter.imp.push(imp[i] as number);
      quarter.exp.push(problem.tariff?.exportEurPerKwh[i] as number);
    }
    socBefore = socEnd;
  });
  const plan: Plan = {
    siteId,
    ts: now,
    stepMinutes: 15,
    steps: quarters.map((t, i) => ({
      start: t,
      priceEurPerMWh: quarter.spot[i] as number,
      powerW: round((quarter.power[i] as number) * 1000),
      socPct: round(quarter.soc[i] as number, 3),
      gridW: quarter.grid[i] === null ? null : round((quarter.grid[i] as number) * 1000),
      importEurPerKwh: round(quarter.imp[i] as number, 5),
      exportEurPerKwh: round(quarter.exp[i] as number, 5),
    })),
    objectiveEur: round(schedule.objectiveEur, 4),
    solveMs: round(schedule.solveMs, 2),
    reason: '',
    ...(schedule.billEur !== null && schedule.billNoBatteryEur !== null ? { billEur: round(schedule.billEur, 4), billNoBatteryEur: round(schedule.billNoBatteryEur, 4) } : {}),
  };
  return { plan, schedule, socStartPct: socPct, replanAt: Math.min(hourEnd, intervals[intervals.length - 1]?.[1] ?? hourEnd) };
}

function toPlan(siteId: string, now: number, stepMinutes: 15 | 60, start: number, stepMs: number, prices: readonly number[], schedule: BatterySchedule): Plan {
  return {
    siteId,
    ts: now,
    stepMinutes,
    steps: prices.map((p, i) => ({
      start: start + i * stepMs,
      priceEurPerMWh: p,
      powerW: round((schedule.powerKw[i] as number) * 1000),
      socPct: round(schedule.socPct[i] as number, 3),
      gridW: schedule.gridKw[i] === null ? null : round((schedule.gridKw[i] as number) * 1000),
    })),
    objectiveEur: round(schedule.objectiveEur, 4),
    solveMs: round(schedule.solveMs, 2),
    reason: '',
  };
}

/**
 * Plan at `now` from `socPct`; null when no price is known for the current step. With `site` (a
 * tariff) the plan minimises the site's bill (sitePlanAt), otherwise it trades the spot spread. With a load
 * forecast (`loadForecast`, the load-forecast node's message) the site's load and PV per step come
 * from it, so a grid limit is planned against the forecast peak rather than against the load now.
 */
export async function planAt(now: number, book: PriceBook, socPct: number, s: ArbitrageSettings, siteId: string, siteNetLoadKw?: number, loadForecast?: LoadForecast, site?: SiteInputs): Promise<PlanAt | null> {
  if (site) return sitePlanAt(now, book, socPct, s, siteId, site, siteNetLoadKw);
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
  const plan = toPlan(siteId, now, book.stepMinutes ?? 60, start, book.stepMs, prices, schedule);
  return { plan, schedule, socStartPct: socPct, replanAt: start + book.stepMs };
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
