// Battery samples for the cloud's SoH tracker and anomaly features, rebuilt from the time-series
// store: the same BatteryTelemetry the edge's soh-estimate and anomaly-score nodes see, at the 60 s
// sampling the anomaly model was trained on (runtime/ml/sim-run.ts SAMPLE_MS; the anomaly-score
// node's sampleS), so the domain code of domain/{soh,anomaly} runs unchanged on them.
//
// What is approximated, against the edge's samples (measured in test/ml-cloud/cloud-battery.test.ts):
// - One sample per minute is the MEAN of the minute's records ([start, start + 60 s), aligned to
//   the epoch, the store's buckets), stamped at the minute's start. The edge keeps POINT samples
//   (the first record at least sampleS after the previous one). Means smooth the current steps
//   of a setpoint change and the voltage relaxation after it: a minute holding a step shows an
//   intermediate current and voltage. For coulomb counting this is exact rather than approximate
//   (the mean current of a minute times 60 s is its charge; the SoH tracker integrates the
//   current of a sample until the next one, so the mean of [s, s + 60 s) stamped at s counts
//   exactly that minute), while the edge's point samples hold one current for a whole minute.
// - cellMaxV, cellMinV, tempMaxC are means of the per-record extremes, not the extreme of the
//   minute (a point sample is not an extreme of its minute either).
// - The mean cell voltage is the BMS's (cellAvgV) when stored; records stored before that field
//   existed give the pack voltage over cellsInSeries (equal for the simulator, whose pack voltage
//   is the sum of its cells; a real pack adds busbar and contactor drops under load).
// - Per-cell voltages and temperatures, the BMS's current limits, state and alarm symbols are not
//   stored: cellVoltages and cellTemps are empty, the limits null, state '' and alarms [] (no
//   domain function used here reads them).
// - `cycles` is the minute's highest BMS cycle count (floored: the count is a whole number).
// - A minute without records gives no sample (the tracker then spans the gap with the last current,
//   as it does when the edge misses samples).
// The consequence, measured on the simulator (same packs, same models, cloud minute means against
// the edge node's 60 s point samples), 6 days each of a healthy pack at 400 cycles and of one at 200
// cycles whose joint loosens from day 1: with records 1 s apart (the edge's rate) cycle scores within 0.015 of the
// edge's (threshold 0.478; every verdict the same), features within 0.031 mOhm (loadDeviationMohm,
// the one fed by the instants around a current step), 0.012 mV (restSpreadMv), 0.008 K per
// 1000 A^2, 0.002 mOhm and 0.001 mV/h; SoH equal within 0.01 points, with the same number of
// capacity measurements. With records 10 s apart (the test): scores within 0.022.
import type { BatteryTelemetry } from '../../domain/contracts';
import { rangeBuckets, type TimeseriesStore } from '../../io/timeseries/store';

/** The sampling of the rebuilt samples, ms: the anomaly model's training sampling (sim-run.ts SAMPLE_MS). */
export const BATTERY_SAMPLE_MS = 60_000;

const FIELDS = [
  'socPct', 'sohPct', 'batteryVoltageV', 'batteryCurrentA', 'batteryPowerW', 'energyAvailableWh',
  'cellMaxV', 'cellMinV', 'cellAvgV', 'tempMaxC', 'tempMinC', 'cycles', 'capacityWh',
] as const;

/**
 * One sample per minute of [from, to) that holds battery telemetry (a minute without the pack's
 * current, voltages, SoC or temperature is left out), in time order.
 */
export async function batterySamples(store: TimeseriesStore, siteId: string, from: number, to: number, cellsInSeries: number): Promise<BatteryTelemetry[]> {
  const out: BatteryTelemetry[] = [];
  for (const b of await rangeBuckets(store, { siteId, from, to, everyMs: BATTERY_SAMPLE_MS, fields: [...FIELDS] })) {
    const mean = (f: (typeof FIELDS)[number]): number | null => {
      const v = b.fields[f]?.mean;
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    };
    const soc = mean('socPct');
    const voltage = mean('batteryVoltageV');
    const current = mean('batteryCurrentA');
    const cellVmax = mean('cellMaxV');
    const cellVmin = mean('cellMinV');
    const tempMax = mean('tempMaxC');
    const tempMin = mean('tempMinC');
    if (b.count === 0 || soc === null || voltage === null || current === null || cellVmax === null || cellVmin === null || tempMax === null || tempMin === null) continue;
    const cycles = b.fields.cycles?.max;
    out.push({
      ts: b.start,
      soc,
      soh: mean('sohPct'),
      voltage,
      current,
      power: mean('batteryPowerW') ?? voltage * current,
      capacityWh: mean('capacityWh'),
      energyAvailableWh: mean('energyAvailableWh'),
      cellVmax,
      cellVmin,
      cellVavg: mean('cellAvgV') ?? voltage / cellsInSeries,
      cellVoltages: [],
      tempMax,
      tempMin,
      cellTemps: [],
      chargeCurrentMax: null,
      dischargeCurrentMax: null,
      chargePowerMax: null,
      dischargePowerMax: null,
      cycles: typeof cycles === 'number' && Number.isFinite(cycles) && cycles >= 0 ? Math.floor(cycles) : null,
      state: '',
      alarms: [],
    });
  }
  return out;
}
