// A site's Telemetry as the peak-shaving node takes it in its tests (and those of the strategy
// settings intake): the battery at `soc` with its power limits, or the grid meter at `power`.
import type { Telemetry } from '../../domain/contracts';

export const battery = (soc = 50): Telemetry => {
  const ts = Date.now();
  return {
    siteId: 'site-1', ts,
    battery: {
      ts, soc, soh: 99, voltage: 52, current: 0, power: 0, capacityWh: 10_000, energyAvailableWh: 5000,
      cellVmax: 3.3, cellVmin: 3.29, cellVavg: 3.295, cellVoltages: [], tempMax: 25, tempMin: 24, cellTemps: [],
      chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: 5000, dischargePowerMax: 5000, cycles: 1,
      state: 'CONNECTED', alarms: [],
    },
  };
};
export const meter = (power: number): Telemetry => {
  const ts = Date.now();
  return { siteId: 'site-1', ts, meter: { ts, power, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] } };
};
