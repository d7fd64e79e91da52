// The offline peak planner: the lowest peak import a battery could achieve over a load series
// with perfect foresight, as a linear programme (minimise P subject to grid_t <= P). It is the
// reference the online controller is measured against (bench/peak.ts), one LP per billing month.
//
// Assumptions, stated because they set the reference:
// - The battery does not export: its discharge never exceeds the site's net load in a step
//   (feed-in of stored energy is not what peak shaving is for, and many tariffs forbid it). PV
//   export is allowed, and the battery may charge from PV surplus or from the grid.
// - Energy bucket: e_t = e_{t-1} + eta * charge_t * h - discharge_t * h / eta, SoC window
//   [minSocPct, maxSocPct], power limits, no self-discharge; the end SoC is free.
import { solveLp, type LpConstraint, type LpVariable } from '../optimizer/lp';

export interface PlannerBattery {
  capacityWh: number;
  initialSocPct: number;
  minSocPct: number;
  maxSocPct: number;
  maxChargeW: number;
  maxDischargeW: number;
  /** One-way efficiency, charge and discharge alike (0.95 = 90 % round trip). */
  efficiency: number;
}

export interface PeakPlanInput {
  /** Load net of PV per step, W (+ = the site would import). */
  netW: readonly number[];
  /** Step length, h (0.25 for 15-minute data). */
  stepH: number;
  battery: PlannerBattery;
  /** Let the battery export (discharge beyond the net load); default false. */
  batteryExport?: boolean;
}

export interface PeakPlan {
  optimal: boolean;
  /** The lowest achievable peak import, W. */
  peakW: number;
  /** Battery power per step, W, + = discharge. */
  powerW: number[];
  /** SoC at the end of each step, %. */
  socPct: number[];
  gridW: number[];
  solveMs: number;
}

export class PlannerError extends Error {
  override name = 'PlannerError';
}

export async function optimalPeak(input: PeakPlanInput): Promise<PeakPlan> {
  const { netW, stepH, battery: b } = input;
  if (netW.length === 0) return { optimal: true, peakW: 0, powerW: [], socPct: [], gridW: [], solveMs: 0 };
  if (!(b.capacityWh > 0) || !(b.efficiency > 0 && b.efficiency <= 1) || !(stepH > 0)) {
    throw new PlannerError('planner: capacity, efficiency and step must be positive');
  }
  const eMin = (b.minSocPct / 100) * b.capacityWh;
  const eMax = (b.maxSocPct / 100) * b.capacityWh;
  const e0 = Math.min(eMax, Math.max(eMin, (b.initialSocPct / 100) * b.capacityWh));
  const variables: LpVariable[] = [{ name: 'P', lb: 0, cost: 1 }];
  const constraints: LpConstraint[] = [];
  netW.forEach((n, t) => {
    const dMax = input.batteryExport ? b.maxDischargeW : Math.min(b.maxDischargeW, Math.max(0, n));
    variables.push({ name: `c${t}`, ub: b.maxChargeW }, { name: `d${t}`, ub: dMax }, { name: `e${t}`, lb: eMin, ub: eMax });
    // grid_t = n - d_t + c_t <= P
    constraints.push({ name: `peak${t}`, terms: [['P', 1], [`d${t}`, 1], [`c${t}`, -1]], lb: n });
    // e_t - e_{t-1} - eta h c_t + h/eta d_t = 0, with e_{-1} = e0
    const terms: [string, number][] = [[`e${t}`, 1], [`c${t}`, -b.efficiency * stepH], [`d${t}`, stepH / b.efficiency]];
    if (t > 0) terms.push([`e${t - 1}`, -1]);
    const rhs = t > 0 ? 0 : e0;
    constraints.push({ name: `soc${t}`, terms, lb: rhs, ub: rhs });
  });
  const sol = await solveLp({ sense: 'minimize', variables, constraints }, { timeLimitS: 120 });
  if (!sol.optimal) return { optimal: false, peakW: Number.NaN, powerW: [], socPct: [], gridW: [], solveMs: sol.solveMs };
  const v = (name: string): number => sol.values.get(name) ?? 0;
  const powerW = netW.map((_, t) => v(`d${t}`) - v(`c${t}`));
  return {
    optimal: true,
    peakW: v('P'),
    powerW,
    socPct: netW.map((_, t) => (v(`e${t}`) / b.capacityWh) * 100),
    gridW: netW.map((n, t) => n - (powerW[t] ?? 0)),
    solveMs: sol.solveMs,
  };
}
