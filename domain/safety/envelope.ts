// The safety envelope: how much the battery may charge and discharge right now, and why not more.
// Every limit is computed on its own and the smallest wins, so each restriction can name its cause.
// Hard violations (outside the cell's absolute voltage or temperature window, a device fault,
// telemetry too old, the e-stop) put the site into SAFE_MODE or ESTOP: 0 W both ways. A
// measurement the BMS does not report (no cell temperatures) is never assumed: the limits fall
// to a share of the BMS's own current limits (`unmeasuredDerating`) and a warning says why.
import { STALE_PERIODS } from '../freshness';
import type { Alarm, BatteryTelemetry, Envelope, Mode, PcsTelemetry, Restriction } from '../contracts';
import { linearTaper, type LfpProfile } from '../lfp/limits';

/** The LFP limits plus the nameplate energy where the BMS does not report it. */
export type SafetyProfile = LfpProfile & { capacityWh?: number };

export interface SafetyConfig {
  /** The control cycle, ms. */
  cycleMs: number;
  /** Telemetry older than this many cycles puts the site in SAFE_MODE. */
  staleCycles: number;
  /** A hard limit, once tripped, releases only this far back inside (V, degC): no chattering at the edge. */
  hysteresisV: number;
  hysteresisC: number;
  /**
   * Share (0..1) of the BMS's own current limits (or, without them, of the nominal limits) that
   * is allowed while the BMS reports no cell temperature: the temperature windows and derating
   * cannot be checked, so the battery is run gently and the operator is told.
   */
  unmeasuredDerating: number;
}

export const DEFAULT_SAFETY_CONFIG: SafetyConfig = { cycleMs: 1000, staleCycles: STALE_PERIODS, hysteresisV: 0.05, hysteresisC: 2, unmeasuredDerating: 0.5 };

export interface SafetyState {
  estop: { latched: boolean; by: string | null; since: number | null };
  /** Hard-limit causes tripped and not yet released (see SafetyConfig hysteresis). */
  tripped: string[];
  /** Why the latch's durable record may be behind (a failed write, see latch.ts); nothing is allowed then. */
  unpersisted?: string | null;
}

export const INITIAL_SAFETY_STATE: SafetyState = { estop: { latched: false, by: null, since: null }, tripped: [] };

export interface SiteTelemetry {
  siteId: string;
  battery?: BatteryTelemetry;
  pcs?: PcsTelemetry;
}


export function envelope(
  telemetry: SiteTelemetry,
  profile: SafetyProfile,
  state: SafetyState,
  now: number,
  config: SafetyConfig = DEFAULT_SAFETY_CONFIG,
): { envelope: Envelope; state: SafetyState } {
  const alarms: Alarm[] = [];
  const restrictions: Restriction[] = [];
  const tripped = new Set<string>();
  const alarm = (code: string, severity: Alarm['severity'], message: string): void => {
    alarms.push({ code, severity, message, source: 'safety-envelope', ts: now, active: true, siteId: telemetry.siteId });
  };
  const limit = (direction: Restriction['direction'], cause: string, limitW: number, detail: string): void => {
    restrictions.push({ direction, cause, limitW: Math.max(0, limitW), detail });
  };

  if (state.estop.latched) alarm('ESTOP', 'critical', `emergency stop by ${state.estop.by ?? 'unknown'}`);
  // A latch that a restart could lose guards nothing: stop until its record is written.
  if (state.unpersisted) alarm('LATCH_NOT_SAVED', 'critical', `e-stop latch not saved: ${state.unpersisted}`);

  const bat = telemetry.battery;
  const staleAfter = config.staleCycles * config.cycleMs;
  if (!bat) {
    alarm('TELEMETRY_MISSING', 'critical', 'no battery telemetry');
  } else if (now - bat.ts > staleAfter) {
    alarm('TELEMETRY_STALE', 'critical', `battery telemetry ${now - bat.ts} ms old (limit ${config.staleCycles} cycles = ${staleAfter} ms)`);
  }
  const pcs = telemetry.pcs;
  if (pcs && now - pcs.ts > staleAfter) alarm('TELEMETRY_STALE', 'critical', `PCS telemetry ${now - pcs.ts} ms old`);
  if (pcs) {
    // GRID_DISCONNECT is the inverter's anti-islanding trip (IEEE 1547, VDE-AR-N 4105): it has
    // already stopped exporting onto the dead grid, which is the protection working, not a fault.
    // It stays visible as a warning and leaves the envelope to black start (level 2).
    const faults = pcs.alarms.filter((a) => a !== 'GRID_DISCONNECT');
    if (pcs.state === 'FAULT' || faults.length > 0) alarm('PCS_FAULT', 'critical', `PCS ${pcs.state}${faults.length ? `: ${faults.join(', ')}` : ''}`);
    if (faults.length < pcs.alarms.length) alarm('GRID_DISCONNECTED', 'warning', 'PCS tripped off a lost grid (anti-islanding)');
  }

  if (bat) {
    const p = profile;
    if (bat.state === 'FAULT') alarm('BMS_FAULT', 'critical', 'BMS reports FAULT');
    const bmsAlarms = bat.alarms.filter((a) => a.endsWith('_ALARM') || a.endsWith('_ERROR') || a === 'GROUND_FAULT');
    if (bmsAlarms.length) alarm('BMS_ALARM', 'critical', `BMS alarms: ${bmsAlarms.join(', ')}`);
    const warnings = bat.alarms.filter((a) => a.endsWith('_WARNING'));
    if (warnings.length) alarm('BMS_WARNING', 'warning', `BMS warnings: ${warnings.join(', ')}`);

    // Hard limits with hysteresis: a tripped cause stays tripped until back inside by the margin.
    const was = new Set(state.tripped);
    // An unmeasured value (null) can neither trip nor release a limit: a tripped one stays tripped.
    const hard = (code: string, outside: boolean, inside: boolean, message: string): void => {
      if (outside || (was.has(code) && !inside)) {
        tripped.add(code);
        alarm(code, 'critical', message);
      }
    };
    hard('CELL_OVER_VOLTAGE', bat.cellVmax > p.cellVoltageMaxV, bat.cellVmax <= p.cellVoltageMaxV - config.hysteresisV, `cell ${bat.cellVmax.toFixed(3)} V above ${p.cellVoltageMaxV} V`);
    hard('CELL_UNDER_VOLTAGE', bat.cellVmin < p.cellVoltageMinV, bat.cellVmin >= p.cellVoltageMinV + config.hysteresisV, `cell ${bat.cellVmin.toFixed(3)} V below ${p.cellVoltageMinV} V`);
    const tMax = bat.tempMax;
    const tMin = bat.tempMin;
    hard('OVER_TEMPERATURE', tMax !== null && tMax > p.dischargeTempMaxC, tMax !== null && tMax <= p.dischargeTempMaxC - config.hysteresisC,
      tMax === null ? `was above ${p.dischargeTempMaxC} °C, and the BMS reports no temperature now` : `${tMax} °C above ${p.dischargeTempMaxC} °C`);
    hard('UNDER_TEMPERATURE', tMin !== null && tMin < p.dischargeTempMinC, tMin !== null && tMin >= p.dischargeTempMinC + config.hysteresisC,
      tMin === null ? `was below ${p.dischargeTempMinC} °C, and the BMS reports no temperature now` : `${tMin} °C below ${p.dischargeTempMinC} °C`);

    // The nominal limits: C-rate of the nameplate energy, the BMS's own limits, the PCS rating.
    const capacityWh = profile.capacityWh ?? bat.capacityWh;
    if (capacityWh) {
      limit('charge', 'C_RATE', p.maxChargeC * capacityWh, `${p.maxChargeC} C of ${capacityWh} Wh`);
      limit('discharge', 'C_RATE', p.maxDischargeC * capacityWh, `${p.maxDischargeC} C of ${capacityWh} Wh`);
    } else {
      alarm('CAPACITY_UNKNOWN', 'critical', 'no nameplate energy in profile or telemetry: cannot bound the C-rate');
    }
    if (bat.chargeCurrentMax !== null) limit('charge', 'BMS_CURRENT_LIMIT', bat.chargeCurrentMax * bat.voltage, `BMS ${bat.chargeCurrentMax} A at ${bat.voltage} V`);
    if (bat.dischargeCurrentMax !== null) limit('discharge', 'BMS_CURRENT_LIMIT', bat.dischargeCurrentMax * bat.voltage, `BMS ${bat.dischargeCurrentMax} A at ${bat.voltage} V`);
    if (bat.chargePowerMax !== null) limit('charge', 'BMS_POWER_LIMIT', bat.chargePowerMax, 'BMS charge power rating');
    if (bat.dischargePowerMax !== null) limit('discharge', 'BMS_POWER_LIMIT', bat.dischargePowerMax, 'BMS discharge power rating');
    const pcsCharge = pcs?.maxChargeW ?? pcs?.ratedPowerW ?? null;
    const pcsDischarge = pcs?.maxDischargeW ?? pcs?.ratedPowerW ?? null;
    if (pcsCharge !== null) limit('charge', 'PCS_RATING', pcsCharge, 'PCS charge rating');
    if (pcsDischarge !== null) limit('discharge', 'PCS_RATING', pcsDischarge, 'PCS discharge rating');
    const nominal = (dir: Restriction['direction']): number =>
      Math.min(...restrictions.filter((r) => r.direction === dir).map((r) => r.limitW), Number.POSITIVE_INFINITY);
    const fullCharge = nominal('charge');
    const fullDischarge = nominal('discharge');
    const nominalCount = restrictions.length;

    // Tapers near the voltage limits (LFP's flat curve turns steep at both ends).
    if (bat.cellVmax > p.chargeTaperStartV) {
      limit('charge', 'CELL_VOLTAGE_TAPER', fullCharge * linearTaper(bat.cellVmax, p.chargeTaperStartV, p.chargeTaperEndV), `max cell ${bat.cellVmax.toFixed(3)} V in taper ${p.chargeTaperStartV}-${p.chargeTaperEndV} V`);
    }
    if (bat.cellVmin < p.dischargeTaperStartV) {
      limit('discharge', 'CELL_VOLTAGE_TAPER', fullDischarge * linearTaper(bat.cellVmin, p.dischargeTaperStartV, p.dischargeTaperEndV), `min cell ${bat.cellVmin.toFixed(3)} V in taper ${p.dischargeTaperEndV}-${p.dischargeTaperStartV} V`);
    }
    // Temperature windows: charge is narrower than discharge (no charging below 0 degC: lithium plating).
    if (tMax === null || tMin === null) {
      // Unmeasured is not in range: a share of what the BMS itself allows, and a visible warning.
      const share = Math.min(1, Math.max(0, config.unmeasuredDerating));
      const missing = tMax === null && tMin === null ? 'no cell temperature' : tMax === null ? 'no highest cell temperature' : 'no lowest cell temperature';
      const bmsCharge = bat.chargeCurrentMax === null ? null : bat.chargeCurrentMax * bat.voltage;
      const bmsDischarge = bat.dischargeCurrentMax === null ? null : bat.dischargeCurrentMax * bat.voltage;
      const pct = `${Math.round(share * 100)} %`;
      // With no bound at all the share of it is no bound either: 0 W, as below.
      const of = (w: number): number => (Number.isFinite(w) ? share * w : 0);
      limit('charge', 'TEMPERATURE_UNMEASURED', of(Math.min(bmsCharge ?? fullCharge, fullCharge)),
        `${missing} from the BMS: charge held to ${pct} of ${bmsCharge === null ? 'the nominal limit' : "the BMS's current limit"}`);
      limit('discharge', 'TEMPERATURE_UNMEASURED', of(Math.min(bmsDischarge ?? fullDischarge, fullDischarge)),
        `${missing} from the BMS: discharge held to ${pct} of ${bmsDischarge === null ? 'the nominal limit' : "the BMS's current limit"}`);
      alarm('TEMPERATURE_UNMEASURED', 'warning', `${missing} from the BMS (no SunSpec 805 or its temperature points): limits derated to ${pct}, temperature windows not checked`);
    } else {
      if (tMin < p.chargeTempMinC || tMax > p.chargeTempMaxC) {
        limit('charge', 'CHARGE_TEMPERATURE', 0, `${tMin}-${tMax} °C outside charge window ${p.chargeTempMinC}-${p.chargeTempMaxC} °C`);
      } else if (tMax > p.chargeDerateAboveC) {
        limit('charge', 'CHARGE_TEMPERATURE', fullCharge * linearTaper(tMax, p.chargeDerateAboveC, p.chargeTempMaxC), `${tMax} °C: charge derated above ${p.chargeDerateAboveC} °C`);
      }
      if (tMax > p.dischargeDerateAboveC) {
        limit('discharge', 'DISCHARGE_TEMPERATURE', fullDischarge * linearTaper(tMax, p.dischargeDerateAboveC, p.dischargeTempMaxC), `${tMax} °C: discharge derated above ${p.dischargeDerateAboveC} °C`);
      }
    }
    // SoC window.
    if (bat.soc >= p.socMaxPct) limit('charge', 'SOC_HIGH', 0, `SoC ${bat.soc} % at or above ${p.socMaxPct} %`);
    if (bat.soc <= p.socMinPct) limit('discharge', 'SOC_LOW', 0, `SoC ${bat.soc} % at or below ${p.socMinPct} %`);
    // Imbalance is a warning: the BMS balances, the operator should know.
    const spread = bat.cellVmax - bat.cellVmin;
    if (spread > p.cellSpreadMaxV) alarm('CELL_SPREAD', 'warning', `cell spread ${(spread * 1000).toFixed(0)} mV above ${p.cellSpreadMaxV * 1000} mV`);
    if (restrictions.length > nominalCount) {
      // The unmeasured temperature has its warning already.
      for (const r of restrictions.slice(nominalCount)) if (r.cause !== 'TEMPERATURE_UNMEASURED') alarm(r.cause, 'info', r.detail);
    }
  }

  // Every critical alarm means SAFE_MODE: the envelope raises one only where it cannot vouch for the battery.
  const critical = alarms.some((a) => a.severity === 'critical');
  const mode: Mode = state.estop.latched ? 'ESTOP' : critical ? 'SAFE_MODE' : restrictions.some((r) => !NOMINAL_CAUSES.has(r.cause)) ? 'DERATED' : 'NORMAL';
  const most = (dir: Restriction['direction']): number => {
    if (mode === 'SAFE_MODE' || mode === 'ESTOP') return 0;
    const ls = restrictions.filter((r) => r.direction === dir).map((r) => r.limitW);
    // With no bound at all (no C-rate, BMS or PCS figure) nothing is allowed: unknown is not unlimited.
    return ls.length ? Math.min(...ls) : 0;
  };
  return {
    envelope: { siteId: telemetry.siteId, ts: now, mode, maxChargeW: most('charge'), maxDischargeW: most('discharge'), restrictions, alarms },
    state: { ...state, tripped: [...tripped] },
  };
}

const NOMINAL_CAUSES = new Set(['C_RATE', 'BMS_CURRENT_LIMIT', 'BMS_POWER_LIMIT', 'PCS_RATING']);

/** Latch the emergency stop. Idempotent: the first latch keeps its author and time. */
export function latchEstop(state: SafetyState, by: string, now: number): SafetyState {
  if (state.estop.latched) return state;
  return { ...state, estop: { latched: true, by, since: now } };
}

/** Release the e-stop. The caller must have checked that `by` is authorised to reset. */
export function resetEstop(state: SafetyState): SafetyState {
  return { ...state, estop: { latched: false, by: null, since: null } };
}
