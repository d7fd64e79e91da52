// A whole site's telemetry record (battery, PCS, meter, envelope) for the monthly report's tests
// and bench: the battery at `batteryW` (+ = discharge, the PCS delivering the same), the meter at `gridW`.
import type { Mode, TelemetryRecord } from '../../../domain/contracts';

export function siteRecord(siteId: string, seq: number, ts: number, batteryW: number, gridW: number, mode: Mode = 'NORMAL'): TelemetryRecord {
  return {
    siteId, seq, ts,
    telemetry: {
      siteId, ts,
      battery: {
        ts, soc: 50, soh: 97.5, voltage: 51.2, current: batteryW / 51.2, power: batteryW, capacityWh: 10_000, energyAvailableWh: 5000,
        cellVmax: 3.31, cellVmin: 3.29, cellVavg: 3.3, cellVoltages: [], tempMax: 27, tempMin: 24, cellTemps: [],
        chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: 5000, dischargePowerMax: 5000, cycles: 120, state: 'CONNECTED', alarms: [],
      },
      pcs: {
        ts, power: batteryW, reactivePower: 0, frequency: 50, voltage: 230, state: 'RUNNING', gridConnected: true, setpointEnabled: true,
        setpoint: batteryW, revertTimeS: 5, revertRemainingS: 4, ratedPowerW: 5000, maxChargeW: 5000, maxDischargeW: 5000,
        energyInjectedWh: null, energyAbsorbedWh: null, alarms: [],
      },
      meter: { ts, power: gridW, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] },
    },
    envelope: { mode, maxChargeW: 5000, maxDischargeW: 5000 },
  };
}
