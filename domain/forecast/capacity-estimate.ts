// Capacity from BMS telemetry: coulomb counting between two rests whose SoC the OCV curve pins.
// LFP's OCV is nearly flat between about 30 % and 90 % SoC (a few mV per 10 %), so only rests where
// the curve is steep enough to read SoC within a few percent pin it (minSlopeVPerUnit); between two
// pinned rests, capacity = charge moved / SoC moved. (Plett, Battery Management Systems vol. 2,
// ch. 4: total capacity from the ratio of coulomb count to SoC difference.)
import type { OcvCurve } from '../lfp/ocv-curve';

export interface BmsSample {
  ts: number;
  /** Pack current, A, + = discharge. */
  currentA: number;
  /** Mean cell voltage, V. */
  cellV: number;
}

export interface CapacityEstimateOptions {
  /** |I| below this is rest, A. */
  restA: number;
  /** A rest must last this long for the voltage to relax to OCV, ms. */
  restMs: number;
  /** OCV slope needed to pin SoC, V per unit SoC (0.3 V/unit = 3 mV per %). */
  minSlopeVPerUnit: number;
  /** Smallest SoC swing between two pins worth an estimate, unit SoC. */
  minSwing: number;
}

export const DEFAULT_CAPACITY_OPTIONS: CapacityEstimateOptions = { restA: 0.5, restMs: 30 * 60_000, minSlopeVPerUnit: 0.3, minSwing: 0.4 };

export interface PinnedRest {
  ts: number;
  soc: number;
  /** Charge counted from the first sample to here, Ah (+ = discharged). */
  countedAh: number;
}

export interface CapacityEstimate {
  from: number;
  to: number;
  capacityAh: number;
  swing: number;
}

/** Rests long enough to relax, where the OCV curve is steep enough to read SoC. */
export function pinnedRests(samples: readonly BmsSample[], ocv: OcvCurve, o: CapacityEstimateOptions = DEFAULT_CAPACITY_OPTIONS): PinnedRest[] {
  const out: PinnedRest[] = [];
  let ah = 0;
  let restStart: number | null = null;
  let pinnedThisRest = false;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (i > 0) {
      const prev = samples[i - 1]!;
      ah += (prev.currentA * (s.ts - prev.ts)) / 3_600_000;
    }
    if (Math.abs(s.currentA) < o.restA) {
      if (restStart === null) {
        restStart = s.ts;
        pinnedThisRest = false;
      }
      const next = samples[i + 1];
      const restEnds = !next || Math.abs(next.currentA) >= o.restA;
      if (restEnds && !pinnedThisRest && s.ts - restStart >= o.restMs) {
        const soc = ocv.socAt(s.cellV);
        const slope = (ocv.ocv(Math.min(1, soc + 0.01)) - ocv.ocv(Math.max(0, soc - 0.01))) / 0.02;
        if (slope >= o.minSlopeVPerUnit) out.push({ ts: s.ts, soc, countedAh: ah });
        pinnedThisRest = true;
      }
    } else restStart = null;
  }
  return out;
}

/** One estimate per pair of consecutive pinned rests with enough SoC swing between them. */
export function capacityEstimates(samples: readonly BmsSample[], ocv: OcvCurve, o: CapacityEstimateOptions = DEFAULT_CAPACITY_OPTIONS): CapacityEstimate[] {
  const pins = pinnedRests(samples, ocv, o);
  const out: CapacityEstimate[] = [];
  for (let i = 1; i < pins.length; i++) {
    const a = pins[i - 1]!;
    const b = pins[i]!;
    const swing = a.soc - b.soc;
    if (Math.abs(swing) < o.minSwing) continue;
    out.push({ from: a.ts, to: b.ts, capacityAh: (b.countedAh - a.countedAh) / swing, swing: Math.abs(swing) });
  }
  return out;
}

/**
 * SoH % from the measured estimates and the ageing model's prior: inverse-variance weighting,
 * the measurement's variance shrinking with the SoC swing it spans.
 */
export function combineSoh(priorPct: number, priorSdPct: number, estimates: readonly CapacityEstimate[], ratedAh: number, sdAtFullSwingPct = 1.5): number {
  let w = 1 / priorSdPct ** 2;
  let s = priorPct * w;
  for (const e of estimates) {
    const sd = sdAtFullSwingPct / e.swing;
    const wi = 1 / sd ** 2;
    w += wi;
    s += ((100 * e.capacityAh) / ratedAh) * wi;
  }
  return s / w;
}
