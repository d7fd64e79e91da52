// A site's Telemetry as the arbitrage node takes it in its tests: a 10 kWh battery at `soc`, and
// the grid meter's power when the test gives one.
import type { Telemetry } from '../../../domain/contracts';

export function siteTelemetry(soc: number, meterW?: number): Telemetry {
  const ts = Date.now();
  return {
    siteId: 'site-1', ts,
    battery: {
      ts, soc, soh: 99, voltage: 52, current: 0, power: 0, capacityWh: 10_000, energyAvailableWh: null,
      cellVmax: 3.3, cellVmin: 3.29, cellVavg: null, cellVoltages: [], tempMax: 25, tempMin: 24, cellTemps: [],
      chargeCurrentMax: null, dischargeCurrentMax: null, chargePowerMax: null, dischargePowerMax: null, cycles: 1,
      state: 'CONNECTED', alarms: [],
    },
    ...(meterW === undefined ? {} : { meter: { ts, power: meterW, voltage: null, frequency: null, energyImportWh: null, energyExportWh: null, alarms: [] } }),
  };
}
