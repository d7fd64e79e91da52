// SoH estimation against the simulator's truth: a pack ages in process under a daily schedule, the
// SohTracker sees only its battery telemetry, and each day the estimate is compared with the pack's
// true capacity (mean cell capacity / rated, the quantity coulomb counting measures).
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { SohTracker, type AgeingPrior } from '../../domain/soh/soh-tracker';
import { loadOcvPoints } from '../../io/data/real-data';
import { fastSite, runDays, TouController } from './sim-run';

export interface SohEvalOptions {
  days: number;
  ageCycles: number;
  seed?: number;
  prior: AgeingPrior;
  /**
   * The estimator is told the pack is new and the BMS reports no cycle count (a second-hand or
   * re-commissioned pack): the prior starts wrong and only the measurements can correct it.
   */
  unknownAge?: boolean;
}

export interface SohEvalResult {
  days: number;
  cyclesStart: number;
  cyclesEnd: number;
  trueSohStart: number;
  trueSohEnd: number;
  estimateEnd: number;
  /** Daily |estimate - truth|, SoH points: mean and max after the first week (when a first measurement exists). */
  meanAbsErrPct: number;
  maxAbsErrPct: number;
  /** The same for the ageing prior alone, for comparison. */
  priorMeanAbsErrPct: number;
  priorMaxAbsErrPct: number;
  measurements: number;
  /** The weakest cell's SoH at the end (what SunSpec 802 SoH reports), %. */
  weakestCellSohEnd: number;
}

export function evaluateSoh(o: SohEvalOptions): SohEvalResult {
  const site = fastSite({ seed: o.seed ?? 1, ageCycles: o.ageCycles });
  const ocv = new OcvCurve(loadOcvPoints());
  const cfg = site.config.pack;
  const tracker = new SohTracker({ ratedAh: cfg.cell.capacityAh, cellsInSeries: cfg.cellsInSeries, initialCycles: o.unknownAge ? 0 : o.ageCycles }, ocv, o.prior);
  const cyclesStart = site.pack.cycles;
  const trueSohStart = site.pack.capacitySohPct;
  let sum = 0;
  let max = 0;
  let pSum = 0;
  let pMax = 0;
  let n = 0;
  const controller = new TouController();
  for (let d = 0; d < o.days; d++) {
    runDays(site, 1, (t) => tracker.push(o.unknownAge ? { ...t, cycles: null } : t), controller);
    if (d < 7) continue;
    const e = tracker.estimate();
    const truth = site.pack.capacitySohPct;
    const err = Math.abs(e.sohPct - truth);
    const pErr = Math.abs(e.priorPct - truth);
    sum += err;
    pSum += pErr;
    max = Math.max(max, err);
    pMax = Math.max(pMax, pErr);
    n++;
  }
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    days: o.days,
    cyclesStart: r(cyclesStart),
    cyclesEnd: r(site.pack.cycles),
    trueSohStart: r(trueSohStart),
    trueSohEnd: r(site.pack.capacitySohPct),
    estimateEnd: r(tracker.estimate().sohPct),
    meanAbsErrPct: r(sum / Math.max(n, 1)),
    maxAbsErrPct: r(max),
    priorMeanAbsErrPct: r(pSum / Math.max(n, 1)),
    priorMaxAbsErrPct: r(pMax),
    measurements: tracker.estimate().measurements,
    weakestCellSohEnd: r(site.pack.soh),
  };
}
