// What the edge flow sends telemetry-out, built fresh (ts = now) for tests: a battery part and an
// arbiter decision for one site.
import type { Decision, Telemetry } from '../../../domain/contracts';

export function batteryTelemetry(siteId: string, soc: number): Telemetry {
  const ts = Date.now();
  return {
    siteId, ts,
    battery: {
      ts, soc, soh: 98, voltage: 52.1, current: 10, power: 521, capacityWh: 10_000, energyAvailableWh: 5000,
      cellVmax: 3.31, cellVmin: 3.29, cellVavg: 3.3, cellVoltages: Array.from({ length: 16 }, () => 3.3), tempMax: 26, tempMin: 24,
      cellTemps: [25, 25], chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: null, dischargePowerMax: null,
      cycles: 12, state: 'CONNECTED', alarms: [],
    },
  };
}

export function arbiterDecision(siteId: string, setpointW: number): Decision {
  return { siteId, ts: Date.now(), setpointW, requestedW: setpointW, level: 5, source: 'arbitrage', requestId: null, mode: 'NORMAL', clamps: [], ignored: [], reason: 'plan' };
}

/** A grid meter part at `ts` (ms), W positive = import. */
export function meterTelemetry(siteId: string, powerW: number, ts = Date.now()): Telemetry {
  return { siteId, ts, meter: { ts, power: powerW, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] } };
}
