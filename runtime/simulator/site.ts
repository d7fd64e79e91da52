// The simulated site: battery pack + PCS + grid meter over real load and PV profiles.
// Signs: battery and PCS power + = discharging into the site; grid + = import;
// current + = discharge. grid = load - pv - PCS AC power.
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { LFP_DEFAULTS, type LfpProfile } from '../../domain/lfp/limits';
import { BatteryPack, cellReadings, type CellState, type PackConfig } from './battery-pack';
import { Pcs, type PcsConfig, type PcsStateName } from './pcs';
import type { SiteProfile } from './site-profile';
import { measuredAgeingCurve } from './ageing';
import { InjectedFaults, type ActiveFault, type FaultRequest, type FaultType } from './faults';
import { LOAD_GROUPS, type IslandState, type LoadGroup } from '../../domain/black-start/island-models';

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
  private readonly faults = new InjectedFaults();
  /**
   * Longest sub-step, ms. In-process runs over months (SoH and anomaly benches) may raise it to
   * tens of seconds: the thermal time constant is hours and the RC pair is advanced exactly.
   */
  maxSubstepMs = MAX_SUBSTEP_MS;
  /** Simulated ms per wall-clock ms (the simulator's --speed); the PCS's revert timer counts wall time. */
  clockSpeed = 1;
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
      this.pcs.step(dtS, dc, dtS / this.clockSpeed);
    }
    if (this.faults.growing) this.faults.grow(pack, this.simTimeMs);
    pack.step(dtS, pack.currentForPower(this.pcs.dcPower));
    this.simTimeMs += dtMs;
    this.sample();
    if (this.gridW > 0) this.energyImportWh += (this.gridW * dtS) / 3600;
    else this.energyExportWh += (-this.gridW * dtS) / 3600;
  }

  activeFaults(): ActiveFault[] {
    return this.faults.active();
  }

  hasFault(type: FaultType): boolean {
    return this.faults.has(type);
  }

  /** Injects a fault (faults.ts says what each does); RangeError for a request the pack cannot take. */
  injectFault(req: FaultRequest): ActiveFault {
    const fault = this.faults.inject(req, this.pack.cellCount, this.simTimeMs);
    this.applyFaults();
    return fault;
  }

  /** Clear one type of fault, or all of them. Returns what was cleared. */
  clearFaults(type?: FaultType): ActiveFault[] {
    const cleared = this.faults.clear(type);
    if (cleared.length) {
      this.applyFaults();
      // The operator cleared the cause: the BMS may reclose at once, as after an AlmRst.
      this.pack.resetAlarms();
      this.pack.step(0, 0);
    }
    return cleared;
  }

  /** Put the active faults into the parts: sensor overlays and slow physics on the pack, PCS fault, grid state. */
  private applyFaults(): void {
    this.faults.applyTo(this.pack, this.simTimeMs);
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
    const readings = cellReadings(cells);
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
        temperature: readings.temps.reduce((a, b) => a + b, 0) / readings.temps.length,
        tempMax: readings.tMax,
        tempMin: readings.tMin,
        cellVmax: readings.vMax,
        cellVmin: readings.vMin,
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
