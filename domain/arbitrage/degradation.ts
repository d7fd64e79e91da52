// The cost of wearing the battery, EUR per kWh of throughput, derived from measured LFP ageing.
//
// Data: data/severson2019_b2c30_health_fig04.csv, an A123 APR18650M1A LFP/graphite cell (1.1 Ah
// nominal) cycled to 100 % depth of discharge (Severson et al., Nature Energy 4, 383-391, 2019,
// batch 2, cell c30), discharge capacity `q` in % of nominal per cycle `cycs`.
//
// Derivation (written out so it can be checked by hand):
//   1. fade per full-equivalent cycle f, %-points/cycle, averaged until end of life (fadePerCycle:
//      this cell loses 20 %-points by cycle 493, f = 0.041). Each row is one full cycle at 100 %
//      DoD, so a data cycle is one full-equivalent cycle (FEC).
//   2. the battery reaches end of life after an additional fade of F_eol %-points (default 20:
//      80 % of nominal, the usual warranty end of life of stationary LFP); cycles to end of life
//      N = F_eol / f.
//   3. one FEC moves 2 x C kWh through the battery (C in, C out), so a lifetime moves
//      2 x C x N kWh; replacing the battery costs R x C EUR (R = EUR per kWh of capacity).
//   4. cost per kWh of throughput = R x C / (2 x C x N) = R / (2 x N) = (f / F_eol) x R / 2.
// Throughput here is AC energy charged plus AC energy discharged, as the optimizer counts it.
//
// What the figure means: this cell was fast-charged (Severson's protocols charge at 3.6-8C) and
// lasts about 490 cycles; stationary LFP cycled at 0.5C typically lasts 4000-8000 cycles, so the
// data gives an upper bound (0.152 EUR/kWh at 150 EUR/kWh). A site's own cycle-life figure
// goes in through `cyclesToEol` instead.
import type { AgeingPoint } from '../lfp/ageing-data';

/** Replacement cost of a stationary LFP pack, EUR per kWh of capacity: BNEF's 2024 survey puts
 * LFP packs near 100-140 USD/kWh; with installation and disposal 150 EUR/kWh is a round default. */
export const DEFAULT_REPLACEMENT_EUR_PER_KWH = 150;
/** End of life at 80 % of nominal capacity: 20 %-points of fade. */
export const DEFAULT_EOL_FADE_PCT = 20;

/**
 * Average capacity fade per full-equivalent cycle until end of life, %-points: F_eol divided by the
 * first cycle at which the capacity has fallen F_eol below its initial value. The initial value is
 * the highest in the first 5 % of cycles (LFP cells gain a little capacity while they settle).
 * Reading the end of life off the curve includes the knee (Severson's cells fade slowly for ~350
 * cycles, then fast), which a straight-line fit over all cycles would under-weight (0.033 instead
 * of 0.041 %-points per cycle on this cell).
 */
export function fadePerCycle(points: readonly AgeingPoint[], eolFadePct = DEFAULT_EOL_FADE_PCT): number {
  if (points.length < 2) throw new Error('ageing data: need at least two points');
  const early = points.slice(0, Math.max(1, Math.ceil(points.length * 0.05)));
  const initial = Math.max(...early.map((p) => p.capacityPct));
  const eol = points.find((p) => p.capacityPct <= initial - eolFadePct);
  if (eol) return eolFadePct / eol.cycle;
  // Not yet at end of life: the average fade so far.
  const last = points[points.length - 1] as AgeingPoint;
  const fade = initial - last.capacityPct;
  if (!(fade > 0)) throw new Error('ageing data: the capacity does not fade');
  return fade / last.cycle;
}

export interface DegradationInputs {
  /** Fade per full-equivalent cycle, %-points (fadePerCycle of the data). */
  fadePctPerCycle: number;
  eolFadePct?: number;
  replacementEurPerKwh?: number;
}

/** Cycles to end of life, N = F_eol / f. */
export function cyclesToEol(i: DegradationInputs): number {
  if (!(i.fadePctPerCycle > 0)) throw new Error('degradation: fade per cycle must be positive');
  return (i.eolFadePct ?? DEFAULT_EOL_FADE_PCT) / i.fadePctPerCycle;
}

/** EUR per kWh of throughput (charged + discharged): (f / F_eol) x R / 2. */
export function degradationEurPerKwh(i: DegradationInputs): number {
  return (i.replacementEurPerKwh ?? DEFAULT_REPLACEMENT_EUR_PER_KWH) / (2 * cyclesToEol(i));
}
