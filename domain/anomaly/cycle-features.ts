// Per-cycle anomaly features from BMS telemetry. A "cycle" is one day of operation (the sites here
// cycle once a day); each feature targets one slow fault while staying steady on a healthy pack:
//   restSpreadMv       largest cell spread below the mean at the end of a rest, mV: a cell that
//                      self-discharges drifts low and shows at the steep ends of the LFP curve.
//   restDriftMvPerH    how fast the lowest cell falls away from the mean during a long rest, mV/h,
//                      measured after the first hour (polarisation relaxed): self-discharge at rest.
//   loadDeviationMohm  the worst cell's extra drop under load against the mean cell, per ampere:
//                      a loose joint adds its resistance to one cell tap (voltage against the pack).
//   resistanceMohm     mean cell's drop below the OCV at the BMS's SoC, per ampere, on the curve's
//                      plateau (20..90 % SoC, where the OCV barely depends on SoC): voltage vs OCV.
//   thermalKPerKA2     mean rise of the hottest cell over ambient per mean squared current (K per
//                      1000 A^2): a failing fan lets the same current heat the pack more.
import type { BatteryTelemetry } from '../contracts';
import type { OcvCurve } from '../lfp/ocv-curve';
import { FEATURE_NAMES } from './feature-names';

export const N_ANOMALY_FEATURES = FEATURE_NAMES.length;

export interface CycleFeatureOptions {
  /** |I| below this is rest, A. */
  restA: number;
  /** |I| above this counts as load for the resistance features, A. */
  loadA: number;
  /** Rests shorter than this are not used, ms. */
  minRestMs: number;
}

export const DEFAULT_CYCLE_FEATURE_OPTIONS: CycleFeatureOptions = { restA: 0.5, loadA: 10, minRestMs: 2 * 3_600_000 };

/** Mean of the cells or, when the BMS sends only the pack, voltage / cells. */
function meanCell(t: BatteryTelemetry): number {
  if (t.cellVavg !== null) return t.cellVavg;
  return t.cellVoltages.length ? t.cellVoltages.reduce((a, b) => a + b, 0) / t.cellVoltages.length : t.cellVmin;
}

/**
 * The features of one cycle's samples (time order). `ambientC(ts)` is the battery room's
 * temperature (a sensor or the site's setting). Returns null when the cycle had no load at all.
 */
export function cycleFeatures(samples: readonly BatteryTelemetry[], ocv: OcvCurve, ambientC: (ts: number) => number, o: CycleFeatureOptions = DEFAULT_CYCLE_FEATURE_OPTIONS): Float32Array | null {
  let restSpread = 0;
  let restDrift = 0;
  let devSum = 0;
  let devN = 0;
  let rSum = 0;
  let rN = 0;
  let riseSum = 0;
  let riseN = 0;
  let i2Sum = 0;
  let restStart = -1;
  const endRest = (endIdx: number): void => {
    if (restStart < 0) return;
    const startIdx = restStart;
    const a = samples[startIdx]!;
    const b = samples[endIdx]!;
    restStart = -1;
    if (b.ts - a.ts < o.minRestMs) return;
    restSpread = Math.max(restSpread, 1000 * (meanCell(b) - b.cellVmin));
    // From one hour in, when the RC polarisation has relaxed, to the end of the rest.
    let k = startIdx;
    while (k < endIdx && samples[k]!.ts < a.ts + 3_600_000) k++;
    const m = samples[Math.min(k, endIdx)]!;
    const hours = (b.ts - m.ts) / 3_600_000;
    if (hours >= 0.5) {
      const drop = meanCell(b) - b.cellVmin - (meanCell(m) - m.cellVmin);
      restDrift = Math.max(restDrift, (1000 * drop) / hours);
    }
  };
  samples.forEach((t, i) => {
    const absI = Math.abs(t.current);
    const vMean = meanCell(t);
    if (absI < o.restA) {
      if (restStart < 0) restStart = i;
    } else endRest(i - 1);
    if (absI >= o.loadA) {
      // Discharging pulls the worst cell below the mean, charging pushes it above.
      const dev = t.current > 0 ? vMean - t.cellVmin : t.cellVmax - vMean;
      devSum += (1000 * dev) / absI;
      devN++;
      if (t.soc >= 20 && t.soc <= 90) {
        rSum += (1000 * (ocv.ocv(t.soc / 100) - vMean)) / t.current;
        rN++;
      }
    }
    // A BMS without temperatures adds no rise, and no sample to average it over.
    if (t.tempMax !== null) {
      riseSum += t.tempMax - ambientC(t.ts);
      riseN++;
    }
    i2Sum += t.current * t.current;
  });
  if (restStart >= 0) endRest(samples.length - 1);
  if (devN === 0 || i2Sum === 0) return null;
  const n = samples.length;
  return Float32Array.from([restSpread, restDrift, devSum / devN, rN ? rSum / rN : 0, riseN ? (1000 * (riseSum / riseN)) / (i2Sum / n) : 0]);
}
