// The simulated site: battery pack + PCS + grid meter over real load and PV profiles.
// Signs (DESIGN.md): battery and PCS power + = discharging into the site; grid + = import;
// current + = discharge. grid = load - pv - PCS AC power.
import { z } from 'zod';
import { OcvCurve } from '../../nodes/domain/lfp/ocv-curve';
import { LFP_DEFAULTS, type LfpProfile } from '../../nodes/domain/lfp/limits';
import { BatteryPack, type CellState, type PackConfig } from './battery-pack';
import { Pcs, type PcsConfig, type PcsStateName } from './pcs';
import type { SiteProfile } from './site-profile';
import { measuredAgeingCurve } from './ageing';
import { LOAD_GROUPS, type IslandState, type LoadGroup } from '../../nodes/domain/black-start/island-models';

/**
 * Shares of the site load on the three load-group breakers (vendor model 64900 Brk1..3), as a
 * backup panel splits it: critical (fridge, heating pump, IT), normal, deferrable (EV, heat).
 */
export const LOAD_SHARES: Record<LoadGroup, number> = { critical: 0.3, normal: 0.45, deferrable: 0.25 };

/** SunSpec 703 enter-service settings (IEEE 1547-2018 4.10.2 defaults, scaled to 50 Hz). */
export interface EnterService {
  enabled: boolean;
  /** Window, % of nominal voltage and Hz. */
  vHiPct: number;
  vLoPct: number;
  hzHi: number;
  hzLo: number;
  /** ESDlyTms: how long the grid must be in the window before the PCS enters service, s. 0 here so a
   * cleared grid-loss reconnects at once as before; IEEE 1547 default is 300 s. */
  delayS: number;
  randomS: number;
  rampS: number;
}

export const SITE_KINDS = ['household', 'commercial'] as const;
export type SiteKind = (typeof SITE_KINDS)[number];

export interface SiteConfig {
  kind: SiteKind;
  pack: PackConfig;
  pcs: PcsConfig;
  /** For the commercial profile: scale of Berlin demand and German PV. */
  peakLoadW: number;
  pvPeakW: number;
}

/**
 * The two built-in sites.
 * household: 16 s LFP 200 Ah prismatic cells (51.2 V, 10.2 kWh, like most wall-mounted home
 *   batteries) behind a 5 kW single-phase hybrid inverter; indoor at 20 degC. Cell parameters as
 *   on 200-230 Ah prismatic LFP datasheets (about 0.4 mOhm DC resistance, 4 kg).
 * commercial: 240 s LFP 280 Ah (15 modules of 16 cells, 768 V, 215 kWh, the common container
 *   rack size) behind a 100 kW three-phase PCS; a 200 kW peak-load site with 150 kWp PV; 25 degC
 *   air-conditioned enclosure. 280 Ah cells (EVE LF280K class): about 0.25 mOhm, 5.4 kg.
 */
export function siteConfig(kind: SiteKind, seed = 1, profile: LfpProfile = LFP_DEFAULTS): SiteConfig {
  const spread = { capacity: 0.01, resistance: 0.05, cooling: 0.1, soc: 0.005 };
  if (kind === 'household') {
    return {
      kind,
      pack: {
        cellsInSeries: 16,
        cellsPerModule: 16,
        cell: { capacityAh: 200, r0Ohm: 0.0004, r1Ohm: 0.0003, tau1S: 60, massKg: 4, cpJPerKgK: 1000, coolingWPerK: 0.6 },
        spread,
        initialSocPct: 50,
        ambientC: 20,
        profile,
        seed,
        autoReconnectS: 60,
        ageing: measuredAgeingCurve(),
      },
      pcs: {
        ratedW: 5000, lossNoLoad: 0.005, lossLinear: 0.01, lossQuadratic: 0.02, standbyW: 10,
        rampPctPerS: 20, revertS: 60, phases: 1, voltageLN: 230, frequencyHz: 50,
      },
      peakLoadW: 0,
      pvPeakW: 0,
    };
  }
  return {
    kind,
    pack: {
      cellsInSeries: 240,
      cellsPerModule: 16,
      cell: { capacityAh: 280, r0Ohm: 0.00025, r1Ohm: 0.0002, tau1S: 60, massKg: 5.4, cpJPerKgK: 1000, coolingWPerK: 0.8 },
      spread,
      initialSocPct: 50,
      ambientC: 25,
      profile,
      seed,
      autoReconnectS: 60,
      ageing: measuredAgeingCurve(),
    },
    pcs: {
      ratedW: 100_000, lossNoLoad: 0.004, lossLinear: 0.008, lossQuadratic: 0.018, standbyW: 60,
      rampPctPerS: 20, revertS: 60, phases: 3, voltageLN: 230, frequencyHz: 50,
    },
    peakLoadW: 200_000,
    pvPeakW: 150_000,
  };
}

// ---------------------------------------------------------------- faults

export const FAULT_TYPES = [
  'over-temperature',
  'cell-over-voltage',
  'cell-under-voltage',
  'pcs-fault',
  'modbus-silence',
  'grid-loss',
  'self-discharge',
  'fan-failure',
  'loose-connection',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/**
 * Slow faults: they grow from nothing at a constant rate per simulated day since injection, as the
 * ageing faults that anomaly detection must catch early do.
 *   self-discharge    `cell` leaks; `value` = growth of its self-discharge, % of its capacity per
 *                     day, per day (a developing internal micro-short).
 *   fan-failure       the pack's cooling (hA to ambient) degrades; `value` = part lost per day
 *                     (down to 5 % left): temperature rise against current grows.
 *   loose-connection  a busbar joint at `cell` (so on that cell's module) loosens; `value` = contact
 *                     resistance added per day, milliohm: the drop shows in that cell's voltage tap.
 */
export const SLOW_FAULT_TYPES: readonly FaultType[] = ['self-discharge', 'fan-failure', 'loose-connection'];
const MIN_COOLING = 0.05;

/** POST /faults body. `cell` picks the cell (default 0); `value` the sensor reading (degC or V), or a slow fault's rate. */
export const FaultRequestSchema = z
  .object({
    type: z.enum(FAULT_TYPES),
    cell: z.number().int().nonnegative().optional(),
    value: z.number().finite().optional(),
  })
  .strict();
export type FaultRequest = z.infer<typeof FaultRequestSchema>;

export interface ActiveFault {
  type: FaultType;
  cell?: number;
  value?: number;
  /** Simulated time the fault began, ISO 8601. */
  since: string;
}

/** Sensor readings a fault forces when no value is given: just beyond the LFP limits. */
const FAULT_DEFAULT_VALUE: Partial<Record<FaultType, number>> = {
  'over-temperature': 60,
  'cell-over-voltage': 3.7,
  'cell-under-voltage': 2.4,
  'self-discharge': 1,
  'fan-failure': 0.25,
  'loose-connection': 0.2,
};

/** POST /age body: make the pack as old as `cycles` equivalent full cycles. */
export const AgeRequestSchema = z.object({ cycles: z.number().finite().nonnegative().max(5000) }).strict();

// ---------------------------------------------------------------- state

export interface SiteState {
  site: SiteKind;
  simTime: string;
  simTimeMs: number;
  cells: (CellState & { index: number })[];
  pack: {
    /** Coulomb-counted SoC, %. */
    soc: number;
    soh: number;
    voltage: number;
    current: number;
    power: number;
    /** Mean, max and min cell temperature, degC. */
    temperature: number;
    tempMax: number;
    tempMin: number;
    cellVmax: number;
    cellVmin: number;
    capacityAh: number;
    capacityWh: number;
    /** Mean cell capacity against the rating, % (the truth an SoH estimator measures). */
    capacitySoh: number;
    chargeLimitA: number;
    dischargeLimitA: number;
    contactorClosed: boolean;
    alarms: string[];
    cycles: number;
    ambientC: number;
  };
  pcs: {
    /** The setpoint the PCS follows (0 when WSet is disabled), W. */
    setpoint: number;
    setpointEnabled: boolean;
    /** WSet as written, W. */
    wSet: number;
    power: number;
    dcPower: number;
    state: PcsStateName;
    revertTimeS: number;
    revertRemainingS: number;
    ratedW: number;
    energyInjectedWh: number;
    energyAbsorbedWh: number;
  };
  meter: {
    load: number;
    pv: number;
    grid: number;
    gridConnected: boolean;
    energyImportWh: number;
    energyExportWh: number;
  };
  /** The point of common coupling and the island (vendor model 64900, SunSpec 703). */
  island: {
    state: IslandState;
    /** Utility voltage at the grid side of the tie (no grid-loss fault). */
    gridPresent: boolean;
    tieClosed: boolean;
    /** Commanded grid-forming (64900 GridForm). */
    gridForming: boolean;
    /** Site bus (PCS terminals): 701 LNV / Hz. */
    voltage: number;
    frequency: number;
    loadServedW: number;
    pvUsedW: number;
    groups: { name: LoadGroup; breakerClosed: boolean; demandW: number; servedW: number }[];
    enterService: EnterService;
  };
  faults: ActiveFault[];
}

/** Longest simulated sub-step, ms: keeps the explicit thermal and BMS updates stable. */
export const MAX_SUBSTEP_MS = 1000;

export class Site {
  readonly pack: BatteryPack;
  readonly pcs: Pcs;
  simTimeMs: number;
  loadW = 0;
  pvW = 0;
  gridW = 0;
  /** The site is connected to a live grid: utility present and the tie closed. */
  gridConnected = true;
  /** Utility voltage at the grid side of the tie (false during the grid-loss fault). */
  gridPresent = true;
  /** The point-of-common-coupling tie switch (64900 Tie). */
  tieClosed = true;
  /** Load-group breakers, in LOAD_GROUPS order (64900 Brk1..3). */
  breakers: boolean[] = LOAD_GROUPS.map(() => true);
  /** Latched by an island overload until GridForm is written GRID_FOLLOWING. */
  islandCollapsed = false;
  loadServedW = 0;
  pvUsedW = 0;
  enterService: EnterService = { enabled: true, vHiPct: 105, vLoPct: 91.7, hzHi: 50.1, hzLo: 49.5, delayS: 0, randomS: 0, rampS: 0 };
  /** Time the grid has been connected without a break, s (for 703 ESDlyTms). */
  private connectedForS = 0;
  energyImportWh = 0;
  energyExportWh = 0;
  private readonly faults = new Map<FaultType, ActiveFault>();
  /**
   * Longest sub-step, ms. In-process runs over months (SoH and anomaly benches) may raise it to
   * tens of seconds: the thermal time constant is hours and the RC pair is advanced exactly.
   */
  maxSubstepMs = MAX_SUBSTEP_MS;
  /** Simulated time each slow fault began, ms. */
  private readonly slowSince = new Map<FaultType, number>();
  /** Called after the set of active faults changed (the Modbus server watches modbus-silence). */
  onFaultsChanged: ((faults: ActiveFault[]) => void) | undefined;

  constructor(
    readonly config: SiteConfig,
    readonly profile: SiteProfile,
    curve: OcvCurve,
    startMs: number,
  ) {
    this.pack = new BatteryPack(config.pack, curve);
    this.pcs = new Pcs(config.pcs);
    this.simTimeMs = startMs;
    this.sample();
  }

  /** The island state as the PCS reports it in 64900 IslSt. */
  islandState(): IslandState {
    if (this.gridConnected) return 'GRID_CONNECTED';
    if (this.islandCollapsed) return 'COLLAPSED';
    if (this.pcs.forming && !this.tieClosed && !this.pcs.fault && this.pack.contactorClosed) return 'ISLANDED';
    return 'DARK';
  }

  /** Present demand of each load group, served or not, W. */
  groupDemand(): number[] {
    return LOAD_GROUPS.map((g) => this.loadW * LOAD_SHARES[g]);
  }

  /** Demand behind the closed breakers, W. */
  private breakerLoad(): number {
    return this.groupDemand().reduce((sum, w, k) => sum + (this.breakers[k] ? w : 0), 0);
  }

  private sample(): void {
    const p = this.profile.at(this.simTimeMs);
    this.loadW = p.loadW;
    this.pvW = p.pvW;
    const island = this.islandState();
    if (island === 'GRID_CONNECTED') {
      this.loadServedW = this.breakerLoad();
      this.pvUsedW = this.pvW;
    } else if (island === 'ISLANDED') {
      this.loadServedW = this.breakerLoad();
      this.pvUsedW = this.loadServedW - this.pcs.acPower;
    } else {
      // A dark bus: loads unserved, and the PV inverters have no voltage to follow.
      this.loadServedW = 0;
      this.pvUsedW = 0;
    }
    this.gridW = island === 'GRID_CONNECTED' ? this.loadServedW - this.pvW - this.pcs.acPower : 0;
  }

  /** Site bus voltage (line to neutral) and frequency, as the PCS's 701 shows them. */
  busVoltage(): { voltage: number; frequency: number } {
    const island = this.islandState();
    if (island === 'GRID_CONNECTED') return { voltage: this.pcs.config.voltageLN, frequency: this.pcs.config.frequencyHz };
    if (island === 'ISLANDED') return { voltage: this.pcs.config.voltageLN, frequency: this.pcs.islandFrequency() };
    return { voltage: 0, frequency: 0 };
  }

  /** Islanding controls as 64900 writes them. GridForm = GRID_FOLLOWING releases a collapse latch. */
  writeIsland(c: { gridForming?: boolean; tieClosed?: boolean; breakers?: (boolean | undefined)[] }): void {
    if (c.gridForming !== undefined) {
      this.pcs.forming = c.gridForming;
      if (!c.gridForming) this.islandCollapsed = false;
    }
    if (c.tieClosed !== undefined) this.tieClosed = c.tieClosed;
    c.breakers?.forEach((b, k) => {
      if (b !== undefined && k < this.breakers.length) this.breakers[k] = b;
    });
    this.updateTopology();
  }

  /** Derive the connection from the utility and the tie; a lost connection trips the PCS output. */
  private updateTopology(): void {
    const was = this.gridConnected;
    this.gridConnected = this.gridPresent && this.tieClosed;
    if (!this.gridConnected) this.connectedForS = 0;
    if (was && !this.gridConnected) this.pcs.acPower = 0;
    this.sample();
  }

  /** Advance the simulated time by dtMs in sub-steps of at most MAX_SUBSTEP_MS. */
  step(dtMs: number): void {
    if (!(dtMs > 0)) return;
    const n = Math.ceil(dtMs / this.maxSubstepMs);
    const sub = dtMs / n;
    for (let k = 0; k < n; k++) this.subStep(sub);
  }

  private subStep(dtMs: number): void {
    const dtS = dtMs / 1000;
    const pack = this.pack;
    const v = pack.voltage;
    const dc = { chargeW: pack.chargeLimitA * v, dischargeW: pack.dischargeLimitA * v };
    this.pcs.dcConnected = pack.contactorClosed;
    if (this.gridConnected) this.connectedForS += dtS;
    // SunSpec 703: a grid-following DER enters service only while ES is ENABLED and the grid has
    // been within the window for ESDlyTms (the simulated grid is always at nominal when present).
    const es = this.enterService;
    this.pcs.gridConnected = this.gridConnected && es.enabled && this.connectedForS >= es.delayS;
    if (this.islandState() === 'ISLANDED') {
      if (!this.pcs.stepForming(dtS, this.breakerLoad() - this.pvW, dc)) this.islandCollapsed = true;
    } else {
      this.pcs.step(dtS, dc);
    }
    if (this.slowSince.size) this.growSlowFaults();
    pack.step(dtS, pack.currentForPower(this.pcs.dcPower));
    this.simTimeMs += dtMs;
    this.sample();
    if (this.gridW > 0) this.energyImportWh += (this.gridW * dtS) / 3600;
    else this.energyExportWh += (-this.gridW * dtS) / 3600;
  }

  /** Set the pack's slow-fault physics from the slow faults' age. */
  private growSlowFaults(): void {
    const slow = this.pack.slow;
    slow.leakA.clear();
    slow.contactOhm.clear();
    slow.cooling = 1;
    for (const [type, since] of this.slowSince) {
      const f = this.faults.get(type);
      if (!f || f.cell === undefined || f.value === undefined) continue;
      const days = Math.max(0, this.simTimeMs - since) / 86_400_000;
      if (type === 'self-discharge') {
        const cap = this.pack.cellStates()[f.cell]?.capacityAh ?? this.pack.ratedAh;
        slow.leakA.set(f.cell, ((f.value / 100) * days * cap) / 24);
      } else if (type === 'fan-failure') {
        slow.cooling = Math.max(MIN_COOLING, 1 - f.value * days);
      } else if (type === 'loose-connection') {
        slow.contactOhm.set(f.cell, (f.value / 1000) * days);
      }
    }
  }

  activeFaults(): ActiveFault[] {
    return [...this.faults.values()];
  }

  hasFault(type: FaultType): boolean {
    return this.faults.has(type);
  }

  injectFault(req: FaultRequest): ActiveFault {
    const cell = req.cell ?? 0;
    if (cell >= this.pack.cellCount) throw new RangeError(`cell ${cell} does not exist: the pack has cells 0..${this.pack.cellCount - 1}`);
    const fault: ActiveFault = { type: req.type, since: new Date(this.simTimeMs).toISOString() };
    const value = req.value ?? FAULT_DEFAULT_VALUE[req.type];
    if (value !== undefined) {
      fault.cell = cell;
      fault.value = value;
    }
    if (SLOW_FAULT_TYPES.includes(req.type) && !(value !== undefined && value > 0)) throw new RangeError(`${req.type}: value is a growth rate per day and must be positive`);
    this.faults.set(req.type, fault);
    // Injected again: the slow fault starts over from nothing.
    this.slowSince.delete(req.type);
    this.applyFaults();
    return fault;
  }

  /** Clear one type of fault, or all of them. Returns what was cleared. */
  clearFaults(type?: FaultType): ActiveFault[] {
    const cleared = [...this.faults.values()].filter((f) => type === undefined || f.type === type);
    for (const f of cleared) this.faults.delete(f.type);
    if (cleared.length) {
      this.applyFaults();
      // The operator cleared the cause: the BMS may reclose at once, as after an AlmRst.
      this.pack.resetAlarms();
      this.pack.step(0, 0);
    }
    return cleared;
  }

  /** Put the active faults into the parts: sensor overlays on the BMS, PCS fault, grid state. */
  private applyFaults(): void {
    const overlays = this.pack.faults;
    overlays.cellTemp.clear();
    overlays.cellVoltage.clear();
    for (const f of this.faults.values()) {
      if (f.cell === undefined || f.value === undefined) continue;
      if (f.type === 'over-temperature') overlays.cellTemp.set(f.cell, f.value);
      else if (f.type === 'cell-over-voltage' || f.type === 'cell-under-voltage') overlays.cellVoltage.set(f.cell, f.value);
    }
    // Slow faults grow from the time they were (last) injected; a cleared one stops at once.
    for (const t of [...this.slowSince.keys()]) if (!this.faults.has(t)) this.slowSince.delete(t);
    for (const f of this.faults.values()) if (SLOW_FAULT_TYPES.includes(f.type) && !this.slowSince.has(f.type)) this.slowSince.set(f.type, this.simTimeMs);
    this.growSlowFaults();
    this.pcs.fault = this.faults.has('pcs-fault');
    this.gridPresent = !this.faults.has('grid-loss');
    // Let the BMS see the new readings now, not at the next step (a zero-length step).
    this.pack.step(0, this.pack.current);
    this.updateTopology();
    this.onFaultsChanged?.(this.activeFaults());
  }

  state(): SiteState {
    const pack = this.pack;
    const cells = pack.cellStates();
    const temps = cells.map((c) => c.temp);
    const volts = cells.map((c) => c.voltage);
    const pcs = this.pcs;
    return {
      site: this.config.kind,
      simTime: new Date(this.simTimeMs).toISOString(),
      simTimeMs: this.simTimeMs,
      cells: cells.map((c, index) => ({ index, ...c })),
      pack: {
        soc: pack.soc,
        soh: pack.soh,
        voltage: pack.voltage,
        current: pack.current,
        power: pack.power,
        temperature: temps.reduce((a, b) => a + b, 0) / temps.length,
        tempMax: Math.max(...temps),
        tempMin: Math.min(...temps),
        cellVmax: Math.max(...volts),
        cellVmin: Math.min(...volts),
        capacityAh: pack.ratedAh,
        capacityWh: pack.ratedWh,
        capacitySoh: pack.capacitySohPct,
        chargeLimitA: pack.chargeLimitA,
        dischargeLimitA: pack.dischargeLimitA,
        contactorClosed: pack.contactorClosed,
        alarms: pack.alarmSymbols(),
        cycles: pack.cycles,
        ambientC: pack.ambientC,
      },
      pcs: {
        setpoint: pcs.requested(),
        setpointEnabled: pcs.controls.wSetEna,
        wSet: pcs.controls.wSet,
        power: pcs.acPower,
        dcPower: pcs.dcPower,
        state: pcs.state,
        revertTimeS: pcs.controls.wSetRvrtTms,
        revertRemainingS: pcs.revertRemainingS,
        ratedW: pcs.config.ratedW,
        energyInjectedWh: pcs.energyInjectedWh,
        energyAbsorbedWh: pcs.energyAbsorbedWh,
      },
      meter: {
        load: this.loadW,
        pv: this.pvW,
        grid: this.gridW,
        gridConnected: this.gridConnected,
        energyImportWh: this.energyImportWh,
        energyExportWh: this.energyExportWh,
      },
      island: {
        state: this.islandState(),
        gridPresent: this.gridPresent,
        tieClosed: this.tieClosed,
        gridForming: this.pcs.forming,
        ...this.busVoltage(),
        loadServedW: this.loadServedW,
        pvUsedW: this.pvUsedW,
        groups: LOAD_GROUPS.map((name, k) => ({
          name,
          breakerClosed: this.breakers[k] ?? false,
          demandW: this.groupDemand()[k] ?? 0,
          servedW: this.loadServedW > 0 && this.breakers[k] ? (this.groupDemand()[k] ?? 0) : 0,
        })),
        enterService: { ...this.enterService },
      },
      faults: this.activeFaults(),
    };
  }
}
