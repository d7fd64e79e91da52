// A series string of LFP cells with a BMS. Each cell is a first-order Thevenin equivalent circuit
// (open-circuit voltage from the measured curve, series resistance R0, one R1||C1 pair for the
// diffusion polarisation), coulomb-counted, with its own lumped thermal mass:
//   m cp dT/dt = I^2 R0 + V1^2 / R1 - hA (T - Tamb)
// Cells differ by a seeded manufacturing spread of capacity, resistance, initial SoC and cooling,
// so the pack shows the cell imbalance a real BMS sees. The BMS sets the SunSpec 802 Evt1 flags,
// the current limits AChaMax / ADisChaMax per the LfpProfile, and opens its contactor on an alarm.
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { chargeCurrentFactor, dischargeCurrentFactor, type LfpProfile } from '../../domain/lfp/limits';
import { sunspecModel } from '../../domain/sunspec/model';
import { Prng } from './prng';
import type { AgeingCurve } from './ageing';

export interface CellSpec {
  /** Nominal capacity, Ah. */
  capacityAh: number;
  /** Ohmic resistance at 25 degC, ohm. */
  r0Ohm: number;
  /** Polarisation resistance, ohm, and the time constant of its RC pair, s. */
  r1Ohm: number;
  tau1S: number;
  /** Lumped thermal mass: cell mass in kg and specific heat in J/(kg K). */
  massKg: number;
  cpJPerKgK: number;
  /** Heat transfer to ambient, W/K (h times A, including the enclosure). */
  coolingWPerK: number;
}

export interface CellSpread {
  /** Relative standard deviations of the manufacturing spread. */
  capacity: number;
  resistance: number;
  cooling: number;
  /** Absolute standard deviation of the initial SoC, 0..1. */
  soc: number;
}

export interface PackConfig {
  cellsInSeries: number;
  /** Cells per module (SunSpec 805 instance); cellsInSeries must be a multiple of it. */
  cellsPerModule: number;
  cell: CellSpec;
  spread: CellSpread;
  initialSocPct: number;
  ambientC: number;
  profile: LfpProfile;
  seed: number;
  /** After an alarm clears, the contactor closes again on its own after this many seconds. */
  autoReconnectS: number;
  /** Capacity fade and resistance growth per equivalent full cycle (none when absent). */
  ageing?: AgeingCurve;
  /** Equivalent full cycles the pack has already done when the simulation starts (default 0). */
  initialCycles?: number;
}

export interface CellState {
  /** Terminal voltage as the BMS measures it, V. */
  voltage: number;
  /** True state of charge from the cell's own coulomb count, 0..1 (may leave 0..1 when abused). */
  soc: number;
  /** Temperature as the BMS measures it, degC. */
  temp: number;
  capacityAh: number;
  /** Ohmic resistance R0 at the present temperature, ohm. */
  resistance: number;
}

/** The 802 Evt1 bit of each symbol, read from the SunSpec model itself. */
const EVT1_BITS: ReadonlyMap<string, number> = new Map(
  (sunspecModel(802)?.group.points.find((p) => p.name === 'Evt1')?.symbols ?? []).map((s) => [s.name, s.value]),
);

/** The cells' voltages and temperatures as the BMS measures them, with their extremes (V, degC). */
export interface CellReadings {
  voltages: number[];
  temps: number[];
  vMax: number;
  vMin: number;
  tMax: number;
  tMin: number;
}

export function cellReadings(cells: readonly CellState[]): CellReadings {
  const voltages = cells.map((c) => c.voltage);
  const temps = cells.map((c) => c.temp);
  return { voltages, temps, vMax: Math.max(...voltages), vMin: Math.min(...voltages), tMax: Math.max(...temps), tMin: Math.min(...temps) };
}

export function evt1Bit(symbol: string): number {
  const bit = EVT1_BITS.get(symbol);
  if (bit === undefined) throw new RangeError(`SunSpec 802 Evt1 has no symbol ${symbol}`);
  return bit;
}

/** Evt1 symbols that open the contactor. */
const TRIP_SYMBOLS = ['OVER_TEMP_ALARM', 'UNDER_TEMP_ALARM', 'OVER_VOLT_ALARM', 'UNDER_VOLT_ALARM', 'OVER_CHARGE_CURRENT_ALARM', 'OVER_DISCHARGE_CURRENT_ALARM'] as const;

/** Beyond the measured curve (over-charge, over-discharge) the OCV moves steeply: 50 mV per 0.1 % SoC. */
const OCV_EXTRAPOLATION_V = 50;
/** R0 grows as the electrolyte cools; about x1.9 at 0 degC and x0.6 at 45 degC (typical LFP DCIR vs T). */
const RESISTANCE_TEMP_COEFF = 0.025;
/** The BMS raises a limit with this time constant (it lowers it at once) so limit and voltage do not chatter. */
const LIMIT_RISE_TAU_S = 10;

interface Cell {
  /** As built, before any ageing. */
  newCapacityAh: number;
  newR0Ohm: number;
  newR1Ohm: number;
  tau1S: number;
  capacityAh: number;
  r0Ohm: number;
  r1Ohm: number;
  c1F: number;
  heatCapJPerK: number;
  coolingWPerK: number;
  soc: number;
  v1: number;
  temp: number;
  voltage: number;
}

/**
 * Slow physical faults (set by the site from its active faults): a leakage current inside one cell
 * (self-discharge, A), extra contact resistance in series at one cell's terminal (a loose busbar
 * joint whose drop and heat that cell's voltage tap and sensor see, ohm), and the part of the
 * cooling still working (a failing fan, 0..1).
 */
export interface SlowFaults {
  leakA: Map<number, number>;
  contactOhm: Map<number, number>;
  cooling: number;
}

/** Sensor overlays injected as faults: the BMS reads these instead of the physical value. */
export interface SensorFaults {
  cellVoltage: Map<number, number>;
  cellTemp: Map<number, number>;
}

export class BatteryPack {
  readonly config: PackConfig;
  readonly ratedAh: number;
  readonly ratedWh: number;
  readonly nominalV: number;
  private readonly cells: Cell[];
  readonly faults: SensorFaults = { cellVoltage: new Map(), cellTemp: new Map() };
  readonly slow: SlowFaults = { leakA: new Map(), contactOhm: new Map(), cooling: 1 };
  /** Equivalent full cycles done before the simulation started (see setAge). */
  private cycleOffset: number;
  /** The EFC at which the cells' capacity and resistance were last aged. */
  private agedAtCycles = Number.NaN;

  ambientC: number;
  /** Pack current, A, positive = discharge. */
  current = 0;
  /** Pack-level coulomb counter, Ah, 0..ratedAh. */
  private chargeAh: number;
  private throughputAh = 0;
  contactorClosed = true;
  /** Open because the operator asked (802 SetOp DISCONNECT): stays open until CONNECT. */
  private manualOpen = false;
  private tripped = false;
  private clearForS = 0;
  /** Evt1 bitfield. */
  evt1 = 0;
  chargeLimitA: number;
  dischargeLimitA: number;

  constructor(config: PackConfig, readonly curve: OcvCurve) {
    if (config.cellsInSeries < 1 || config.cellsInSeries % config.cellsPerModule !== 0) {
      throw new RangeError(`cellsInSeries ${config.cellsInSeries} must be a positive multiple of cellsPerModule ${config.cellsPerModule}`);
    }
    this.config = config;
    this.ambientC = config.ambientC;
    const rng = new Prng(config.seed);
    const c = config.cell;
    const s = config.spread;
    this.cells = Array.from({ length: config.cellsInSeries }, () => {
      const r1 = c.r1Ohm * rng.normal(1, s.resistance);
      const capacityAh = c.capacityAh * rng.normal(1, s.capacity);
      const r0Ohm = c.r0Ohm * rng.normal(1, s.resistance);
      const cell: Cell = {
        newCapacityAh: capacityAh,
        newR0Ohm: r0Ohm,
        newR1Ohm: r1,
        tau1S: c.tau1S,
        capacityAh,
        r0Ohm,
        r1Ohm: r1,
        c1F: c.tau1S / r1,
        heatCapJPerK: c.massKg * c.cpJPerKgK,
        coolingWPerK: c.coolingWPerK * rng.normal(1, s.cooling),
        soc: Math.min(1, Math.max(0, config.initialSocPct / 100 + rng.normal(0, s.soc))),
        v1: 0,
        temp: config.ambientC,
        voltage: 0,
      };
      cell.voltage = this.cellOcv(cell.soc);
      return cell;
    });
    this.ratedAh = c.capacityAh;
    this.cycleOffset = Math.max(0, config.initialCycles ?? 0);
    this.applyAge();
    this.nominalV = config.cellsInSeries * curve.ocv(0.5);
    this.ratedWh = this.ratedAh * this.nominalV;
    this.chargeAh = (this.cells.reduce((a, x) => a + x.soc, 0) / this.cells.length) * this.ratedAh;
    this.chargeLimitA = config.profile.maxChargeC * this.ratedAh;
    this.dischargeLimitA = config.profile.maxDischargeC * this.ratedAh;
    this.updateBms(0);
  }

  get cellCount(): number {
    return this.cells.length;
  }

  /** OCV of a cell at soc, extrapolated steeply beyond the measured curve. */
  cellOcv(soc: number): number {
    if (soc > 1) return this.curve.ocv(1) + OCV_EXTRAPOLATION_V * (soc - 1);
    if (soc < 0) return this.curve.ocv(0) + OCV_EXTRAPOLATION_V * soc;
    return this.curve.ocv(soc);
  }

  private r0At(cell: Cell): number {
    const t = Math.min(80, Math.max(-30, cell.temp));
    return cell.r0Ohm * Math.exp(RESISTANCE_TEMP_COEFF * (25 - t));
  }

  /** Sum of the cells' internal EMF (OCV minus polarisation), V. */
  private emf(): number {
    let e = 0;
    for (const c of this.cells) e += this.cellOcv(c.soc) - c.v1;
    return e;
  }

  private seriesR0(): number {
    let r = 0;
    for (const c of this.cells) r += this.r0At(c);
    for (const x of this.slow.contactOhm.values()) r += x;
    return r;
  }

  /**
   * Age the cells to the present equivalent full cycles: capacity and resistance from the ageing
   * curve, each relative to the cell's as-built value (the manufacturing spread stays). The state
   * of charge of each cell is kept: the lost capacity is lost from every SoC alike.
   */
  private applyAge(): void {
    const curve = this.config.ageing;
    if (!curve) return;
    const efc = this.cycles;
    if (Math.abs(efc - this.agedAtCycles) < 0.01) return;
    this.agedAtCycles = efc;
    const q = curve.capacityFactor(efc);
    const r = curve.resistanceFactor(efc);
    for (const c of this.cells) {
      c.capacityAh = c.newCapacityAh * q;
      c.r0Ohm = c.newR0Ohm * r;
      c.r1Ohm = c.newR1Ohm * r;
      c.c1F = c.tau1S / c.r1Ohm;
    }
  }

  /** Start (or continue) as a pack that has done `cycles` equivalent full cycles. */
  setAge(cycles: number): void {
    if (!(cycles >= 0) || !Number.isFinite(cycles)) throw new RangeError(`age must be a non-negative number of cycles, got ${cycles}`);
    this.cycleOffset = cycles - this.throughputAh / (2 * this.ratedAh);
    this.applyAge();
  }

  /** Terminal voltage of the pack, V (sum of physical cell voltages). */
  get voltage(): number {
    let v = 0;
    for (const c of this.cells) v += c.voltage;
    return v;
  }

  /** Sum of the cells' open-circuit voltages, V: the voltage at which charge is stored. */
  get ocvVoltage(): number {
    let v = 0;
    for (const c of this.cells) v += this.cellOcv(c.soc);
    return v;
  }

  /**
   * The current (A, + = discharge) that makes the pack deliver `powerW` at its terminals now:
   * P = I (E - I R), the smaller root. Beyond the maximum-power point the pack gives what it can.
   */
  currentForPower(powerW: number): number {
    const e = this.emf();
    const r = this.seriesR0();
    const disc = e * e - 4 * r * powerW;
    if (disc <= 0) return e / (2 * r);
    return (e - Math.sqrt(disc)) / (2 * r);
  }

  /** Advance by dtS seconds with the pack current currentA (+ = discharge). Open contactor = 0 A. */
  step(dtS: number, currentA: number): void {
    const i = this.contactorClosed && Number.isFinite(currentA) ? currentA : 0;
    this.current = i;
    const slow = this.slow;
    this.cells.forEach((c, k) => {
      const r0 = this.r0At(c);
      const contact = slow.contactOhm.get(k) ?? 0;
      // RC pair advanced exactly for a constant current over the step.
      const decay = Math.exp(-dtS / (c.r1Ohm * c.c1F));
      c.v1 = c.v1 * decay + i * c.r1Ohm * (1 - decay);
      // A self-discharging cell loses charge to its internal leak whatever the pack current is.
      c.soc -= ((i + (slow.leakA.get(k) ?? 0)) * dtS) / 3600 / c.capacityAh;
      const heatW = i * i * (r0 + contact) + (c.v1 * c.v1) / c.r1Ohm;
      c.temp += (dtS * (heatW - slow.cooling * c.coolingWPerK * (c.temp - this.ambientC))) / c.heatCapJPerK;
      c.voltage = this.cellOcv(c.soc) - c.v1 - i * (r0 + contact);
    });
    this.chargeAh = Math.min(this.ratedAh, Math.max(0, this.chargeAh - (i * dtS) / 3600));
    this.throughputAh += (Math.abs(i) * dtS) / 3600;
    this.applyAge();
    this.updateBms(dtS);
  }

  /** What the BMS measures: physical values with any injected sensor faults on top. */
  cellStates(): CellState[] {
    return this.cells.map((c, k) => ({
      voltage: this.faults.cellVoltage.get(k) ?? c.voltage,
      soc: c.soc,
      temp: this.faults.cellTemp.get(k) ?? c.temp,
      capacityAh: c.capacityAh,
      resistance: this.r0At(c),
    }));
  }

  /** Coulomb-counted pack SoC, %, 0..100. */
  get soc(): number {
    return (100 * this.chargeAh) / this.ratedAh;
  }

  /** Weakest cell's capacity against the rating, %, at most 100. */
  get soh(): number {
    return Math.min(100, (100 * Math.min(...this.cells.map((c) => c.capacityAh))) / this.ratedAh);
  }

  /** Equivalent full cycles so far, including the age the pack started with. */
  get cycles(): number {
    return this.cycleOffset + this.throughputAh / (2 * this.ratedAh);
  }

  /** Mean cell capacity against the rating, %: the capacity the pack's charge moves against. */
  get capacitySohPct(): number {
    return (100 * this.cells.reduce((a, c) => a + c.capacityAh, 0)) / this.cells.length / this.ratedAh;
  }

  get power(): number {
    return this.voltage * this.current;
  }

  hasAlarm(symbol: string): boolean {
    return Math.floor(this.evt1 / 2 ** evt1Bit(symbol)) % 2 === 1;
  }

  /** The Evt1 symbols set now. */
  alarmSymbols(): string[] {
    return [...EVT1_BITS].filter(([, bit]) => Math.floor(this.evt1 / 2 ** bit) % 2 === 1).map(([name]) => name);
  }

  /** 802 AlmRst: clear a latched trip at once if its cause is gone. */
  resetAlarms(): void {
    if (this.tripped && !this.hasTripAlarm()) {
      this.tripped = false;
      this.clearForS = 0;
      if (!this.manualOpen) this.contactorClosed = true;
    }
  }

  /** 802 SetOp: CONNECT closes the contactor unless a trip holds it open; DISCONNECT opens it. */
  setOperation(connect: boolean): void {
    this.manualOpen = !connect;
    if (!connect) this.contactorClosed = false;
    else if (!this.tripped) this.contactorClosed = true;
  }

  get manuallyOpen(): boolean {
    return this.manualOpen;
  }

  /** An alarm that opens the contactor is set. */
  hasTripAlarm(): boolean {
    return TRIP_SYMBOLS.some((s) => this.hasAlarm(s));
  }

  private updateBms(dtS: number): void {
    const p = this.config.profile;
    const { vMax, vMin, tMax, tMin } = cellReadings(this.cellStates());
    const i = this.current;
    const ratedCharge = p.maxChargeC * this.ratedAh;
    const ratedDischarge = p.maxDischargeC * this.ratedAh;

    const flags = new Set<string>();
    // Voltage: hard limits trip, the warning band sits inside them. NaN counts as out of range.
    if (!(vMax <= p.cellVoltageMaxV)) flags.add('OVER_VOLT_ALARM');
    else if (vMax > p.cellVoltageWarnHighV) flags.add('OVER_VOLT_WARNING');
    if (!(vMin >= p.cellVoltageMinV)) flags.add('UNDER_VOLT_ALARM');
    else if (vMin < p.cellVoltageWarnLowV) flags.add('UNDER_VOLT_WARNING');
    // Temperature: the alarm is the widest limit (discharge, -20..55 degC); between the charge and
    // discharge limits the BMS only warns and its charge limit is already 0.
    if (!(tMax <= p.dischargeTempMaxC)) flags.add('OVER_TEMP_ALARM');
    else if (tMax > p.chargeTempMaxC) flags.add('OVER_TEMP_WARNING');
    if (!(tMin >= p.dischargeTempMinC)) flags.add('UNDER_TEMP_ALARM');
    else if (tMin < p.chargeTempMinC) flags.add('UNDER_TEMP_WARNING');
    // Current: an alarm 20 % over the rating, a warning above the present limit.
    if (-i > 1.2 * ratedCharge) flags.add('OVER_CHARGE_CURRENT_ALARM');
    else if (-i > 1.05 * this.chargeLimitA + 1) flags.add('OVER_CHARGE_CURRENT_WARNING');
    if (i > 1.2 * ratedDischarge) flags.add('OVER_DISCHARGE_CURRENT_ALARM');
    else if (i > 1.05 * this.dischargeLimitA + 1) flags.add('OVER_DISCHARGE_CURRENT_WARNING');
    // SoC outside the recommended window, imbalance.
    if (this.soc < p.socMinPct) flags.add('UNDER_SOC_MIN_WARNING');
    if (this.soc > p.socMaxPct) flags.add('OVER_SOC_MAX_WARNING');
    if (vMax - vMin > p.cellSpreadMaxV) flags.add('VOLTAGE_IMBALANCE_WARNING');
    if (tMax - tMin > p.tempSpreadMaxK) flags.add('TEMPERATURE_IMBALANCE_WARNING');

    // SoC recalibration, as BMSs do at the ends of the curve where voltage tells SoC reliably:
    // full when the highest cell sits at the charge end voltage with the current tapered out.
    const small = 0.02 * this.ratedAh;
    if (vMax >= p.chargeTaperEndV - 0.005 && Math.abs(i) < small) this.chargeAh = this.ratedAh;
    else if (vMin <= p.dischargeTaperEndV + 0.005 && Math.abs(i) < small) this.chargeAh = 0;

    let evt = 0;
    for (const f of flags) evt += 2 ** evt1Bit(f);
    this.evt1 = evt;

    // Protective contactor: opens on any trip alarm and latches; recloses by itself once the cause
    // has been gone for autoReconnectS (or at once on AlmRst), unless the operator opened it.
    if (this.hasTripAlarm()) {
      this.tripped = true;
      this.clearForS = 0;
      this.contactorClosed = false;
    } else if (this.tripped) {
      this.clearForS += dtS;
      if (this.clearForS >= this.config.autoReconnectS) {
        this.tripped = false;
        if (!this.manualOpen) this.contactorClosed = true;
      }
    }
    if (this.tripped || this.manualOpen) this.contactorClosed = false;
    if (!this.contactorClosed) this.current = 0;

    // Current limits: taper with voltage and temperature; zero while the contactor is open.
    const chargeTarget = this.contactorClosed ? ratedCharge * chargeCurrentFactor(p, vMax, tMax, tMin) : 0;
    const dischargeTarget = this.contactorClosed ? ratedDischarge * dischargeCurrentFactor(p, vMin, tMax, tMin) : 0;
    this.chargeLimitA = smoothLimit(this.chargeLimitA, chargeTarget, dtS);
    this.dischargeLimitA = smoothLimit(this.dischargeLimitA, dischargeTarget, dtS);
  }

  /** Sum of cell charges relative to their OCV: used by tests for the energy balance. */
  storedChargeAh(): number[] {
    return this.cells.map((c) => c.soc * c.capacityAh);
  }
}

function smoothLimit(now: number, target: number, dtS: number): number {
  if (!Number.isFinite(target)) return 0;
  if (target <= now || dtS <= 0) return target;
  return now + (target - now) * (1 - Math.exp(-dtS / LIMIT_RISE_TAU_S));
}
