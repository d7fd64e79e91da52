// The whole site's bill over a household's year (data/household_profile.csv: load and PV, kW at
// 15 minutes, Jan-Sep 2014) with day-ahead prices mapped onto its days by day of year: the rolling
// plan the arbitrage node runs (domain/arbitrage/rolling.ts planAt with the site's tariff, its own
// load and PV forecast and the month's peak so far; under a demand charge the dispatch holds the
// month's import target of domain/arbitrage/peak-target.ts), step by step, seeing only the past of load
// and PV and the prices published so far (12:00 the day before); against no battery, against the
// inverter's built-in self-consumption rule, and against the perfect-foresight optimum (one LP over
// the whole period with the same tariff).
// Run: npm run bench -- site [--load FILE] [--prices FILE] [--demand-charge EUR_PER_KW]
//        [--capacity-kwh 10] [--power-kw 5] [--adder 0.2] [--feed-in 0.08] [--days N] [--months]
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { dayAheadKnownUntil } from '../domain/arbitrage/horizon';
import { parsePriceText } from '../domain/arbitrage/prices';
import { demandChargeLimits, dispatchKw } from '../domain/arbitrage/dispatch';
import { planAt, PriceBook, SITE_TERMINAL_QUANTILE, type ArbitrageSettings, type PlanAt } from '../domain/arbitrage/rolling';
import { planSchedule } from '../domain/arbitrage/schedule';
import { heldLevelAheadKw, peakTargetKw, stepBattery } from '../domain/arbitrage/peak-target';
import { SiteHistory } from '../domain/forecast/site-forecast';
import { DEFAULT_TARIFF, exportPriceEurPerKwh, importPriceEurPerKwh, MonthPeak, monthIndex, siteBill, type BillStep, type SiteTariff } from '../domain/tariff/tariff';
import { dataPath, DATA_FILES, parseHouseholdCsv } from '../io/data/real-data';

const opts = new Command()
  .option('--load <file>', 'CSV time,pv,load in kW at 15 minutes', dataPath(DATA_FILES.household))
  .option('--prices <file>', 'Modelica table (as in data/) or CSV time,price, EUR/MWh, hourly', dataPath(DATA_FILES.prices))
  .option('--demand-charge <eur>', 'EUR per kW of the month\'s highest 15-minute mean import', '0')
  .option('--adder <eur>', 'import adder on top of spot, EUR/kWh', String(DEFAULT_TARIFF.importAdderEurPerKwh))
  .option('--vat <factor>', 'VAT factor on the import price', String(DEFAULT_TARIFF.vatFactor))
  .option('--feed-in <eur>', 'feed-in tariff, EUR/kWh ("spot" = sell at spot)', String(DEFAULT_TARIFF.feedInEurPerKwh))
  .option('--capacity-kwh <n>', 'battery capacity, kWh', '10')
  .option('--power-kw <n>', 'charge and discharge power, kW', '5')
  .option('--eta <n>', 'efficiency each way', '0.95')
  .option('--degradation-eur-per-kwh <n>', 'EUR per kWh of throughput', '0')
  .option('--horizon-hours <n>', 'planning horizon, h', '36')
  .option('--terminal-quantile <q>', 'import price quantile valuing the energy left at the horizon', String(SITE_TERMINAL_QUANTILE))
  .option('--days <n>', 'only N days (0 = all)', '0')
  .option('--from-day <n>', 'start at this day of the file (0 = its first)', '0')
  .option('--months', 'add a per-month breakdown (peaks, energy and demand cost, ratio) to the line')
  .parse(process.argv)
  .opts<{ load: string; prices: string; demandCharge: string; adder: string; vat: string; feedIn: string; capacityKwh: string; powerKw: string; eta: string; degradationEurPerKwh: string; horizonHours: string; days: string; fromDay: string; terminalQuantile: string; months?: boolean }>();

const DAY_MS = 86_400_000;
const STEP_H = 0.25;
const profile = parseHouseholdCsv(readFileSync(opts.load, 'utf8'), opts.load);
const days = Number(opts.days);
const first = Math.min(profile.time.length, Number(opts.fromDay) * 96);
const n = days > 0 ? Math.min(profile.time.length - first, days * 96) : profile.time.length - first;
const time = Array.from(profile.time.subarray(first, first + n));
const loadKw = Array.from(profile.loadKw.subarray(first, first + n));
const pvKw = Array.from(profile.pvKw.subarray(first, first + n));
const hourly = parsePriceText(readFileSync(opts.prices, 'utf8'), Date.UTC(2012, 0, 1), opts.prices).map((p) => p.price);

/** The price file's hour for a time on the load's clock: same day of year, same hour. */
function spotAt(ms: number): number {
  const d = new Date(ms);
  const doy = Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS);
  const p = hourly[doy * 24 + d.getUTCHours()];
  if (p === undefined) throw new Error(`no price for day ${doy + 1} hour ${d.getUTCHours()}`);
  return p;
}

const tariff: SiteTariff = {
  importAdderEurPerKwh: Number(opts.adder), vatFactor: Number(opts.vat),
  exportPrice: opts.feedIn === 'spot' ? 'spot' : 'feed-in', feedInEurPerKwh: opts.feedIn === 'spot' ? 0 : Number(opts.feedIn),
  demandChargeEurPerKw: Number(opts.demandCharge),
};
const eta = Number(opts.eta);
const settings: ArbitrageSettings = {
  capacityKwh: Number(opts.capacityKwh), maxChargeKw: Number(opts.powerKw), maxDischargeKw: Number(opts.powerKw),
  etaCharge: eta, etaDischarge: eta, socMinPct: 5, socMaxPct: 95,
  degradationEurPerKwh: Number(opts.degradationEurPerKwh), horizonHours: Number(opts.horizonHours), terminalQuantile: Number(opts.terminalQuantile),
};
const SOC0 = 50;
const spot = time.map(spotAt);
const net = loadKw.map((l, t) => l - (pvKw[t] as number));

interface Run { gridKw: number[]; throughputKwh: number; endSocPct: number }

const apply = (socPct: number, powerKw: number): { kw: number; socPct: number } => stepBattery(socPct, powerKw, settings, STEP_H);

/** The inverter's built-in rule: charge from PV surplus, discharge into deficit, nothing else. */
function naive(): Run {
  let soc = SOC0;
  let through = 0;
  const gridKw = net.map((x) => {
    const r = apply(soc, x);
    soc = r.socPct;
    through += Math.abs(r.kw) * STEP_H;
    return x - r.kw;
  });
  return { gridKw, throughputKwh: through, endSocPct: soc };
}

const trace: string[] = [];
async function rolling(): Promise<Run & { solveMs: number[]; loadMae: number; pvMae: number }> {
  const book = new PriceBook();
  const history = new SiteHistory();
  const peak = new MonthPeak();
  let soc = SOC0;
  let through = 0;
  let known = 0;
  let plan: PlanAt | null = null;
  let heldKw = 0;
  const gridKw: number[] = [];
  const solveMs: number[] = [];
  let loadErr = 0;
  let pvErr = 0;
  let errN = 0;
  const horizonSteps = Math.round(settings.horizonHours * 4);
  for (let t = 0; t < n; t++) {
    const now = time[t] as number;
    const until = Math.min(dayAheadKnownUntil(now), (time[n - 1] as number) + 900_000);
    const newPrices = until > known;
    if (newPrices) {
      // The day-ahead auction's result, as a price feed delivers it: hourly from the day's start.
      const from = Math.floor(now / DAY_MS) * DAY_MS;
      const prices: number[] = [];
      for (let h = from; h < until; h += 3_600_000) prices.push(spotAt(h));
      book.put({ start: from, stepMinutes: 60, pricesEurPerMWh: prices });
      known = until;
    }
    book.prune(now);
    const replan = !plan || now >= plan.replanAt || newPrices;
    const forecast = replan ? history.forecast(now, horizonSteps) : null;
    if (replan) heldKw = tariff.demandChargeEurPerKw > 0 ? heldLevelAheadKw(forecast, now, soc, settings) : 0;
    const targetKw = peakTargetKw(peak.peakKw(now), heldKw, settings.gridImportMaxKw);
    if (replan) {
      if (forecast) {
        for (let i = 0; i < forecast.loadKw.length && t + i < n; i++) {
          loadErr += Math.abs((forecast.loadKw[i] as number) - (loadKw[t + i] as number));
          pvErr += Math.abs((forecast.pvKw[i] as number) - (pvKw[t + i] as number));
          errN++;
        }
      }
      const netBefore = t > 0 ? (net[t - 1] as number) : 0;
      const started = performance.now();
      plan = await planAt(now, book, soc, settings, 'bench', netBefore, undefined, { tariff, peakSoFarKw: peak.peakKw(now), forecast });
      solveMs.push(performance.now() - started);
    }
    const step = plan?.plan.steps.find((s) => s.start === now);
    const kw = step ? dispatchKw({ powerKw: step.powerW / 1000, gridKw: step.gridW === null ? null : step.gridW / 1000 }, net[t], {
      ...settings, socPct: soc, ...demandChargeLimits(tariff.demandChargeEurPerKw, targetKw),
    }) : 0;
    const r = apply(soc, kw);
    if (process.env.SITE_TRACE) trace.push([t, net[t], step?.powerW, step?.gridW, kw, soc, spot[t]].join(','));
    soc = r.socPct;
    through += Math.abs(r.kw) * STEP_H;
    const g = (net[t] as number) - r.kw;
    gridKw.push(g);
    peak.add(now, g);
    history.add(now, loadKw[t] as number, pvKw[t] as number);
  }
  return { gridKw, throughputKwh: through, endSocPct: soc, solveMs, loadMae: loadErr / Math.max(1, errN), pvMae: pvErr / Math.max(1, errN) };
}

/**
 * The perfect-foresight optimum: the LP over the real load, PV and prices, one calendar month at a
 * time (the demand charge is per month, so months only share the battery's energy: each starts
 * where the last one ended, and the energy at a month's end is valued as at the period's end). One
 * LP over all 26 000 steps gives the same bill within cents but takes minutes.
 */
async function optimum(imp: readonly number[], settle: number): Promise<Run> {
  const gridKw: number[] = [];
  let soc = SOC0;
  let through = 0;
  for (let a = 0; a < n; ) {
    const m = monthIndex(time[a] as number);
    let b = a;
    while (b < n && monthIndex(time[b] as number) === m) b++;
    const sl = <T>(x: readonly T[]): T[] => x.slice(a, b);
    const plan = await planSchedule({
      pricesEurPerMWh: sl(spot), stepHours: STEP_H, capacityKwh: settings.capacityKwh, socStartPct: soc,
      socMinPct: settings.socMinPct, socMaxPct: settings.socMaxPct, maxChargeKw: settings.maxChargeKw, maxDischargeKw: settings.maxDischargeKw,
      etaCharge: eta, etaDischarge: eta, degradationEurPerKwh: settings.degradationEurPerKwh, terminalValueEurPerKwh: settle,
      loadKw: sl(loadKw), pvKw: sl(pvKw),
      tariff: { importEurPerKwh: sl(imp), exportEurPerKwh: sl(spot).map((x) => exportPriceEurPerKwh(x, tariff)), demandChargeEurPerKw: tariff.demandChargeEurPerKw },
      solver: 'ipm', timeLimitS: 600,
    });
    for (let t = 0; t < b - a; t++) {
      gridKw.push(plan.gridKw[t] as number);
      through += ((plan.chargeKw[t] as number) + (plan.dischargeKw[t] as number)) * STEP_H;
    }
    soc = plan.socPct[b - a - 1] as number;
    a = b;
  }
  return { gridKw, throughputKwh: through, endSocPct: soc };
}

/**
 * Per calendar month: each run's peak (kW, and the day of the month that set the controller's), its
 * energy and demand cost, and the month's ratio vs the optimum (the bill alone: the stored energy's
 * change is settled once over the whole period).
 */
function perMonth(runs: Record<'none' | 'naive' | 'rolling' | 'optimum', readonly number[]>, round: (x: number, d?: number) => number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let a = 0; a < n; ) {
    const m = monthIndex(time[a] as number);
    let b = a;
    while (b < n && monthIndex(time[b] as number) === m) b++;
    const bill = (g: readonly number[]): ReturnType<typeof siteBill> => siteBill(g.slice(a, b).map((x, i) => ({ start: time[a + i] as number, hours: STEP_H, gridKw: x, spotEurPerMWh: spot[a + i] as number })), tariff);
    const peakAt = (g: readonly number[]): number => { let k = a; for (let t = a; t < b; t++) if ((g[t] as number) > (g[k] as number)) k = t; return k; };
    const [none, nv, ro, op] = [bill(runs.none), bill(runs.naive), bill(runs.rolling), bill(runs.optimum)];
    const k = peakAt(runs.rolling);
    out.push({
      month: new Date(time[a] as number).toISOString().slice(0, 7),
      peak_kw: { none: round(runs.none[peakAt(runs.none)] as number), naive: round(runs.naive[peakAt(runs.naive)] as number), rolling: round(runs.rolling[k] as number), optimum: round(runs.optimum[peakAt(runs.optimum)] as number) },
      rolling_peak_at: new Date(time[k] as number).toISOString().slice(5, 16),
      energy_eur: { none: round(none.energyEur), rolling: round(ro.energyEur), optimum: round(op.energyEur) },
      demand_eur: { none: round(none.demandEur), rolling: round(ro.demandEur), optimum: round(op.demandEur) },
      ratio_vs_optimum: round((none.totalEur - ro.totalEur) / (none.totalEur - op.totalEur), 3),
      naive_ratio: round((none.totalEur - nv.totalEur) / (none.totalEur - op.totalEur), 3),
    });
    a = b;
  }
  return out;
}

async function main(): Promise<void> {
  const began = performance.now();
  const imp = spot.map((x) => importPriceEurPerKwh(x, tariff));
  // Every run is judged the same way: its bill, plus wear, less the change of the stored energy
  // valued at the median import price times the discharge efficiency (what it will replace).
  const sortedImp = [...imp].sort((a, b) => a - b);
  const settle = (sortedImp[Math.floor(sortedImp.length / 2)] as number) * eta;
  const e0 = (SOC0 / 100) * settings.capacityKwh;
  const cost = (r: Run): number => {
    const steps: BillStep[] = r.gridKw.map((g, t) => ({ start: time[t] as number, hours: STEP_H, gridKw: g, spotEurPerMWh: spot[t] as number }));
    return siteBill(steps, tariff).totalEur + settings.degradationEurPerKwh * r.throughputKwh - ((r.endSocPct / 100) * settings.capacityKwh - e0) * settle;
  };
  const none = cost({ gridKw: net, throughputKwh: 0, endSocPct: SOC0 });
  const optStarted = performance.now();
  const opt = await optimum(imp, settle);
  const optimumMs = performance.now() - optStarted;
  const best = cost(opt);
  const nv = naive();
  const naiveBill = cost(nv);
  const r = await rolling();
  const bill = cost(r);
  if (process.env.SITE_TRACE) (await import('node:fs')).writeFileSync(process.env.SITE_TRACE, trace.join('\n'));
  const sorted = [...r.solveMs].sort((a, b) => a - b);
  const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  const round = (x: number, d = 2): number => Number(x.toFixed(d));
  const months = opts.months ? perMonth({ none: net, naive: nv.gridKw, rolling: r.gridKw, optimum: opt.gridKw }, round) : undefined;
  const load = loadKw.reduce((a, b) => a + b, 0) * STEP_H;
  const selfConsumed = r.gridKw.reduce((a, g) => a + Math.max(0, g), 0) * STEP_H;
  const pvTotal = pvKw.reduce((a, b) => a + b, 0) * STEP_H;
  const exported = r.gridKw.reduce((a, g) => a + Math.max(0, -g), 0) * STEP_H;
  console.log(JSON.stringify({
    bench: 'site',
    steps: n,
    demand_charge_eur_per_kw: tariff.demandChargeEurPerKw,
    bill_no_battery_eur: round(none),
    bill_eur: round(bill),
    bill_optimum_eur: round(best),
    bill_naive_eur: round(naiveBill),
    ratio_vs_optimum: round((none - bill) / (none - best), 3),
    naive_ratio: round((none - naiveBill) / (none - best), 3),
    // The share of the PV the site used itself (not exported).
    self_consumption_ratio: round(pvTotal > 0 ? 1 - exported / pvTotal : 0, 3),
    autarky: round(1 - selfConsumed / load, 3),
    cycles: round(r.throughputKwh / 2 / settings.capacityKwh, 1),
    load_mae_kw: round(r.loadMae, 3),
    pv_mae_kw: round(r.pvMae, 3),
    solve_p50_ms: round(pct(0.5)),
    solve_p99_ms: round(pct(0.99)),
    optimum_solve_ms: round(optimumMs, 0),
    seconds: round((performance.now() - began) / 1000, 1),
    ...(months ? { months } : {}),
  }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
