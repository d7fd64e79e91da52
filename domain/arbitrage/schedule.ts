// The arbitrage optimizer: a linear program over a price series that plans, per step, the power
// the battery charges (c_t >= 0) and discharges (d_t >= 0) and the energy it holds at the end of
// the step (e_t), to maximise
//   sum_t price_t (d_t - c_t) dt_t  -  k sum_t (c_t + d_t) dt_t  +  v e_T
// (k = degradation cost per kWh of throughput, v = value of the energy left at the end), subject to
//   e_t = e_{t-1} + eta_c c_t dt_t - d_t dt_t / eta_d       (energy balance, losses on both ways)
//   E_min <= e_t <= E_max, 0 <= c_t <= P_c, 0 <= d_t <= P_d  (SoC window, power limits)
//   -X <= load_t - pv_t + c_t - d_t <= I                     (grid limits, when given)
//   e_T >= E_terminal                                         (terminal SoC, when given)
// Units inside are kW, kWh, h and EUR/kWh (prices / 1000): well-scaled numbers for the solver.
//
// Charging and discharging in the same step: the LP may pick c_t > 0 and d_t > 0 together, which
// burns energy through the losses. Only a negative price (or one below -k) pays for that, and a
// real battery holds one power per step: the plan must say one thing. So after a solve every step
// with both is fixed to charge-only (d_t <= 0: at such a price charging is what earns) and the LP
// is solved again; the LP then makes room for the cheap energy by discharging earlier instead, and
// the result is an optimum over plans that never do both (a few passes at most, usually none).
// A MIP with a binary per step would give the same plans at a much higher solve time.
//
// With a site tariff (BatteryProblem.tariff) the objective is the site's bill instead of the spot
// spread: per step an import i_t >= 0 and an export x_t >= 0 with
//   i_t - x_t = load_t - pv_t + c_t - d_t                    (the meter's balance)
// bought at the import price and sold at the export price, and per calendar month a peak P_m >=
// i_t (t in m), P_m >= the month's peak so far, costing the demand charge on P_m above that peak.
// Importing and exporting in the same step never pays while the export price is at most the import
// price; where a tariff says otherwise (export at spot above the import price) the LP sells at the
// import price, so a plan cannot earn by buying and selling at once (no binaries needed).
import { solveLp, type LpConstraint, type LpVariable } from '../optimizer/lp';

export interface BatteryProblem {
  /** Price per step, EUR/MWh (negative allowed). */
  pricesEurPerMWh: readonly number[];
  /** Length of each step, h (the first may be a partial step); or one value for all. */
  stepHours: readonly number[] | number;
  capacityKwh: number;
  socStartPct: number;
  socMinPct: number;
  socMaxPct: number;
  maxChargeKw: number;
  maxDischargeKw: number;
  etaCharge: number;
  etaDischarge: number;
  /** EUR per kWh charged plus discharged (degradation.ts), default 0. */
  degradationEurPerKwh?: number;
  /** Value of each kWh held at the end, EUR/kWh (default 0: end-of-horizon energy is worthless). */
  terminalValueEurPerKwh?: number;
  /** Lowest SoC at the end, % (default: no constraint). */
  terminalSocMinPct?: number;
  /** Site load and PV forecast per step, kW (both or neither); enables gridKw and the grid limits. */
  loadKw?: readonly number[];
  pvKw?: readonly number[];
  gridImportMaxKw?: number;
  gridExportMaxKw?: number;
  /** The site's bill as the objective (needs loadKw and pvKw); without it the spot spread. */
  tariff?: ScheduleTariff;
  /** HiGHS's method and time limit, s (default: its own choice, 10 s). */
  solver?: 'choose' | 'ipm';
  timeLimitS?: number;
}

export interface ScheduleTariff {
  /** EUR/kWh per step. */
  importEurPerKwh: readonly number[];
  exportEurPerKwh: readonly number[];
  /** EUR per kW of a month's highest 15-minute mean import (default 0). */
  demandChargeEurPerKw?: number;
  /** Calendar month per step (tariff.ts monthIndex); default: all steps in one month. */
  month?: readonly number[];
  /** The highest 15-minute mean import so far in the first step's month, kW (default 0). */
  peakSoFarKw?: number;
  /** Per step, how far the load may run above its forecast, kW: the month's peak is planned to
   * hold with that much more import, so the battery keeps the energy for it (default 0). */
  peakMarginKw?: readonly number[];
}

export interface BatterySchedule {
  chargeKw: number[];
  dischargeKw: number[];
  /** Net battery power per step, kW, + = discharge. */
  powerKw: number[];
  /** SoC at the end of each step, %. */
  socPct: number[];
  /** Grid power per step, kW, + = import; null without a load forecast. */
  gridKw: (number | null)[];
  /** Energy trading revenue sum price (d - c) dt, EUR. */
  revenueEur: number;
  degradationEur: number;
  terminalValueEur: number;
  /** revenue - degradation + terminal value, EUR. */
  objectiveEur: number;
  /** With a tariff: the site's bill over the plan without the battery and with it, EUR (revenueEur
   * is then the difference, the battery's saving). */
  billNoBatteryEur: number | null;
  billEur: number | null;
  solveMs: number;
  /** LP solves it took (1 unless a step wanted to charge and discharge at once). */
  solves: number;
}

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** Penalty for exceeding a grid limit, EUR/kWh: the limits are soft so a PV surplus the battery
 * cannot absorb leaves the plan feasible, but the battery never adds to a violation it can avoid. */
const GRID_LIMIT_PENALTY = 10;
/** EUR/kWh: see siteBillModel. */
const EXPORT_TIE_BREAK = 1e-4;
/** Below this (kW) a charge or discharge is solver noise. */
const EPS_KW = 1e-6;

function check(p: BatteryProblem): number[] {
  const n = p.pricesEurPerMWh.length;
  if (n === 0) throw new ScheduleError('no prices');
  const dt = typeof p.stepHours === 'number' ? Array<number>(n).fill(p.stepHours) : [...p.stepHours];
  if (dt.length !== n) throw new ScheduleError(`stepHours has ${dt.length} entries for ${n} prices`);
  const bad = (what: string, v: unknown): never => { throw new ScheduleError(`${what}: ${String(v)}`); };
  if (!p.pricesEurPerMWh.every(Number.isFinite)) bad('prices must be finite numbers', p.pricesEurPerMWh.find((x) => !Number.isFinite(x)));
  if (!dt.every((h) => h > 0 && Number.isFinite(h))) bad('step lengths must be positive', dt.find((h) => !(h > 0)));
  if (!(p.capacityKwh > 0)) bad('capacity must be positive', p.capacityKwh);
  if (!(p.socMinPct >= 0 && p.socMinPct <= p.socMaxPct && p.socMaxPct <= 100)) bad('SoC window must satisfy 0 <= min <= max <= 100', `${p.socMinPct}..${p.socMaxPct}`);
  if (!(p.maxChargeKw >= 0 && p.maxDischargeKw >= 0)) bad('power limits must be >= 0', `${p.maxChargeKw}/${p.maxDischargeKw}`);
  if (!(p.etaCharge > 0 && p.etaCharge <= 1 && p.etaDischarge > 0 && p.etaDischarge <= 1)) bad('efficiencies must be in (0, 1]', `${p.etaCharge}/${p.etaDischarge}`);
  if (!(p.socStartPct >= 0 && p.socStartPct <= 100)) bad('start SoC must be 0..100', p.socStartPct);
  if ((p.loadKw === undefined) !== (p.pvKw === undefined)) throw new ScheduleError('give both loadKw and pvKw, or neither');
  if (p.loadKw && (p.loadKw.length !== n || p.pvKw?.length !== n)) throw new ScheduleError('loadKw and pvKw need one value per price');
  if (p.loadKw && !(p.loadKw.every(Number.isFinite) && (p.pvKw ?? []).every(Number.isFinite))) throw new ScheduleError('loadKw and pvKw must be finite numbers');
  const tf = p.tariff;
  if (tf) {
    if (!p.loadKw) throw new ScheduleError('a tariff needs loadKw and pvKw');
    if (tf.peakMarginKw && (tf.peakMarginKw.length !== n || !tf.peakMarginKw.every(Number.isFinite))) throw new ScheduleError('peakMarginKw needs one finite value per step');
    if (tf.importEurPerKwh.length !== n || tf.exportEurPerKwh.length !== n || (tf.month && tf.month.length !== n)) throw new ScheduleError('the tariff needs one import price, export price and month per step');
    if (![...tf.importEurPerKwh, ...tf.exportEurPerKwh].every(Number.isFinite)) throw new ScheduleError('tariff prices must be finite numbers');
    if (!((tf.demandChargeEurPerKw ?? 0) >= 0 && (tf.peakSoFarKw ?? 0) >= 0)) bad('demand charge and peak so far must be >= 0', `${tf.demandChargeEurPerKw}/${tf.peakSoFarKw}`);
  }
  return dt;
}

/** Plan the battery over the prices. Throws ScheduleError on bad input or an infeasible problem. */
export async function planSchedule(p: BatteryProblem): Promise<BatterySchedule> {
  const dt = check(p);
  const n = dt.length;
  const cap = p.capacityKwh;
  const eMin = (cap * p.socMinPct) / 100;
  const eMax = (cap * p.socMaxPct) / 100;
  // A start outside the window (after a long idle or a manual top-up) is where we are: the window
  // widens to include it, so the plan is feasible and never goes further out than it already is.
  const e0 = (cap * p.socStartPct) / 100;
  const eLo = Math.min(eMin, e0);
  const eHi = Math.max(eMax, e0);
  const k = p.degradationEurPerKwh ?? 0;
  const v = p.terminalValueEurPerKwh ?? 0;
  const site = p.loadKw && p.pvKw ? p.loadKw.map((l, t) => l - (p.pvKw?.[t] ?? 0)) : null;
  const limited = p.gridImportMaxKw !== undefined || p.gridExportMaxKw !== undefined;
  const chargeOnly = new Set<number>();
  let solveMs = 0;
  for (let solves = 1; ; solves++) {
    const variables: LpVariable[] = [];
    const constraints: LpConstraint[] = [];
    const tf = p.tariff;
    if (tf && site) siteBillModel(tf, site, dt, p, variables, constraints);
    for (let t = 0; t < n; t++) {
      const price = tf ? 0 : (p.pricesEurPerMWh[t] as number) / 1000;
      const h = dt[t] as number;
      variables.push({ name: `c${t}`, ub: p.maxChargeKw, cost: (-price - k) * h });
      variables.push({ name: `d${t}`, ub: chargeOnly.has(t) ? 0 : p.maxDischargeKw, cost: (price - k) * h });
      variables.push({ name: `e${t}`, lb: eLo, ub: eHi, cost: t === n - 1 ? v : 0 });
      const prev: [string, number][] = t === 0 ? [] : [[`e${t - 1}`, -1]];
      constraints.push({ name: `bal${t}`, terms: [[`e${t}`, 1], ...prev, [`c${t}`, -p.etaCharge * h], [`d${t}`, h / p.etaDischarge]], lb: t === 0 ? e0 : 0, ub: t === 0 ? e0 : 0 });
      if (tf) {
        // The grid limits bound the import and export variables (siteBillModel).
      } else if (site && limited) {
        const net = site[t] as number;
        const terms: [string, number][] = [[`c${t}`, 1], [`d${t}`, -1]];
        if (p.gridImportMaxKw !== undefined) {
          variables.push({ name: `ui${t}`, cost: -GRID_LIMIT_PENALTY * h });
          constraints.push({ name: `imp${t}`, terms: [...terms, [`ui${t}`, -1]], ub: p.gridImportMaxKw - net });
        }
        if (p.gridExportMaxKw !== undefined) {
          variables.push({ name: `ue${t}`, cost: -GRID_LIMIT_PENALTY * h });
          constraints.push({ name: `exp${t}`, terms: [...terms, [`ue${t}`, 1]], lb: -p.gridExportMaxKw - net });
        }
      } else if (limited) {
        // No site forecast: the battery alone faces the connection's limits.
        if (p.gridImportMaxKw !== undefined) constraints.push({ name: `imp${t}`, terms: [[`c${t}`, 1], [`d${t}`, -1]], ub: p.gridImportMaxKw });
        if (p.gridExportMaxKw !== undefined) constraints.push({ name: `exp${t}`, terms: [[`c${t}`, 1], [`d${t}`, -1]], lb: -p.gridExportMaxKw });
      }
    }
    if (p.terminalSocMinPct !== undefined) {
      constraints.push({ name: 'terminal', terms: [[`e${n - 1}`, 1]], lb: Math.min((cap * p.terminalSocMinPct) / 100, eMax) });
    }
    const sol = await solveLp({ sense: 'maximize', variables, constraints }, { solver: p.solver ?? 'choose', timeLimitS: p.timeLimitS ?? 10 });
    solveMs += sol.solveMs;
    if (!sol.optimal) throw new ScheduleError(`the LP has no optimal solution (${sol.status}); check the SoC window, start SoC and terminal SoC`);
    const val = (name: string): number => sol.values.get(name) ?? 0;
    const both: number[] = [];
    for (let t = 0; t < n; t++) if (val(`c${t}`) > EPS_KW && val(`d${t}`) > EPS_KW) both.push(t);
    if (both.length && solves < 6) {
      for (const t of both) chargeOnly.add(t);
      continue;
    }
    return result(p, dt, site, val, solveMs, solves);
  }
}

/** The meter's balance, import and export at their prices, the grid limits and the month peaks. */
function siteBillModel(tf: ScheduleTariff, site: readonly number[], dt: readonly number[], p: BatteryProblem, variables: LpVariable[], constraints: LpConstraint[]): void {
  const months = tf.month ?? site.map(() => 0);
  const first = months[0] as number;
  const charge = tf.demandChargeEurPerKw ?? 0;
  site.forEach((net, t) => {
    const h = dt[t] as number;
    const pi = tf.importEurPerKwh[t] as number;
    const px = Math.min(tf.exportEurPerKwh[t] as number, pi);
    variables.push({ name: `i${t}`, cost: -pi * h });
    // A flat feed-in tariff leaves many plans equally good (store the surplus now or a later one);
    // a hair of preference for exporting later picks storing first, which a wrong forecast of
    // later surplus cannot undo.
    variables.push({ name: `x${t}`, cost: (px - (EXPORT_TIE_BREAK * (site.length - t)) / site.length) * h });
    constraints.push({ name: `met${t}`, terms: [[`i${t}`, 1], [`x${t}`, -1], [`c${t}`, -1], [`d${t}`, 1]], lb: net, ub: net });
    // Soft limits, but only as far as the site alone is past them: a PV surplus the battery cannot
    // take, or a load above the connection, leaves the plan feasible, and the battery never adds
    // to a violation (not even to shave a later peak under a demand charge).
    if (p.gridImportMaxKw !== undefined) {
      variables.push({ name: `ui${t}`, ub: Math.max(0, net - p.gridImportMaxKw), cost: -GRID_LIMIT_PENALTY * h });
      constraints.push({ name: `imp${t}`, terms: [[`i${t}`, 1], [`ui${t}`, -1]], ub: p.gridImportMaxKw });
    }
    if (p.gridExportMaxKw !== undefined) {
      variables.push({ name: `ue${t}`, ub: Math.max(0, -net - p.gridExportMaxKw), cost: -GRID_LIMIT_PENALTY * h });
      constraints.push({ name: `exp${t}`, terms: [[`x${t}`, 1], [`ue${t}`, -1]], ub: p.gridExportMaxKw });
    }
    if (charge > 0) {
      const margin = Math.max(0, tf.peakMarginKw?.[t] ?? 0);
      if (margin > 0) {
        // The margin is held by a reserve r_t: discharge power left over in the step, backed by
        // energy held above the floor, kept rather than spent:
        //   P_m >= i_t + margin_t - r_t,  r_t <= P_d - d_t + c_t,  r_t h / eta_d <= e_{t-1} - E_min.
        variables.push({ name: `r${t}`, ub: margin });
        constraints.push({ name: `pk${t}`, terms: [[`i${t}`, 1], [`P${months[t] as number}`, -1], [`r${t}`, -1]], ub: -margin });
        constraints.push({ name: `rp${t}`, terms: [[`r${t}`, 1], [`d${t}`, 1], [`c${t}`, -1]], ub: p.maxDischargeKw });
        const eMin = (p.capacityKwh * p.socMinPct) / 100;
        const e0 = (p.capacityKwh * p.socStartPct) / 100;
        if (t === 0) constraints.push({ name: `re${t}`, terms: [[`r${t}`, h / p.etaDischarge]], ub: Math.max(0, e0 - eMin) });
        else constraints.push({ name: `re${t}`, terms: [[`r${t}`, h / p.etaDischarge], [`e${t - 1}`, -1]], ub: -eMin });
      } else constraints.push({ name: `pk${t}`, terms: [[`i${t}`, 1], [`P${months[t] as number}`, -1]], ub: 0 });
    }
  });
  if (charge > 0) {
    for (const m of new Set(months)) variables.push({ name: `P${m}`, lb: m === first ? (tf.peakSoFarKw ?? 0) : 0, cost: -charge });
  }
}

/** The bill over the steps at grid powers `gridKw`, the demand charge counted above the peak so far. */
function horizonBill(tf: ScheduleTariff, gridKw: readonly number[], dt: readonly number[]): number {
  const months = tf.month ?? gridKw.map(() => 0);
  const first = months[0] as number;
  const peaks = new Map<number, number>();
  let eur = 0;
  gridKw.forEach((g, t) => {
    const pi = tf.importEurPerKwh[t] as number;
    const h = dt[t] as number;
    eur += g > 0 ? pi * g * h : Math.min(tf.exportEurPerKwh[t] as number, pi) * g * h;
    const m = months[t] as number;
    peaks.set(m, Math.max(peaks.get(m) ?? (m === first ? (tf.peakSoFarKw ?? 0) : 0), g));
  });
  for (const [m, pk] of peaks) eur += (tf.demandChargeEurPerKw ?? 0) * (pk - (m === first ? (tf.peakSoFarKw ?? 0) : 0));
  return eur;
}

function result(p: BatteryProblem, dt: number[], site: number[] | null, val: (n: string) => number, solveMs: number, solves: number): BatterySchedule {
  const n = dt.length;
  const chargeKw: number[] = [];
  const dischargeKw: number[] = [];
  const socPct: number[] = [];
  let e = (p.capacityKwh * p.socStartPct) / 100;
  let revenue = 0;
  let throughput = 0;
  for (let t = 0; t < n; t++) {
    // Net the step (a no-op unless the pass limit was hit) and recompute the energy from the
    // powers, so the plan is exactly what following it does in the LP's own model.
    const net = val(`d${t}`) - val(`c${t}`);
    const c = net < -EPS_KW ? -net : 0;
    const d = net > EPS_KW ? net : 0;
    const h = dt[t] as number;
    chargeKw.push(c);
    dischargeKw.push(d);
    e += c * p.etaCharge * h - (d * h) / p.etaDischarge;
    socPct.push(Math.min(100, Math.max(0, (100 * e) / p.capacityKwh)));
    revenue += ((p.pricesEurPerMWh[t] as number) / 1000) * (d - c) * h;
    throughput += (c + d) * h;
  }
  const degradationEur = (p.degradationEurPerKwh ?? 0) * throughput;
  const terminalValueEur = (p.terminalValueEurPerKwh ?? 0) * e;
  const gridKw = site ? site.map((s, t) => s + (chargeKw[t] as number) - (dischargeKw[t] as number)) : null;
  let billNoBatteryEur: number | null = null;
  let billEur: number | null = null;
  if (p.tariff && site && gridKw) {
    billNoBatteryEur = horizonBill(p.tariff, site, dt);
    billEur = horizonBill(p.tariff, gridKw, dt);
    revenue = billNoBatteryEur - billEur;
  }
  return {
    chargeKw,
    dischargeKw,
    powerKw: dischargeKw.map((d, t) => d - (chargeKw[t] as number)),
    socPct,
    gridKw: gridKw ?? Array<null>(n).fill(null),
    revenueEur: revenue,
    degradationEur,
    terminalValueEur,
    objectiveEur: revenue - degradationEur + terminalValueEur,
    solveMs,
    solves,
    billNoBatteryEur,
    billEur,
  };
}
