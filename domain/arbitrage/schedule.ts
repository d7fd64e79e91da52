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
    for (let t = 0; t < n; t++) {
      const price = (p.pricesEurPerMWh[t] as number) / 1000;
      const h = dt[t] as number;
      variables.push({ name: `c${t}`, ub: p.maxChargeKw, cost: (-price - k) * h });
      variables.push({ name: `d${t}`, ub: chargeOnly.has(t) ? 0 : p.maxDischargeKw, cost: (price - k) * h });
      variables.push({ name: `e${t}`, lb: eLo, ub: eHi, cost: t === n - 1 ? v : 0 });
      const prev: [string, number][] = t === 0 ? [] : [[`e${t - 1}`, -1]];
      constraints.push({ name: `bal${t}`, terms: [[`e${t}`, 1], ...prev, [`c${t}`, -p.etaCharge * h], [`d${t}`, h / p.etaDischarge]], lb: t === 0 ? e0 : 0, ub: t === 0 ? e0 : 0 });
      if (site && limited) {
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
    const sol = await solveLp({ sense: 'maximize', variables, constraints });
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
  return {
    chargeKw,
    dischargeKw,
    powerKw: dischargeKw.map((d, t) => d - (chargeKw[t] as number)),
    socPct,
    gridKw: site ? site.map((s, t) => s + (chargeKw[t] as number) - (dischargeKw[t] as number)) : Array<null>(n).fill(null),
    revenueEur: revenue,
    degradationEur,
    terminalValueEur,
    objectiveEur: revenue - degradationEur + terminalValueEur,
    solveMs,
    solves,
  };
}
