// Peak shaving against perfect foresight: the household year (data/household_profile.csv, 15-min
// load and PV, Jan-Sep 2014) with a battery, billed on each month's highest 15-minute average
// grid import. The controller (domain/peak-shaving/controller.ts, 'auto' threshold) acts
// live on each step's load and PV with no foresight; the LP (planner.ts) gives each month's lowest
// achievable peak; the naive policy holds a fixed threshold at 80 % of the previous month's peak.
// Run: npm run bench -- peak [--load FILE] [--capacity-kwh 10] [--power-kw 5]
//      [--degradation-eur-per-kwh 0]
//
// Stated choices:
// - Battery: energy bucket, efficiency 0.95 each way, SoC window 5-95 %, power limit both ways;
//   the simulation starts at 95 % and so does each month's LP (the optimum's best case).
// - The battery does not export (planner.ts); PV export is allowed.
// - Each 15-minute row is one control step: the controller sees that interval's load and PV as
//   the meter shows them (import with the battery still at its previous power) and the battery
//   holds the requested power for the interval; a live loop at 1 s tracks load within it.
// - Naive, first month: there is no previous month, so it uses 80 % of that month's own peak
//   (foresight, which flatters the naive reference).
// - Ratios per month: (peak before - peak after) / (peak before - optimal peak), then averaged.
// - Degradation: 0 EUR/kWh unless given; it does not change any peak, and is reported as the
//   cost of the energy discharged by each policy.
import { readFileSync } from 'node:fs';
import { parseHouseholdCsv, dataPath, DATA_FILES } from '../io/data/real-data';
import {
  INITIAL_PEAK_SHAVING_STATE, monthOf, PeakShavingConfigSchema, step, type PeakShavingConfig,
} from '../domain/peak-shaving/controller';
import { optimalPeak } from '../domain/peak-shaving/planner';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v ?? fallback;
}

const file = arg('load', dataPath(DATA_FILES.household));
const capacityWh = Number(arg('capacity-kwh', '10')) * 1000;
const powerW = Number(arg('power-kw', '5')) * 1000;
const degradationEurPerKwh = Number(arg('degradation-eur-per-kwh', '0'));
if (!(capacityWh > 0) || !(powerW > 0) || !(degradationEurPerKwh >= 0)) {
  console.error('usage: npm run bench -- peak [--load FILE] [--capacity-kwh N>0] [--power-kw N>0] [--degradation-eur-per-kwh N>=0]');
  process.exit(2);
}

const EFFICIENCY = 0.95;
const SOC_MIN = 5;
const SOC_MAX = 95;

const profile = parseHouseholdCsv(readFileSync(file, 'utf8'), file);
const n = profile.time.length;
const stepMs = profile.stepMs;
const stepH = stepMs / 3_600_000;
const netW = Array.from({ length: n }, (_, i) => ((profile.loadKw[i] ?? 0) - (profile.pvKw[i] ?? 0)) * 1000);
const ts = Array.from(profile.time);
const months = [...new Set(ts.map(monthOf))];

/** The battery: an energy bucket that gives what it can of the requested power. */
class Bucket {
  energyWh = (SOC_MAX / 100) * capacityWh;
  dischargedWh = 0;
  get socPct(): number {
    return (this.energyWh / capacityWh) * 100;
  }
  apply(requestW: number): number {
    if (requestW > 0) {
      const w = Math.max(0, Math.min(requestW, powerW, ((this.energyWh - (SOC_MIN / 100) * capacityWh) * EFFICIENCY) / stepH));
      this.energyWh -= (w * stepH) / EFFICIENCY;
      this.dischargedWh += w * stepH;
      return w;
    }
    const w = Math.max(0, Math.min(-requestW, powerW, ((SOC_MAX / 100) * capacityWh - this.energyWh) / EFFICIENCY / stepH));
    this.energyWh += w * stepH * EFFICIENCY;
    return -w;
  }
}

interface Run { peakW: Map<string, number>; dischargedWh: number }

/** Drive a controller configuration live over the series, one step per row. */
function simulate(configFor: (month: string) => PeakShavingConfig): Run {
  const battery = new Bucket();
  const peakW = new Map<string, number>();
  let state = INITIAL_PEAK_SHAVING_STATE;
  let batteryW = 0;
  for (let i = 0; i < n; i++) {
    const t = ts[i] ?? 0;
    const net = netW[i] ?? 0;
    const out = step(state, {
      ts: t, gridW: net - batteryW, batteryW, socPct: battery.socPct, capacityWh, maxChargeW: powerW, maxDischargeW: powerW,
    }, configFor(monthOf(t)));
    state = out.state;
    batteryW = battery.apply(out.powerW ?? 0);
    const m = monthOf(t);
    peakW.set(m, Math.max(peakW.get(m) ?? 0, net - batteryW));
  }
  return { peakW, dischargedWh: battery.dischargedWh };
}

async function main(): Promise<void> {
  const started = performance.now();
  const before = new Map<string, number>();
  ts.forEach((t, i) => before.set(monthOf(t), Math.max(before.get(monthOf(t)) ?? 0, netW[i] ?? 0)));

  const auto = PeakShavingConfigSchema.parse({
    mode: 'auto', thresholdW: 0, reserveSocPct: SOC_MIN, rechargeToSocPct: SOC_MAX, rechargeMarginW: 0,
    trackMonthPeak: true, intervalMs: stepMs, roundTripEfficiency: EFFICIENCY * EFFICIENCY,
  });
  const controller = simulate(() => auto);
  const naiveConfigs = new Map<string, PeakShavingConfig>();
  months.forEach((m, k) => {
    const ref = before.get(months[k > 0 ? k - 1 : 0] ?? m) ?? 0;
    naiveConfigs.set(m, PeakShavingConfigSchema.parse({
      mode: 'fixed', thresholdW: 0.8 * ref, reserveSocPct: SOC_MIN, rechargeToSocPct: SOC_MAX, trackMonthPeak: false, intervalMs: stepMs,
    }));
  });
  const naive = simulate((m) => naiveConfigs.get(m) ?? auto);
  const simulatedS = (performance.now() - started) / 1000;

  const optimal = new Map<string, number>();
  let optimalDischargedWh = 0;
  let lpMs = 0;
  for (const m of months) {
    const idx = ts.flatMap((t, i) => (monthOf(t) === m ? [i] : []));
    const plan = await optimalPeak({
      netW: idx.map((i) => netW[i] ?? 0), stepH,
      battery: { capacityWh, initialSocPct: SOC_MAX, minSocPct: SOC_MIN, maxSocPct: SOC_MAX, maxChargeW: powerW, maxDischargeW: powerW, efficiency: EFFICIENCY },
    });
    if (!plan.optimal) throw new Error(`LP for ${m} not optimal`);
    optimal.set(m, plan.peakW);
    optimalDischargedWh += plan.powerW.reduce((s, w) => s + Math.max(0, w) * stepH, 0);
    lpMs += plan.solveMs;
  }

  const ratio = (run: Run): number[] => months.map((m) => {
    const b = before.get(m) ?? 0;
    const o = optimal.get(m) ?? 0;
    return b - o > 1e-6 ? (b - (run.peakW.get(m) ?? 0)) / (b - o) : 1;
  });
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const kwOf = (map: Map<string, number>): number[] => months.map((m) => Math.round((map.get(m) ?? 0) / 10) / 100);
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const ratios = ratio(controller);
  const eur = (wh: number): number => Math.round(wh / 1000 * degradationEurPerKwh * 100) / 100;
  console.log(JSON.stringify({
    bench: 'peak',
    load: file.split('/').pop(),
    capacity_kwh: capacityWh / 1000,
    power_kw: powerW / 1000,
    months,
    peak_before_kw: kwOf(before),
    peak_after_kw: kwOf(controller.peakW),
    optimal_peak_kw: kwOf(optimal),
    naive_peak_kw: kwOf(naive.peakW),
    ratio_by_month: ratios.map(r3),
    ratio_vs_optimum: r3(mean(ratios)),
    naive_ratio: r3(mean(ratio(naive))),
    target: 0.85,
    met: mean(ratios) >= 0.85,
    degradation_eur_per_kwh: degradationEurPerKwh,
    degradation_eur: { controller: eur(controller.dischargedWh), naive: eur(naive.dischargedWh), optimal: eur(optimalDischargedWh) },
    simulate_s: r3(simulatedS),
    lp_s: r3(lpMs / 1000),
    total_s: r3((performance.now() - started) / 1000),
  }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
