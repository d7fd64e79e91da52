// Anomaly detection on the simulator: healthy packs (different cells, ages and rooms) give the
// training cycles; the slow faults of the simulator (self-discharge, fan-failure, loose-connection)
// give the cycles to catch. Everything runs in process, fast (runtime/ml/sim-run.ts).
import { N_ANOMALY_FEATURES, cycleFeatures } from '../../domain/anomaly/cycle-features';
import type { BatteryTelemetry } from '../../domain/contracts';
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { loadOcvPoints } from '../../io/data/real-data';
import type { FaultType } from '../simulator/faults';
import { anomalyScores, trainIsolationForest, type IsolationForest } from './isolation-forest';
import { fastSite, runDays, TouController } from './sim-run';

export interface Scenario {
  seed: number;
  days: number;
  ageCycles: number;
  ambientC: number;
  /** A slow fault injected at 00:00 of day `atDay`, with the simulator's default rate unless given. */
  fault?: { type: FaultType; atDay: number; cell?: number; value?: number };
}

export interface CycleRow {
  day: number;
  features: Float32Array;
  /** The fault was active during this cycle. */
  faulty: boolean;
}

/** Days at the start of every run left out: the pack starts at 50 % SoC, not in its daily routine. */
export const WARMUP_DAYS = 2;

let ocv: OcvCurve | undefined;

export function simulateCycles(s: Scenario): CycleRow[] {
  ocv ??= new OcvCurve(loadOcvPoints());
  const site = fastSite({ seed: s.seed, ageCycles: s.ageCycles, ambientC: s.ambientC });
  const controller = new TouController();
  const rows: CycleRow[] = [];
  for (let d = 0; d < s.days; d++) {
    if (s.fault && d === s.fault.atDay) site.injectFault({ type: s.fault.type, cell: s.fault.cell, value: s.fault.value });
    const samples: BatteryTelemetry[] = [];
    runDays(site, 1, (t) => samples.push(t), controller);
    if (d < WARMUP_DAYS) continue;
    const f = cycleFeatures(samples, ocv, () => s.ambientC);
    if (f) rows.push({ day: d, features: f, faulty: s.fault !== undefined && d >= s.fault.atDay });
  }
  return rows;
}

export function stack(rows: readonly CycleRow[]): Float32Array {
  const X = new Float32Array(rows.length * N_ANOMALY_FEATURES);
  rows.forEach((r, i) => X.set(r.features, i * N_ANOMALY_FEATURES));
  return X;
}

/** Healthy training scenarios: four cell builds, new and aged packs, a cool and a warm room. */
export const TRAINING_SCENARIOS: Scenario[] = [1, 2, 3, 4].flatMap((seed) =>
  [0, 150, 300, 450].map((ageCycles, k) => ({ seed, days: 12, ageCycles, ambientC: 16 + ((seed + k) % 4) * 3 })),
);

export interface AnomalyModel {
  forest: IsolationForest;
  /** Alarm when a cycle's score exceeds this. */
  threshold: number;
  trainingRows: number;
}

/** Margin of the alarm threshold above the highest healthy training score. */
export const THRESHOLD_MARGIN = 0.03;
/** Split range widening of the forest (see IsolationForestParams.rangeMargin). */
export const RANGE_MARGIN = 1;

export function trainAnomalyModel(scenarios: readonly Scenario[] = TRAINING_SCENARIOS, seed = 1): AnomalyModel {
  const rows = scenarios.flatMap((s) => simulateCycles(s));
  const X = stack(rows);
  const forest = trainIsolationForest(X, N_ANOMALY_FEATURES, { trees: 100, sampleSize: 128, seed, rangeMargin: RANGE_MARGIN });
  const scores = anomalyScores(forest, X);
  const threshold = Math.max(...scores) + THRESHOLD_MARGIN;
  return { forest, threshold, trainingRows: rows.length };
}
