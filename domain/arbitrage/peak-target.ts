// The month's import target under a demand charge: the level the live rule (dispatch.ts) holds the
// import at. The month's peak so far is already paid for, so the target is never below it. But at a
// month's start the peak so far is zero, and a target of zero (or of a sunny week's low peak) leaves
// the battery nothing under the cap to charge with: a few cloudy days run it empty and the next
// spike sets the month's charge. So the target is also never below the lowest level at which the
// same live rule, run from the SoC now over the site's high net-load forecast (site-forecast.ts
// netHighKw: each time of day's high quantile of load less PV over the last week, so a dull day and
// a busy evening), would never import above it. The target rises early and by a little, when the
// battery runs low against a hard day ahead, rather than late and by a spike.
// Pure: it sees only the SoC now and a forecast made from the past.
import type { SiteForecast } from '../forecast/site-forecast';
import { DEMAND_CHARGE_RESERVE_SOC_PCT, dispatchKw, type DispatchLimits } from './dispatch';
import type { ArbitrageSettings } from './rolling';

/** The battery as the live rule drives it: the plan's settings without the horizon's. */
export type TargetBattery = Pick<ArbitrageSettings, 'capacityKwh' | 'socMinPct' | 'socMaxPct' | 'maxChargeKw' | 'maxDischargeKw' | 'etaCharge' | 'etaDischarge' | 'gridImportMaxKw' | 'gridExportMaxKw'>;

/**
 * The battery following a power for `hours`, kW + = discharge, within its power limits and its SoC
 * window (losses on both ways): the power it really delivers and the SoC after. bench/site.ts
 * simulates the site's battery with it.
 */
export function stepBattery(socPct: number, powerKw: number, b: TargetBattery, hours: number): { kw: number; socPct: number } {
  const e = (b.capacityKwh * socPct) / 100;
  const eMin = (b.capacityKwh * b.socMinPct) / 100;
  const eMax = (b.capacityKwh * b.socMaxPct) / 100;
  let kw = Number.isFinite(powerKw) ? powerKw : 0;
  if (kw > 0) kw = Math.min(kw, b.maxDischargeKw, (Math.max(0, e - eMin) * b.etaDischarge) / hours);
  else kw = -Math.min(-kw, b.maxChargeKw, Math.max(0, eMax - e) / (b.etaCharge * hours));
  const e2 = kw > 0 ? e - (kw * hours) / b.etaDischarge : e - kw * hours * b.etaCharge;
  return { kw: kw === 0 ? 0 : kw, socPct: (100 * e2) / b.capacityKwh };
}

/** Import levels closer than this are the same target, kW. */
const LEVEL_RESOLUTION_KW = 0.01;

/**
 * Whether the live rule with import cap `levelKw` and the reserve holds the import at or under the
 * level over the net load (kW per step of `hours`), from `socStartPct`. The plan it follows is plain
 * self-consumption (grid held at zero): what the battery does when no price makes it trade.
 */
function holds(netKw: readonly number[], hours: number, b: TargetBattery, reserveSocPct: number, socStartPct: number, levelKw: number): boolean {
  let soc = socStartPct;
  const limits: DispatchLimits = { ...b, socPct: soc, importCapKw: levelKw, reserveSocPct };
  for (const net of netKw) {
    limits.socPct = soc;
    const r = stepBattery(soc, dispatchKw({ powerKw: 0, gridKw: 0 }, net, limits), b, hours);
    if (net - r.kw > levelKw + LEVEL_RESOLUTION_KW / 2) return false;
    soc = r.socPct;
  }
  return true;
}

/**
 * The lowest import level, kW, at which the live rule holds the import at or under it over the net
 * load (kW per step of `hours`, in time order) from `socStartPct` (default: the reserve): bisection,
 * since a higher level only leaves the battery more energy. 0 for no steps; never above the
 * highest net load.
 */
export function heldImportLevelKw(netKw: readonly number[], hours: number, b: TargetBattery, reserveSocPct: number, socStartPct = reserveSocPct): number {
  const net = netKw.filter(Number.isFinite);
  const top = net.reduce((m, x) => Math.max(m, x), 0);
  const start = Math.min(b.socMaxPct, Math.max(b.socMinPct, socStartPct));
  if (net.length === 0 || holds(net, hours, b, reserveSocPct, start, 0)) return 0;
  let lo = 0;
  let hi = top;
  while (hi - lo > LEVEL_RESOLUTION_KW) {
    const mid = (lo + hi) / 2;
    if (holds(net, hours, b, reserveSocPct, start, mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The month's import target, kW: the peak so far, or the level the site needs ahead if higher;
 * never above the grid's import limit (the battery is then asked to shave to the limit).
 */
export function peakTargetKw(peakSoFarKw: number, heldLevelKw: number, gridImportMaxKw?: number): number {
  const t = Math.max(0, Number.isFinite(peakSoFarKw) ? peakSoFarKw : 0, Number.isFinite(heldLevelKw) ? heldLevelKw : 0);
  return gridImportMaxKw !== undefined && Number.isFinite(gridImportMaxKw) ? Math.min(t, Math.max(0, gridImportMaxKw)) : t;
}

/**
 * The level the site needs ahead, kW: the held level over the forecast's high net load from the step
 * holding `nowMs` on, from the SoC now (0 without a forecast that has one: the target is then the
 * peak so far).
 */
export function heldLevelAheadKw(forecast: SiteForecast | null, nowMs: number, socPct: number, b: TargetBattery): number {
  if (!forecast?.netHighKw) return 0;
  const stepMs = forecast.stepMinutes * 60_000;
  const ahead = forecast.netHighKw.slice(Math.max(0, Math.floor((nowMs - forecast.start) / stepMs)));
  return ahead.length ? heldImportLevelKw(ahead, forecast.stepMinutes / 60, b, DEMAND_CHARGE_RESERVE_SOC_PCT, socPct) : 0;
}
