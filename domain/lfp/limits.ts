// The LiFePO4 operating envelope: the one place for these numbers. The simulator's BMS uses them
// to set its current limits and alarm flags, and the safety envelope uses the same object, so
// the EMS and the battery it controls agree on what "too hot" or "too full" means.
//
// Defaults (docs/ARCHITECTURE.md, "LiFePO4 defaults"), consistent with common LFP prismatic cell datasheets
// (e.g. EVE LF280K, CATL 280 Ah: 2.5-3.65 V, charge 0-45 degC, discharge -20-55 degC, 1C max):
// cell 2.50-3.65 V hard limits, charge taper from 3.45 V, discharge taper below 3.00 V; charge
// 0-45 degC with derating above 40 degC, discharge -20-55 degC; current up to 1C; SoC window
// 5-95 %; cell spread alarm above 100 mV. Every value can be overridden per device profile.
import { z } from 'zod';

export const LfpProfileSchema = z
  .object({
    /** Hard cell voltage limits, V: outside them the BMS opens the contactor. */
    cellVoltageMaxV: z.number().finite(),
    cellVoltageMinV: z.number().finite(),
    /** Charge current tapers linearly from full at chargeTaperStartV to zero at chargeTaperEndV. */
    chargeTaperStartV: z.number().finite(),
    chargeTaperEndV: z.number().finite(),
    /** Discharge current tapers linearly from full at dischargeTaperStartV to zero at dischargeTaperEndV. */
    dischargeTaperStartV: z.number().finite(),
    dischargeTaperEndV: z.number().finite(),
    /** Warning thresholds before the hard limits, V. */
    cellVoltageWarnHighV: z.number().finite(),
    cellVoltageWarnLowV: z.number().finite(),
    /** Charging allowed between these cell temperatures, degC; derated linearly above chargeDerateAboveC. */
    chargeTempMinC: z.number().finite(),
    chargeTempMaxC: z.number().finite(),
    chargeDerateAboveC: z.number().finite(),
    /** Discharging allowed between these cell temperatures, degC; derated linearly above dischargeDerateAboveC. */
    dischargeTempMinC: z.number().finite(),
    dischargeTempMaxC: z.number().finite(),
    dischargeDerateAboveC: z.number().finite(),
    /** Largest continuous current as a multiple of the rated capacity (1 = 1C). */
    maxChargeC: z.number().positive(),
    maxDischargeC: z.number().positive(),
    /** Recommended SoC window, %: the EMS keeps the battery inside it. */
    socMinPct: z.number().min(0).max(100),
    socMaxPct: z.number().min(0).max(100),
    /** Cell voltage spread (max - min) above which the pack is imbalanced, V. */
    cellSpreadMaxV: z.number().positive(),
    /** Cell temperature spread above which the pack warns, K. */
    tempSpreadMaxK: z.number().positive(),
  })
  .refine(
    (p) =>
      p.cellVoltageMinV <= p.dischargeTaperEndV && p.dischargeTaperEndV < p.dischargeTaperStartV && p.dischargeTaperStartV < p.chargeTaperStartV &&
      p.chargeTaperStartV < p.chargeTaperEndV && p.chargeTaperEndV <= p.cellVoltageMaxV,
    { message: 'need cellVoltageMinV <= dischargeTaperEndV < dischargeTaperStartV < chargeTaperStartV < chargeTaperEndV <= cellVoltageMaxV' },
  )
  .refine((p) => p.cellVoltageMinV < p.cellVoltageWarnLowV && p.cellVoltageWarnHighV < p.cellVoltageMaxV, {
    message: 'warning voltages must lie inside the hard limits',
  })
  .refine((p) => p.chargeTempMinC < p.chargeDerateAboveC && p.chargeDerateAboveC <= p.chargeTempMaxC, {
    message: 'need chargeTempMinC < chargeDerateAboveC <= chargeTempMaxC',
  })
  .refine((p) => p.dischargeTempMinC < p.dischargeDerateAboveC && p.dischargeDerateAboveC <= p.dischargeTempMaxC, {
    message: 'need dischargeTempMinC < dischargeDerateAboveC <= dischargeTempMaxC',
  })
  .refine((p) => p.socMinPct < p.socMaxPct, { message: 'need socMinPct < socMaxPct' });

export type LfpProfile = z.infer<typeof LfpProfileSchema>;

export const LFP_DEFAULTS: Readonly<LfpProfile> = Object.freeze({
  cellVoltageMaxV: 3.65,
  cellVoltageMinV: 2.5,
  chargeTaperStartV: 3.45,
  // The taper ends 50 mV (charge) and 100 mV (discharge) inside the hard limits: a charger that
  // regulated to the trip voltage itself would trip the protection on every full charge
  // (3.60 V is the usual LFP CV charge voltage; 3.65 V is the datasheet maximum).
  chargeTaperEndV: 3.6,
  dischargeTaperStartV: 3.0,
  dischargeTaperEndV: 2.6,
  cellVoltageWarnHighV: 3.6,
  cellVoltageWarnLowV: 2.8,
  chargeTempMinC: 0,
  chargeTempMaxC: 45,
  chargeDerateAboveC: 40,
  dischargeTempMinC: -20,
  dischargeTempMaxC: 55,
  // The defaults give no discharge derating point; 5 K below the limit mirrors the charge side.
  dischargeDerateAboveC: 50,
  maxChargeC: 1,
  maxDischargeC: 1,
  socMinPct: 5,
  socMaxPct: 95,
  cellSpreadMaxV: 0.1,
  tempSpreadMaxK: 10,
});

/** The defaults with some values overridden; throws a ZodError naming what is inconsistent. */
export function lfpProfile(overrides: Partial<LfpProfile> = {}): LfpProfile {
  return LfpProfileSchema.parse({ ...LFP_DEFAULTS, ...overrides });
}

/** 1 at or below `full`, 0 at or beyond `zero`, linear between (works for either direction). */
export function linearTaper(x: number, full: number, zero: number): number {
  if (Number.isNaN(x)) return 0;
  const f = (zero - x) / (zero - full);
  return Math.min(1, Math.max(0, f));
}

/** The part (0..1) of the rated charge current allowed at these cell extremes. */
export function chargeCurrentFactor(p: LfpProfile, cellVmax: number, tempMax: number, tempMin: number): number {
  const byVoltage = linearTaper(cellVmax, p.chargeTaperStartV, p.chargeTaperEndV);
  const byHeat = linearTaper(tempMax, p.chargeDerateAboveC, p.chargeTempMaxC);
  // Lithium plating: no charging below the minimum temperature at all (a step, not a taper).
  const byCold = tempMin < p.chargeTempMinC ? 0 : 1;
  return Math.min(byVoltage, byHeat, byCold);
}

/** The part (0..1) of the rated discharge current allowed at these cell extremes. */
export function dischargeCurrentFactor(p: LfpProfile, cellVmin: number, tempMax: number, tempMin: number): number {
  const byVoltage = linearTaper(cellVmin, p.dischargeTaperStartV, p.dischargeTaperEndV);
  const byHeat = linearTaper(tempMax, p.dischargeDerateAboveC, p.dischargeTempMaxC);
  const byCold = tempMin < p.dischargeTempMinC ? 0 : 1;
  return Math.min(byVoltage, byHeat, byCold);
}
