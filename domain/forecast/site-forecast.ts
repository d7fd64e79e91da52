// The site's own forecast of load and PV from its own recent history, 15-minute steps, for the
// arbitrage plan (domain/arbitrage/rolling.ts) and bench/site.ts alike:
// - load: the mean of the same time of day over the last days, plus the deviation measured in the
//   last step, fading out over a few hours (a load that runs high now tends to stay high a while);
// - PV: an empirical clear-sky shape (each time of day's high quantile over the last two weeks:
//   the sunniest recent days, no location or panel data needed) times the recent yield, the ratio
//   of the PV measured to that shape over the last day blended with the last two weeks'.
// Nothing here looks at anything but the past it was given.

export const SITE_STEP_MS = 900_000;
const STEPS_PER_DAY = 96;

export interface SiteForecast {
  /** Start of the first step, ms (a multiple of 15 minutes). */
  start: number;
  stepMinutes: 15;
  loadKw: number[];
  pvKw: number[];
  /** A high load per step (the loadHighQuantile of the same time of day over the last days), kW:
   * what the load may well reach, for the demand charge's margin. */
  loadHighKw?: number[];
  /** A high net load per step (load - PV; the netHighQuantile of the same time of day over the
   * last days), kW: what the site may well draw from a grid or a battery when the load runs high or
   * the sun does not come, for the demand charge's import target (arbitrage/peak-target.ts). */
  netHighKw?: number[];
}

export interface SiteForecastOptions {
  /** Days of load averaged per time of day. */
  loadDays: number;
  /** Days behind the clear-sky shape. */
  shapeDays: number;
  /** Quantile of each time of day's PV over shapeDays that stands for a clear sky, 0..1. */
  shapeQuantile: number;
  /** Weight of the last day's yield against the shapeDays' mean yield, 0..1. */
  recentWeight: number;
  /** Steps over which the load's latest deviation fades to 1/e. */
  deviationSteps: number;
  /** Quantile of the same time of day's load over the last days that loadHighKw gives, 0..1. */
  loadHighQuantile: number;
  /** Quantile of the same time of day's net load over the last days that netHighKw gives, 0..1. */
  netHighQuantile: number;
}

export const DEFAULT_SITE_FORECAST: SiteForecastOptions = { loadDays: 7, shapeDays: 14, shapeQuantile: 0.9, recentWeight: 0.5, deviationSteps: 8, loadHighQuantile: 0.9, netHighQuantile: 0.9 };

export class SiteHistory {
  readonly #load = new Map<number, number>();
  readonly #pv = new Map<number, number>();
  readonly #o: SiteForecastOptions;

  constructor(options: Partial<SiteForecastOptions> = {}) {
    this.#o = { ...DEFAULT_SITE_FORECAST, ...options };
  }

  /** The 15-minute step holding `ms` (its index since the epoch). */
  static step(ms: number): number {
    return Math.floor(ms / SITE_STEP_MS);
  }

  /** Record a 15-minute step's mean load and PV, kW (PV 0 at a site without a PV meter). */
  add(stepStartMs: number, loadKw: number, pvKw: number): void {
    if (!Number.isFinite(loadKw) || !Number.isFinite(pvKw)) return;
    const s = SiteHistory.step(stepStartMs);
    this.#load.set(s, loadKw);
    this.#pv.set(s, Math.max(0, pvKw));
    const keep = Math.max(this.#o.loadDays, this.#o.shapeDays) * STEPS_PER_DAY + STEPS_PER_DAY;
    for (const k of this.#load.keys()) {
      if (k >= s - keep) break;
      this.#load.delete(k);
      this.#pv.delete(k);
    }
  }

  #open: { step: number; load: number; pv: number; n: number } | null = null;

  /** Add a reading (load and PV, kW, now); each 15-minute step's mean is recorded as the next step begins. */
  observe(ts: number, loadKw: number, pvKw: number): void {
    if (!Number.isFinite(ts) || !Number.isFinite(loadKw) || !Number.isFinite(pvKw)) return;
    const step = SiteHistory.step(ts);
    const o = this.#open;
    if (o && step !== o.step) {
      if (step > o.step) this.add(o.step * SITE_STEP_MS, o.load / o.n, o.pv / o.n);
      else return; // a reading from the past of a step already closed
    }
    if (!this.#open || this.#open.step !== step) this.#open = { step, load: 0, pv: 0, n: 0 };
    this.#open.load += loadKw;
    this.#open.pv += pvKw;
    this.#open.n++;
  }

  /** Days of history held (whole or not). */
  get days(): number {
    return this.#load.size / STEPS_PER_DAY;
  }

  /** The next `steps` 15-minute steps from the one holding `nowMs`; null before a day of history. */
  forecast(nowMs: number, steps: number): SiteForecast | null {
    if (this.#load.size < STEPS_PER_DAY) return null;
    const first = SiteHistory.step(nowMs);
    const o = this.#o;
    const sameTimeOfDay = (s: number, net = false): number[] => {
      const vals: number[] = [];
      for (let k = 1; vals.length < o.loadDays && k <= o.loadDays + 7; k++) {
        const back = s - k * STEPS_PER_DAY;
        if (back >= first) continue;
        const v = this.#load.get(back);
        if (v !== undefined) vals.push(net ? v - (this.#pv.get(back) ?? 0) : v);
      }
      return vals.sort((a, b) => a - b);
    };
    const at = (sorted: readonly number[], q: number, dflt: number): number => (sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))] as number) : dflt);
    const loadProfile = (s: number): number => {
      let sum = 0;
      let n = 0;
      // The same time of day on earlier days, never a step at or after `first`.
      for (let k = 1; n < o.loadDays && k <= o.loadDays + 7; k++) {
        const back = s - k * STEPS_PER_DAY;
        if (back >= first) continue;
        const v = this.#load.get(back);
        if (v !== undefined) { sum += v; n++; }
      }
      return n ? sum / n : 0;
    };
    const shapeCache = new Map<number, number>();
    const shape = (s: number): number => {
      const slot = ((s % STEPS_PER_DAY) + STEPS_PER_DAY) % STEPS_PER_DAY;
      const hit = shapeCache.get(slot);
      if (hit !== undefined) return hit;
      const vals: number[] = [];
      // The latest day at this time of day strictly before `first`.
      let back = first - 1 - ((((first - 1 - slot) % STEPS_PER_DAY) + STEPS_PER_DAY) % STEPS_PER_DAY);
      for (let k = 0; k < o.shapeDays; k++, back -= STEPS_PER_DAY) {
        const v = this.#pv.get(back);
        if (v !== undefined) vals.push(v);
      }
      vals.sort((a, b) => a - b);
      const q = vals.length ? (vals[Math.min(vals.length - 1, Math.floor(o.shapeQuantile * (vals.length - 1) + 0.5))] as number) : 0;
      shapeCache.set(slot, q);
      return q;
    };
    const yieldOver = (from: number, to: number): number | null => {
      let pv = 0;
      let clear = 0;
      for (let s = from; s < to; s++) {
        const v = this.#pv.get(s);
        if (v === undefined) continue;
        pv += v;
        clear += shape(s);
      }
      return clear > 1e-6 ? Math.min(1.2, pv / clear) : null;
    };
    const recent = yieldOver(first - STEPS_PER_DAY, first);
    const longer = yieldOver(first - o.shapeDays * STEPS_PER_DAY, first);
    const ratio = recent === null ? (longer ?? 0) : longer === null ? recent : o.recentWeight * recent + (1 - o.recentWeight) * longer;
    const last = this.#load.get(first - 1);
    const deviation = last === undefined ? 0 : last - loadProfile(first - 1);
    const loadKw: number[] = [];
    const loadHighKw: number[] = [];
    const netHighKw: number[] = [];
    const pvKw: number[] = [];
    for (let i = 0; i < steps; i++) {
      const s = first + i;
      const l = Math.max(0, loadProfile(s) + deviation * Math.exp(-(i + 1) / o.deviationSteps));
      loadKw.push(l);
      loadHighKw.push(Math.max(l, at(sameTimeOfDay(s), o.loadHighQuantile, l)));
      const pv = shape(s) * ratio;
      pvKw.push(pv);
      netHighKw.push(Math.max(l - pv, at(sameTimeOfDay(s, true), o.netHighQuantile, l - pv)));
    }
    return { start: first * SITE_STEP_MS, stepMinutes: 15, loadKw, pvKw, loadHighKw, netHighKw };
  }
}

/** A day-ahead net-load forecast (the load-forecast node's) as load and PV: a positive net load is load, a negative one PV surplus. */
export function siteForecastOfNetLoad(start: number, netKw: readonly number[]): SiteForecast {
  return { start, stepMinutes: 15, loadKw: netKw.map((x) => Math.max(0, x)), pvKw: netKw.map((x) => Math.max(0, -x)), netHighKw: [...netKw] };
}
