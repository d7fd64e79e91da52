// Energy arbitrage over a year of real day-ahead prices (data/ElectricityPricesSpotMarket_3600s_2012.txt,
// Jan-Sep 2012): the rolling controller that sees only published prices, against the
// perfect-foresight optimum (one LP over the whole series) and the cheapest/dearest-hours heuristic.
// Run: npm run bench -- arbitrage [--prices FILE] [--capacity-kwh 100] [--power-kw 50]
//        [--degradation-eur-per-kwh 0] [--terminal-quantile 0.5]
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { bestCheapestDearest } from '../domain/arbitrage/heuristic';
import { dayAheadKnownUntil, quantile, terminalValueEurPerKwh, TERMINAL_QUANTILE } from '../domain/arbitrage/horizon';
import { parsePriceText, type PricePoint } from '../domain/arbitrage/prices';
import { planSchedule, type BatteryProblem } from '../domain/arbitrage/schedule';
import { dataPath, DATA_FILES } from '../io/data/real-data';

const opts = new Command()
  .option('--prices <file>', 'Modelica table (as in data/) or CSV time,price, EUR/MWh', dataPath(DATA_FILES.prices))
  .option('--capacity-kwh <n>', 'battery capacity, kWh', '100')
  .option('--power-kw <n>', 'charge and discharge power, kW', '50')
  .option('--degradation-eur-per-kwh <n>', 'EUR per kWh of throughput', '0')
  .option('--terminal-quantile <q>', 'price quantile valuing the energy left at the horizon', String(TERMINAL_QUANTILE))
  .option('--eta <n>', 'efficiency each way', '0.95')
  .parse(process.argv)
  .opts<{ prices: string; capacityKwh: string; powerKw: string; degradationEurPerKwh: string; terminalQuantile: string; eta: string }>();

const ORIGIN_2012 = Date.UTC(2012, 0, 1);
const points: PricePoint[] = parsePriceText(readFileSync(opts.prices, 'utf8'), ORIGIN_2012, opts.prices);
const stepMs = (points[1]?.time ?? 0) - (points[0]?.time ?? 0) || 3_600_000;
const stepHours = stepMs / 3_600_000;
const prices = points.map((p) => p.price);
const eta = Number(opts.eta);
const battery = {
  capacityKwh: Number(opts.capacityKwh), socStartPct: 50, socMinPct: 5, socMaxPct: 95,
  maxChargeKw: Number(opts.powerKw), maxDischargeKw: Number(opts.powerKw), etaCharge: eta, etaDischarge: eta,
  degradationEurPerKwh: Number(opts.degradationEurPerKwh),
};
const q = Number(opts.terminalQuantile);

async function rolling(): Promise<{ revenue: number; dischargedKwh: number; throughputKwh: number; solveMs: number[]; endSocPct: number }> {
  let soc = battery.socStartPct;
  let revenue = 0;
  let discharged = 0;
  let throughput = 0;
  const solveMs: number[] = [];
  for (let t = 0; t < prices.length; t++) {
    const now = (points[t] as PricePoint).time;
    const until = dayAheadKnownUntil(now);
    const known: number[] = [];
    for (let i = t; i < prices.length && (points[i] as PricePoint).time < until; i++) known.push(prices[i] as number);
    const problem: BatteryProblem = {
      ...battery, socStartPct: soc, pricesEurPerMWh: known, stepHours,
      terminalValueEurPerKwh: terminalValueEurPerKwh(known, eta, q, battery.degradationEurPerKwh),
    };
    const started = performance.now();
    const plan = await planSchedule(problem);
    solveMs.push(performance.now() - started);
    // Apply the first step, as the controller would, then move on with what it left.
    const c = plan.chargeKw[0] as number;
    const d = plan.dischargeKw[0] as number;
    revenue += ((prices[t] as number) / 1000) * (d - c) * stepHours;
    discharged += d * stepHours;
    throughput += (c + d) * stepHours;
    soc = plan.socPct[0] as number;
  }
  return { revenue, dischargedKwh: discharged, throughputKwh: throughput, solveMs, endSocPct: soc };
}

async function main(): Promise<void> {
  // Every run is judged the same way: trading revenue, less degradation, plus the change of the
  // stored energy settled at the series' median price (so neither ending full nor ending empty
  // counts as revenue). The perfect-foresight LP maximises exactly that over the whole series.
  const settlePrice = quantile(prices, 0.5) / 1000;
  const e0 = (battery.socStartPct / 100) * battery.capacityKwh;
  const settle = (socPct: number): number => ((socPct / 100) * battery.capacityKwh - e0) * settlePrice;
  const optimum = await planSchedule({ ...battery, pricesEurPerMWh: prices, stepHours, terminalValueEurPerKwh: settlePrice });
  const optimumEur = optimum.revenueEur - optimum.degradationEur + settle(optimum.socPct[optimum.socPct.length - 1] as number);
  const heuristic = bestCheapestDearest(prices, stepHours, battery);
  const heuristicEur = heuristic.revenueEur - battery.degradationEurPerKwh * heuristic.throughputKwh + settle(heuristic.endSocPct);
  const r = await rolling();
  const revenue = r.revenue - battery.degradationEurPerKwh * r.throughputKwh + settle(r.endSocPct);
  const sorted = [...r.solveMs].sort((a, b) => a - b);
  const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  const round = (x: number, d = 2): number => Number(x.toFixed(d));
  console.log(JSON.stringify({
    bench: 'arbitrage',
    steps: prices.length,
    capacity_kwh: battery.capacityKwh,
    power_kw: battery.maxChargeKw,
    degradation_eur_per_kwh: battery.degradationEurPerKwh,
    revenue_eur: round(revenue),
    optimum_eur: round(optimumEur),
    ratio_vs_optimum: round(revenue / optimumEur, 3),
    heuristic_eur: round(heuristicEur),
    heuristic_k: heuristic.k,
    ratio_vs_heuristic: round(revenue / heuristicEur, 3),
    cycles: round(r.dischargedKwh / battery.capacityKwh, 1),
    end_soc_pct: round(r.endSocPct, 1),
    solve_p50_ms: round(pct(0.5)),
    solve_p99_ms: round(pct(0.99)),
    optimum_solve_ms: round(optimum.solveMs, 0),
  }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
