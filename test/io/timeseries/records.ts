// Telemetry records for the store tests, built from the real household profile (data/, 15 min
// load and PV): the battery covers the evening load from what PV charged at noon, the grid carries
// the rest, so the numbers are the irregular floats a real site sends, not round test values.
import type { Alarm, TelemetryRecord } from '../../../domain/contracts';
import { loadHouseholdProfile, type HouseholdProfile } from '../../../io/data/real-data';

let profile: HouseholdProfile | null = null;

export interface RecordOptions {
  siteId: string;
  /** The first seq; the n-th record has firstSeq + n. */
  firstSeq?: number;
  count: number;
  /** Start in the profile (row index) and ms between records. */
  startRow?: number;
  stepMs?: number;
  /** ts of the first record; default the profile's own time. */
  startTs?: number;
}

export function householdRecords(o: RecordOptions): TelemetryRecord[] {
  profile ??= loadHouseholdProfile();
  const p = profile;
  const first = o.firstSeq ?? 1;
  const row0 = o.startRow ?? 0;
  const stepMs = o.stepMs ?? p.stepMs;
  const t0 = o.startTs ?? p.time[row0]!;
  let soc = 50;
  const out: TelemetryRecord[] = [];
  for (let n = 0; n < o.count; n++) {
    const row = (row0 + n) % p.time.length;
    const ts = t0 + n * stepMs;
    const loadW = p.loadKw[row]! * 1000;
    const pvW = p.pvKw[row]! * 1000;
    // Self-consumption: surplus PV charges (negative), deficit discharges, within 3 kW and the SoC window.
    let batteryW = Math.max(-3000, Math.min(3000, loadW - pvW));
    if ((batteryW > 0 && soc <= 10) || (batteryW < 0 && soc >= 95)) batteryW = 0;
    soc = Math.max(0, Math.min(100, soc - (batteryW * stepMs) / 3_600_000 / 100));
    const gridW = loadW - pvW - batteryW;
    const cellMin = 3.2 + soc / 1000;
    const alarms: Alarm[] = [];
    if (n % 17 === 5) alarms.push({ code: 'CELL_SPREAD_HIGH', severity: 'warning', message: 'spread above 100 mV', source: 'edge-safety', ts, active: true });
    if (n % 17 === 9) alarms.push({ code: 'CELL_SPREAD_HIGH', severity: 'warning', message: 'spread back to normal', source: 'edge-safety', ts, active: false });
    out.push({
      siteId: o.siteId,
      seq: first + n,
      ts,
      telemetry: {
        siteId: o.siteId, ts,
        battery: {
          ts, soc, soh: 98.7, voltage: 51.2 + soc / 50, current: batteryW / 52, power: batteryW, capacityWh: 10_240, energyAvailableWh: 102.4 * soc,
          cellVmax: cellMin + 0.004 + (n % 7) / 1000, cellVmin: cellMin, cellVavg: cellMin + 0.002, cellVoltages: [], tempMax: 24.5 + (n % 5) / 10,
          tempMin: 22.1, cellTemps: [], chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: 5000, dischargePowerMax: 5000, cycles: 312,
          state: 'CONNECTED', alarms: n % 11 === 0 ? ['OVER_TEMP_WARNING'] : [],
        },
        pcs: {
          ts, power: batteryW * 0.97, reactivePower: 0, frequency: 50.01, voltage: 230.4, state: 'RUNNING', gridConnected: true, setpointEnabled: true,
          setpoint: batteryW, revertTimeS: 10, revertRemainingS: 9, ratedPowerW: 5000, maxChargeW: 5000, maxDischargeW: 5000,
          energyInjectedWh: 1000 + n, energyAbsorbedWh: 2000 + n, alarms: [],
        },
        meter: { ts, power: gridW, frequency: 49.99 + (n % 3) / 100, voltage: 231, energyImportWh: 5_000_000 + n * 100, energyExportWh: 1_000_000, alarms: [] },
      },
      decision: { setpointW: batteryW, requestedW: batteryW, level: 4, source: 'self-consumption', requestId: null, mode: 'NORMAL', reason: 'follow load' },
      envelope: { mode: n % 13 === 0 ? 'DERATED' : 'NORMAL', maxChargeW: 5000, maxDischargeW: 5000 - (n % 13 === 0 ? 2500 : 0) },
      ...(alarms.length ? { alarms } : {}),
    });
  }
  return out;
}
