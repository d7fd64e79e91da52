// Arbitrage revenue, cycles and degradation cost of a site over a period, from stored telemetry.
//
// Method (every figure can be recomputed by hand from the telemetry and the plans):
// 1. Power: the PCS's AC power per interval (mean of the records in it), else the battery's DC
//    power when the site has no PCS telemetry; + = discharge (docs/ARCHITECTURE.md, "Conventions").
// 2. Energy: an interval's mean power holds until the next interval with records, at most
//    `maxHoldMs` (15 min: the slowest sampling we expect); a longer silence counts as missing,
//    not as energy. E [Wh] = P [W] x t [ms] / 3.6e6.
// 3. Price: the day-ahead price of the plan step holding the interval's start (plans carry
//    priceEurPerMWh per step; plans.ts keeps every step). Revenue = sum(E_discharged x price) -
//    sum(E_charged x price), in EUR with E in MWh; energy in intervals without a price is reported
//    as unpricedWh and left out of the revenue.
// 4. Cycles: full-equivalent cycles = sum(|delta SoC|) / 200 %, from the interval means (one
//    cycle moves SoC down and up by 100 % each), capacity-free.
// 5. Degradation cost = throughput (charged + discharged AC kWh) x EUR per kWh of throughput,
//    the same unit as the optimizer's degradation term (domain/arbitrage/degradation.ts).
//    Default: 150 EUR/kWh replacement over 6000 full cycles to 80 % (stationary LFP at 0.5C) =
//    0.0125 EUR/kWh; a site passes its own figure.
import { degradationEurPerKwh, DEFAULT_EOL_FADE_PCT } from '../../domain/arbitrage/degradation';
import type { PriceStep } from './plans';

export const DEFAULT_CYCLES_TO_EOL = 6000;
export const DEFAULT_DEGRADATION_EUR_PER_KWH = degradationEurPerKwh({ fadePctPerCycle: DEFAULT_EOL_FADE_PCT / DEFAULT_CYCLES_TO_EOL });
export const MAX_HOLD_MS = 15 * 60_000;

export interface PowerInterval {
  start: number;
  /** Mean power in the interval, W, + = discharge; null when no record carried it. */
  powerW: number | null;
  socPct: number | null;
}

export interface FinancialSummary {
  dischargedWh: number;
  chargedWh: number;
  /** Discharged energy x price. */
  revenueEur: number;
  /** Charged energy x price. */
  costEur: number;
  /** revenue - cost: the arbitrage result before wear. */
  arbitrageEur: number;
  fullCycles: number;
  throughputKwh: number;
  degradationEurPerKwh: number;
  degradationCostEur: number;
  /** arbitrage - degradation. */
  netEur: number;
  /** Energy in intervals no plan priced. */
  unpricedWh: number;
  /** Share of the period covered by telemetry, %. */
  coveragePct: number;
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

export function financialSummary(
  intervals: readonly PowerInterval[],
  period: { from: number; to: number },
  prices: readonly PriceStep[],
  eurPerKwh: number = DEFAULT_DEGRADATION_EUR_PER_KWH,
  maxHoldMs: number = MAX_HOLD_MS,
): FinancialSummary {
  const present = intervals.filter((i) => i.powerW !== null || i.socPct !== null).sort((a, b) => a.start - b.start);
  let dischargedWh = 0, chargedWh = 0, revenueEur = 0, costEur = 0, unpricedWh = 0, coveredMs = 0, socTravel = 0;
  let p = 0;
  let prevSoc: number | null = null;
  for (let k = 0; k < present.length; k++) {
    const cur = present[k] as PowerInterval;
    const next = present[k + 1];
    const start = Math.max(cur.start, period.from);
    const end = Math.min(next ? next.start : period.to, cur.start + maxHoldMs, period.to);
    if (cur.socPct !== null) {
      if (prevSoc !== null) socTravel += Math.abs(cur.socPct - prevSoc);
      prevSoc = cur.socPct;
    }
    if (end <= start || cur.powerW === null) continue;
    coveredMs += end - start;
    const wh = (cur.powerW * (end - start)) / 3_600_000;
    while (p < prices.length && (prices[p] as PriceStep).start + (prices[p] as PriceStep).stepMs <= cur.start) p++;
    const step = prices[p];
    const price = step && step.start <= cur.start ? step.eurPerMWh : null;
    if (wh >= 0) dischargedWh += wh;
    else chargedWh -= wh;
    if (price === null) unpricedWh += Math.abs(wh);
    else if (wh >= 0) revenueEur += (wh / 1e6) * price;
    else costEur += (-wh / 1e6) * price;
  }
  const throughputKwh = (dischargedWh + chargedWh) / 1000;
  const degradationCostEur = throughputKwh * eurPerKwh;
  const arbitrageEur = revenueEur - costEur;
  return {
    dischargedWh: round(dischargedWh, 1), chargedWh: round(chargedWh, 1),
    revenueEur: round(revenueEur, 4), costEur: round(costEur, 4), arbitrageEur: round(arbitrageEur, 4),
    fullCycles: round(socTravel / 200, 4), throughputKwh: round(throughputKwh, 3),
    degradationEurPerKwh: eurPerKwh, degradationCostEur: round(degradationCostEur, 4),
    netEur: round(arbitrageEur - degradationCostEur, 4), unpricedWh: round(unpricedWh, 1),
    coveragePct: round((100 * coveredMs) / Math.max(1, period.to - period.from), 2),
  };
}
