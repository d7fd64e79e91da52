// Runs the simulator's own classes in process, far faster than real time, for the SoH and anomaly
// benchmarks and tests: a site driven by a daily time-of-use schedule (charge from the grid at
// night, discharge in the evening peak, as a tariff-driven household or small business battery
// does), sampled into the BatteryTelemetry the sunspec-device node would publish.
import type { BatteryTelemetry } from '../../domain/contracts';
import { createSite, type Site } from '../simulator/index';

/** Sub-step for fast runs, ms: stable for the BMS taper and the thermal model (checked against 1 s). */
export const FAST_SUBSTEP_MS = 20_000;
/** The telemetry interval of the fast runs, ms. */
export const SAMPLE_MS = 60_000;

export interface FastSiteOptions {
  seed?: number;
  startTime?: number;
  ageCycles?: number;
  /** Ambient of the battery room, degC (default the site's). */
  ambientC?: number;
}

export function fastSite(o: FastSiteOptions = {}): Site {
  const site = createSite('household', o.seed ?? 1, o.startTime ?? Date.UTC(2014, 0, 1), o.ageCycles ?? 0);
  site.maxSubstepMs = FAST_SUBSTEP_MS;
  if (o.ambientC !== undefined) site.pack.ambientC = o.ambientC;
  return site;
}

export interface TouSchedule {
  /** UTC hours [from, to) of charging and discharging, and the powers, W (charge as a positive number). */
  chargeHours: [number, number];
  chargeW: number;
  dischargeHours: [number, number];
  dischargeW: number;
  /** No discharge below this BMS SoC, %, nor while the lowest cell is below stopCellV under load
   * (an aged pack's coulomb-counted SoC runs ahead of its true charge: the EMS watches the weakest
   * cell as well, before the BMS's own trip at 2.5 V). */
  reservePct: number;
  stopCellV: number;
}

export const DEFAULT_TOU: TouSchedule = { chargeHours: [1, 6], chargeW: 3000, dischargeHours: [17, 23], dischargeW: 2500, reservePct: 5, stopCellV: 2.95 };

/** The schedule as an EMS runs it: the PCS setpoint now, W (+ = discharge); the PCS and BMS clamp it further. */
export class TouController {
  /** Set when the weakest cell reached stopCellV: no more discharge until the next evening. */
  private stopped = false;

  constructor(readonly schedule: TouSchedule = DEFAULT_TOU) {}

  setpoint(site: Site): number {
    const s = this.schedule;
    const h = new Date(site.simTimeMs).getUTCHours();
    const evening = h >= s.dischargeHours[0] && h < s.dischargeHours[1];
    if (!evening) this.stopped = false;
    if (h >= s.chargeHours[0] && h < s.chargeHours[1]) return -s.chargeW;
    if (!evening || this.stopped || site.pack.soc <= s.reservePct) return 0;
    const vMin = Math.min(...site.pack.cellStates().map((c) => c.voltage));
    if (vMin > s.stopCellV) return s.dischargeW;
    // Latched for the rest of the evening: the voltage recovers at rest and must not restart it.
    this.stopped = true;
    return 0;
  }
}

/** What the sunspec-device node decodes from models 802 / 805 for this site now. */
export function batteryTelemetryOf(site: Site): BatteryTelemetry {
  const pack = site.pack;
  const cells = pack.cellStates();
  const volts = cells.map((c) => c.voltage);
  const temps = cells.map((c) => c.temp);
  const vAvg = volts.reduce((a, b) => a + b, 0) / volts.length;
  return {
    ts: site.simTimeMs,
    soc: Math.min(100, Math.max(0, pack.soc)),
    soh: Math.min(100, Math.max(0, pack.soh)),
    voltage: pack.voltage,
    current: pack.current,
    power: pack.power,
    capacityWh: pack.ratedWh,
    energyAvailableWh: (pack.ratedWh * pack.soc) / 100,
    cellVmax: Math.max(...volts),
    cellVmin: Math.min(...volts),
    cellVavg: vAvg,
    cellVoltages: volts,
    tempMax: Math.max(...temps),
    tempMin: Math.min(...temps),
    cellTemps: temps,
    chargeCurrentMax: pack.chargeLimitA,
    dischargeCurrentMax: pack.dischargeLimitA,
    chargePowerMax: null,
    dischargePowerMax: null,
    cycles: Math.floor(pack.cycles),
    state: pack.contactorClosed ? 'CONNECTED' : 'DISCONNECTED',
    alarms: pack.alarmSymbols(),
  };
}

/**
 * Advance the site by `days` under the schedule, calling onSample with the battery telemetry every
 * SAMPLE_MS (the setpoint is rewritten at each sample, as an EMS refreshes it).
 */
export function runDays(site: Site, days: number, onSample: (t: BatteryTelemetry, site: Site) => void, controller = new TouController()): void {
  const n = Math.round((days * 86_400_000) / SAMPLE_MS);
  for (let k = 0; k < n; k++) {
    site.pcs.write({ wSetEna: true, wSet: controller.setpoint(site), wRmp: 0, wSetRvrtTms: 0 });
    site.step(SAMPLE_MS);
    onSample(batteryTelemetryOf(site), site);
  }
}
