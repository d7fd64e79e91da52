// The baseline every arbitrage optimizer should beat: each day, charge in the k cheapest hours and
// discharge in the k dearest, at full power as far as the SoC window allows, with the same
// efficiencies as the LP. The best k over the whole series is the heuristic's figure.
import type { BatteryProblem } from './schedule';

/** The battery as the LP sees it, without the prices and steps the heuristic finds itself. */
export type HeuristicBattery = Pick<BatteryProblem, 'capacityKwh' | 'socStartPct' | 'socMinPct' | 'socMaxPct' | 'maxChargeKw' | 'maxDischargeKw' | 'etaCharge' | 'etaDischarge'>;

export interface HeuristicResult {
  k: number;
  revenueEur: number;
  dischargedKwh: number;
  /** Charged plus discharged, kWh (what degradation is charged on). */
  throughputKwh: number;
  endSocPct: number;
}

/** Revenue of the cheapest-k / dearest-k rule over prices in steps of `stepHours`. */
export function cheapestDearestRevenue(prices: readonly number[], stepHours: number, b: HeuristicBattery, k: number): HeuristicResult {
  const perDay = Math.round(24 / stepHours);
  const eMin = (b.capacityKwh * b.socMinPct) / 100;
  const eMax = (b.capacityKwh * b.socMaxPct) / 100;
  let e = (b.capacityKwh * b.socStartPct) / 100;
  let revenue = 0;
  let discharged = 0;
  let throughput = 0;
  for (let day = 0; day < prices.length; day += perDay) {
    const hours = prices.slice(day, day + perDay).map((p, i) => ({ p, i }));
    const sorted = [...hours].sort((a, b2) => a.p - b2.p);
    const kk = Math.min(k, Math.floor(hours.length / 2));
    const charge = new Set(sorted.slice(0, kk).map((h) => h.i));
    const discharge = new Set(sorted.slice(sorted.length - kk).map((h) => h.i));
    for (const { p, i } of hours) {
      if (charge.has(i)) {
        const kw = Math.min(b.maxChargeKw, (eMax - e) / (b.etaCharge * stepHours));
        if (kw > 0) {
          e += kw * b.etaCharge * stepHours;
          revenue -= (p / 1000) * kw * stepHours;
          throughput += kw * stepHours;
        }
      } else if (discharge.has(i)) {
        const kw = Math.min(b.maxDischargeKw, ((e - eMin) * b.etaDischarge) / stepHours);
        if (kw > 0) {
          e -= (kw * stepHours) / b.etaDischarge;
          revenue += (p / 1000) * kw * stepHours;
          discharged += kw * stepHours;
          throughput += kw * stepHours;
        }
      }
    }
  }
  return { k, revenueEur: revenue, dischargedKwh: discharged, throughputKwh: throughput, endSocPct: (100 * e) / b.capacityKwh };
}

/** The best k from 1 to half a day of steps. */
export function bestCheapestDearest(prices: readonly number[], stepHours: number, b: HeuristicBattery): HeuristicResult {
  let best: HeuristicResult | null = null;
  for (let k = 1; k <= Math.round(12 / stepHours); k++) {
    const r = cheapestDearestRevenue(prices, stepHours, b, k);
    if (!best || r.revenueEur > best.revenueEur) best = r;
  }
  return best as HeuristicResult;
}
