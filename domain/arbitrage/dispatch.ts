// From the plan's current step to the battery's power now, with the site's net load measured now.
// The plan is made on forecasts; the meter says what the site really does. Where the plan meant the
// battery to serve the site itself, the battery follows the measurement instead of the forecast:
// - the plan holds the grid at zero (self-consumption): the battery takes the whole measured net
//   load, so a forecast error neither imports nor exports;
// - the plan discharges to hold the import at a level (a peak, a dear hour): the battery holds that
//   import level against the measured load;
// - the plan charges from a PV surplus it exports the rest of: the battery charges from the
//   measured surplus only, never from the grid, at most the planned power;
// - everything else (charging from the grid at a cheap hour, holding energy for later, exporting)
//   is the plan's own power, except that where the plan expected no export, a surplus the meter
//   sees goes into the battery rather than to the grid, and where it expected no import, a deficit
//   comes from the battery.
// Under a demand charge the battery also holds the import at the month's import target
// (peak-target.ts: the peak so far, or the level the site's high net-load forecast needs, if
// higher), and below a reserve SoC it holds the import exactly there: it charges with what is left
// under the target instead of running empty before an unforeseen peak, which would set the month's
// charge. The plan's own planned import never lifts that cap: the plan prices a peak margin it may
// never need, and a cap at the plan's import made the plan's guesses the month's peaks (README,
// "The site's bill").
// Then the result stays inside the battery's envelope (power limits, SoC window) and never pushes
// the grid past its limits where the battery itself would be the cause.

/** The plan's step: battery power (+ = discharge) and the grid power it expected (+ = import), kW. */
export interface DispatchStep {
  powerKw: number;
  gridKw: number | null;
}

export interface DispatchLimits {
  socPct: number;
  socMinPct: number;
  socMaxPct: number;
  maxChargeKw: number;
  maxDischargeKw: number;
  gridImportMaxKw?: number;
  gridExportMaxKw?: number;
  /** An import level the battery discharges to hold while it can, and never charges above (the month's import target under a demand charge), kW. */
  importCapKw?: number;
  /** Below this SoC (with an import cap) the battery holds the import at the cap: it discharges what lies above it and charges with what is left below it, %. */
  reserveSocPct?: number;
}

/**
 * Under a demand charge the battery keeps at least half its window for the month's peak: a full
 * battery could not take the PV surplus, an empty one could not shave. On the site bench, with the
 * import target of peak-target.ts, 40 % gave the same bill (0.833 of the optimum against 0.832) and
 * 30 % less (0.795); a reserve sized from the forecast instead let the battery sit low (0.680)
 * (README, "The site's bill").
 */
export const DEMAND_CHARGE_RESERVE_SOC_PCT = 50;

/** The dispatch limits a demand charge adds: the month's import target (peak-target.ts, at least the peak so far) as the import cap, and the reserve. */
export function demandChargeLimits(demandChargeEurPerKw: number, targetKw: number): Pick<DispatchLimits, 'importCapKw' | 'reserveSocPct'> {
  return demandChargeEurPerKw > 0 ? { importCapKw: targetKw, reserveSocPct: DEMAND_CHARGE_RESERVE_SOC_PCT } : {};
}

/** Below this the plan's grid power counts as zero, kW. */
export const SELF_CONSUMPTION_TOLERANCE_KW = 0.05;

export function dispatchKw(step: DispatchStep, measuredNetKw: number | undefined, l: DispatchLimits): number {
  let kw = step.powerKw;
  if (measuredNetKw !== undefined && Number.isFinite(measuredNetKw) && step.gridKw !== null) {
    if (Math.abs(step.gridKw) <= SELF_CONSUMPTION_TOLERANCE_KW) kw = measuredNetKw;
    else if (step.gridKw > 0 && step.powerKw > SELF_CONSUMPTION_TOLERANCE_KW) kw = Math.max(0, measuredNetKw - step.gridKw);
    else if (step.gridKw < 0 && step.powerKw < 0) kw = -Math.min(-step.powerKw, Math.max(0, -measuredNetKw));
    // Where the plan expected no export, an unforeseen surplus goes into the battery, not the grid.
    if (step.gridKw >= -SELF_CONSUMPTION_TOLERANCE_KW && measuredNetKw - kw < 0) kw = Math.min(kw, measuredNetKw);
    // Where it expected no import, an unforeseen deficit comes from the battery, not the grid.
    if (step.gridKw <= SELF_CONSUMPTION_TOLERANCE_KW && measuredNetKw - kw > 0) kw = Math.max(kw, measuredNetKw);
    if (l.importCapKw !== undefined) {
      const cap = l.importCapKw;
      if (l.reserveSocPct !== undefined && l.socPct < l.reserveSocPct) kw = Math.min(kw, measuredNetKw - cap);
      if (measuredNetKw - kw > cap) kw = measuredNetKw - cap;
    }
  }
  return withinEnvelope(kw, measuredNetKw, l);
}

/** A battery power clipped to the power limits and the SoC window, and to what keeps the grid within its limits. */
export function withinEnvelope(kw: number, measuredNetKw: number | undefined, l: DispatchLimits): number {
  let p = Number.isFinite(kw) ? kw : 0;
  p = Math.min(p, l.socPct > l.socMinPct ? l.maxDischargeKw : 0);
  p = Math.max(p, l.socPct < l.socMaxPct ? -l.maxChargeKw : 0);
  if (measuredNetKw !== undefined && Number.isFinite(measuredNetKw)) {
    // Charging must not lift the import past its limit; discharging must not push the export past its limit.
    if (l.gridImportMaxKw !== undefined && p < 0) p = Math.max(p, Math.min(0, measuredNetKw - l.gridImportMaxKw));
    if (l.gridExportMaxKw !== undefined && p > 0) p = Math.min(p, Math.max(0, measuredNetKw + l.gridExportMaxKw));
  }
  return p === 0 ? 0 : p;
}
