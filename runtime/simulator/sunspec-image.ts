// The simulated devices' Modbus register maps in the SunSpec layout: 'SunS' at 40000, then a
// chain of models, then the end model 0xFFFF with length 0 (SunSpec Device Information Model
// Specification, "Device Modbus Map"). Each unit's image is encoded from the physical state with
// the codec's encodeModel after every simulation step; writes are accepted only on the RW points
// this device implements and go to the physical model, which the next refresh reflects.
//   unit 1 battery: 1, 802, 805 (one per module of cells), 713
//   unit 2 PCS:     1, 701, 702, 704, 703, 64900 (703 and the vendor islanding model after 704, so
//                   the addresses of 701/702/704 stay where they were)
//   unit 3 meter:   1, 203
import { decodeModel, encodeModel, type GroupValues } from '../../nodes/domain/sunspec/codec';
import { sunspecModel, type ModelDef, type PointDef } from '../../nodes/domain/sunspec/model';
import { SUNS_MARKER } from '../../nodes/domain/sunspec/discovery';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from '../modbus/register-bank';
import type { PcsControls } from './pcs';
import type { Site } from './site';
import { ENTER_SERVICE_MODEL, ISLAND_MODEL, ISLAND_STATES, islandModel, LOAD_GROUPS } from '../../nodes/domain/black-start/island-models';

export const SUNSPEC_BASE = 40000;
const END_MODEL = [0xffff, 0];

/** One model of a unit: how to fill it and which of its points accept writes. */
export interface ModelSpec {
  def: ModelDef;
  values(): GroupValues;
  /** Top-level RW points this device implements, and what a write of them does. */
  writable?: ReadonlySet<string>;
  /** Apply decoded (engineering) values of written points; throw ModbusException to refuse all. */
  write?(points: Record<string, number>): void;
}

function model(id: number): ModelDef {
  const def = sunspecModel(id) ?? (id === ENTER_SERVICE_MODEL || id === ISLAND_MODEL ? islandModel(id) : undefined);
  if (!def) throw new Error(`SunSpec model ${id} is not built in`);
  return def;
}

const illegalAddress = (msg: string): ModbusException => new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, msg);
const illegalValue = (msg: string): ModbusException => new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_VALUE, msg);

interface Placed {
  spec: ModelSpec;
  address: number;
  length: number;
  /** Offset of each top-level point from the model's ID register. */
  offsets: { point: PointDef; offset: number }[];
}

/** The register image of one Modbus unit. */
export class SunSpecImage implements RegisterBank {
  private regs: Uint16Array;
  private readonly placed: Placed[] = [];

  constructor(
    private readonly specs: readonly ModelSpec[],
    readonly base = SUNSPEC_BASE,
  ) {
    let address = base + SUNS_MARKER.length;
    for (const spec of specs) {
      const regs = encodeModel(spec.def, spec.values());
      const offsets: Placed['offsets'] = [];
      let at = 0;
      for (const point of spec.def.group.points) {
        offsets.push({ point, offset: at });
        at += point.size;
      }
      this.placed.push({ spec, address, length: regs.length, offsets });
      address += regs.length;
    }
    this.regs = new Uint16Array(address + END_MODEL.length - base);
    this.refresh();
  }

  /** Model ids in chain order. */
  get modelIds(): number[] {
    return this.placed.map((p) => p.spec.def.id);
  }

  get length(): number {
    return this.regs.length;
  }

  /** Re-encode every model from the physical state. */
  refresh(): void {
    const out = this.regs;
    out[0] = SUNS_MARKER[0];
    out[1] = SUNS_MARKER[1];
    for (const p of this.placed) {
      const regs = encodeModel(p.spec.def, p.spec.values());
      if (regs.length !== p.length) throw new Error(`model ${p.spec.def.id} changed length from ${p.length} to ${regs.length}`);
      out.set(regs, p.address - this.base);
    }
    out.set(END_MODEL, out.length - END_MODEL.length);
  }

  readRegisters(address: number, count: number): Uint16Array {
    if (address < this.base || address + count > this.base + this.regs.length) {
      throw illegalAddress(`registers ${address}..${address + count - 1} lie outside ${this.base}..${this.base + this.regs.length - 1}`);
    }
    return this.regs.subarray(address - this.base, address - this.base + count);
  }

  writeRegisters(address: number, values: readonly number[]): void {
    const end = address + values.length;
    const touched = this.placed.filter((p) => address < p.address + p.length && end > p.address);
    if (touched.length !== 1 || address < (touched[0]?.address ?? 0) || end > (touched[0]?.address ?? 0) + (touched[0]?.length ?? 0)) {
      throw illegalAddress(`registers ${address}..${end - 1} do not lie inside one model`);
    }
    const p = touched[0] as Placed;
    // Every register written must belong to a writable point.
    const names = new Set<string>();
    for (let a = address; a < end; a++) {
      const rel = a - p.address;
      const hit = p.offsets.find((o) => rel >= o.offset && rel < o.offset + o.point.size);
      if (!hit || hit.point.access !== 'RW' || !p.spec.writable?.has(hit.point.name)) {
        throw illegalAddress(`register ${a} (model ${p.spec.def.id} ${hit?.point.name ?? 'group data'}) is not writable on this device`);
      }
      names.add(hit.point.name);
    }
    // Decode the model as it would read after the write, then check and apply the written points.
    const current = Array.from(this.regs.subarray(p.address - this.base, p.address - this.base + p.length));
    values.forEach((v, i) => { current[address - p.address + i] = v & 0xffff; });
    const decoded = decodeModel(p.spec.def, current, p.address);
    const points: Record<string, number> = {};
    for (const name of names) {
      const def = p.offsets.find((o) => o.point.name === name)?.point;
      const v = decoded.root.points[name];
      if (typeof v !== 'number') throw illegalValue(`${name}: the "not implemented" value cannot be written`);
      if (def?.symbols && (def.type === 'enum16' || def.type === 'enum32') && !def.symbols.some((s) => s.value === v)) {
        throw illegalValue(`${name}: ${v} is not one of ${def.symbols.map((s) => `${s.value} (${s.name})`).join(', ')}`);
      }
      points[name] = v;
    }
    p.spec.write?.(points);
    this.refresh();
  }
}

// ---------------------------------------------------------------- scale factors and value fitting

type IntType = 'int16' | 'uint16' | 'int32' | 'uint32';
const RANGE: Record<IntType, [number, number]> = {
  int16: [-32768, 32767],
  uint16: [0, 65534],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967294],
};

/** The smallest scale factor >= minSf at which maxAbs fits the type (leaving the NaN value free). */
export function scaleFactorFor(maxAbs: number, type: IntType, minSf: number): number {
  const hi = RANGE[type][1] - 1;
  let sf = minSf;
  while (Math.abs(maxAbs) / 10 ** sf > hi && sf < 10) sf++;
  return sf;
}

/** An engineering value clamped into what the type holds at this scale factor; null stays null. */
export function fit(value: number | null | undefined, sf: number, type: IntType): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const [lo, hi] = RANGE[type];
  const raw = Math.min(hi, Math.max(lo === -32768 || lo === -2147483648 ? lo + 1 : lo, Math.round(value / 10 ** sf)));
  return raw * 10 ** sf;
}

// ---------------------------------------------------------------- the site's three units

export interface DeviceInfo {
  seed: number;
  version: string;
}

function common(unit: number, md: string, info: DeviceInfo, opt: string): ModelSpec {
  return {
    def: model(1),
    values: () => ({
      points: { Mn: 'LiFePO4 EMS', Md: md, Opt: opt, Vr: info.version, SN: `SIM-${info.seed}-U${unit}`, DA: unit },
    }),
  };
}

const bit = (on: boolean, b: number): number => (on ? 2 ** b : 0);
const CHA_ST = { OFF: 1, EMPTY: 2, DISCHARGING: 3, CHARGING: 4, FULL: 5, HOLDING: 6 } as const;
const BAT_STATE = { DISCONNECTED: 1, CONNECTED: 3, FAULT: 99 } as const;
const TRIP = ['OVER_TEMP_ALARM', 'UNDER_TEMP_ALARM', 'OVER_VOLT_ALARM', 'UNDER_VOLT_ALARM', 'OVER_CHARGE_CURRENT_ALARM', 'OVER_DISCHARGE_CURRENT_ALARM'];

function batteryUnit(site: Site, info: DeviceInfo): ModelSpec[] {
  const pack = site.pack;
  const n = pack.cellCount;
  const prof = pack.config.profile;
  const perModule = pack.config.cellsPerModule;
  const modules = n / perModule;
  const vMaxPack = prof.cellVoltageMaxV * n;
  const maxA = 1.2 * Math.max(prof.maxChargeC, prof.maxDischargeC) * pack.ratedAh;
  const sf = {
    AHRtg: scaleFactorFor(pack.ratedAh, 'uint16', 0),
    WHRtg: scaleFactorFor(pack.ratedWh, 'uint16', 0),
    W: scaleFactorFor(maxA * vMaxPack, 'int16', 0),
    V: scaleFactorFor(vMaxPack * 1.1, 'uint16', -2),
    ModV: scaleFactorFor(prof.cellVoltageMaxV * perModule * 1.1, 'uint16', -2),
    CellV: -3,
    A: scaleFactorFor(maxA * 1.5, 'int16', -2),
    SoC: -1,
    Tmp: -1,
  };
  let ctrlHb = 0;
  const startMs = site.simTimeMs;
  const cm = info;

  const bms: ModelSpec = {
    def: model(802),
    writable: new Set(['AlmRst', 'CtrlHb', 'SetOp']),
    write: (pts) => {
      if ('SetOp' in pts) pack.setOperation(pts.SetOp === 1);
      if ('CtrlHb' in pts) ctrlHb = pts.CtrlHb ?? 0;
      if ('AlmRst' in pts && pts.AlmRst !== 0) pack.resetAlarms();
    },
    values: () => {
      const cells = pack.cellStates();
      const vs = cells.map((c) => c.voltage);
      const vMax = Math.max(...vs);
      const vMin = Math.min(...vs);
      const iMax = vs.indexOf(vMax);
      const iMin = vs.indexOf(vMin);
      const alarms = pack.alarmSymbols();
      const tripped = alarms.some((a) => TRIP.includes(a));
      const i = pack.current;
      const soc = pack.soc;
      const v = pack.voltage;
      const chaSt = !pack.contactorClosed ? CHA_ST.OFF : i < -0.5 ? CHA_ST.CHARGING : i > 0.5 ? CHA_ST.DISCHARGING
        : soc >= 99.5 ? CHA_ST.FULL : soc <= 0.5 ? CHA_ST.EMPTY : CHA_ST.HOLDING;
      return {
        points: {
          AHRtg: fit(pack.ratedAh, sf.AHRtg, 'uint16'),
          WHRtg: fit(pack.ratedWh, sf.WHRtg, 'uint16'),
          WChaRteMax: fit(pack.chargeLimitA * v, sf.W, 'uint16'),
          WDisChaRteMax: fit(pack.dischargeLimitA * v, sf.W, 'uint16'),
          SoCMax: prof.socMaxPct,
          SoCMin: prof.socMinPct,
          SoC: fit(soc, sf.SoC, 'uint16'),
          DoD: fit(100 - soc, sf.SoC, 'uint16'),
          SoH: fit(pack.soh, sf.SoC, 'uint16'),
          NCyc: Math.floor(pack.cycles),
          ChaSt: chaSt,
          LocRemCtl: 0,
          Hb: Math.floor((site.simTimeMs - startMs) / 1000) % 65535,
          CtrlHb: ctrlHb,
          AlmRst: 0,
          Typ: 4,
          State: tripped ? BAT_STATE.FAULT : pack.contactorClosed ? BAT_STATE.CONNECTED : BAT_STATE.DISCONNECTED,
          Evt1: pack.evt1,
          Evt2: 0,
          EvtVnd1: 0,
          EvtVnd2: 0,
          V: fit(v, sf.V, 'uint16'),
          VMax: fit(vMaxPack, sf.V, 'uint16'),
          VMin: fit(prof.cellVoltageMinV * n, sf.V, 'uint16'),
          CellVMax: fit(vMax, sf.CellV, 'uint16'),
          CellVMaxStr: 1,
          CellVMaxMod: Math.floor(iMax / perModule) + 1,
          CellVMin: fit(vMin, sf.CellV, 'uint16'),
          CellVMinStr: 1,
          CellVMinMod: Math.floor(iMin / perModule) + 1,
          CellVAvg: fit(vs.reduce((a, b) => a + b, 0) / n, sf.CellV, 'uint16'),
          A: fit(i, sf.A, 'int16'),
          AChaMax: fit(pack.chargeLimitA, sf.A, 'uint16'),
          ADisChaMax: fit(pack.dischargeLimitA, sf.A, 'uint16'),
          W: fit(pack.power, sf.W, 'int16'),
          SetOp: pack.manuallyOpen ? 2 : 1,
          SetInvState: 3,
          AHRtg_SF: sf.AHRtg,
          WHRtg_SF: sf.WHRtg,
          WChaDisChaMax_SF: sf.W,
          SoC_SF: sf.SoC,
          DoD_SF: sf.SoC,
          SoH_SF: sf.SoC,
          V_SF: sf.V,
          CellV_SF: sf.CellV,
          A_SF: sf.A,
          AMax_SF: sf.A,
          W_SF: sf.W,
        },
      };
    },
  };

  const moduleSpecs: ModelSpec[] = Array.from({ length: modules }, (_, m) => ({
    def: model(805),
    values: () => {
      const all = pack.cellStates();
      const cells = all.slice(m * perModule, (m + 1) * perModule);
      const vs = cells.map((c) => c.voltage);
      const ts = cells.map((c) => c.temp);
      const vMax = Math.max(...vs);
      const vMin = Math.min(...vs);
      const tMax = Math.max(...ts);
      const tMin = Math.min(...ts);
      const socs = cells.map((c) => Math.min(100, Math.max(0, c.soc * 100)));
      return {
        points: {
          StrIdx: 1,
          ModIdx: m + 1,
          NCell: perModule,
          SoC: fit(socs.reduce((a, b) => a + b, 0) / perModule, sf.SoC, 'uint16'),
          V: fit(vs.reduce((a, b) => a + b, 0), sf.ModV, 'uint16'),
          CellVMax: fit(vMax, sf.CellV, 'uint16'),
          CellVMaxCell: vs.indexOf(vMax) + 1,
          CellVMin: fit(vMin, sf.CellV, 'uint16'),
          CellVMinCell: vs.indexOf(vMin) + 1,
          CellVAvg: fit(vs.reduce((a, b) => a + b, 0) / perModule, sf.CellV, 'uint16'),
          CellTmpMax: fit(tMax, sf.Tmp, 'int16'),
          CellTmpMaxCell: ts.indexOf(tMax) + 1,
          CellTmpMin: fit(tMin, sf.Tmp, 'int16'),
          CellTmpMinCell: ts.indexOf(tMin) + 1,
          CellTmpAvg: fit(ts.reduce((a, b) => a + b, 0) / perModule, sf.Tmp, 'int16'),
          NCellBal: 0,
          SoC_SF: sf.SoC,
          V_SF: sf.ModV,
          CellV_SF: sf.CellV,
          Tmp_SF: sf.Tmp,
        },
        groups: {
          'lithium-ion-module-cell': cells.map((c) => ({
            points: { CellV: fit(c.voltage, sf.CellV, 'uint16'), CellTmp: fit(c.temp, sf.Tmp, 'int16'), CellSt: 0 },
          })),
        },
      };
    },
  }));

  const storage: ModelSpec = {
    def: model(713),
    values: () => {
      const alarms = pack.alarmSymbols();
      return {
        points: {
          WHRtg: fit(pack.ratedWh, sf.WHRtg, 'uint16'),
          WHAvail: fit((pack.soc / 100) * pack.ratedWh * (pack.soh / 100), sf.WHRtg, 'uint16'),
          SoC: fit(pack.soc, sf.SoC, 'uint16'),
          SoH: fit(pack.soh, sf.SoC, 'uint16'),
          Sta: alarms.some((a) => TRIP.includes(a)) ? 2 : alarms.length ? 1 : 0,
          WH_SF: sf.WHRtg,
          Pct_SF: sf.SoC,
        },
      };
    },
  };
  const md = `LFP-BAT-${n}S-${pack.ratedAh}AH`;
  return [common(1, md, cm, site.config.kind), bms, ...moduleSpecs, storage];
}

function pcsUnit(site: Site, info: DeviceInfo): ModelSpec[] {
  const pcs = site.pcs;
  const cfg = pcs.config;
  const rated = cfg.ratedW;
  const vLL = cfg.voltageLN * Math.sqrt(3);
  const ratedA = rated / (cfg.voltageLN * cfg.phases);
  const sf = {
    W: scaleFactorFor(rated * 1.2, 'int16', 0),
    V: -1,
    A: scaleFactorFor(ratedA * 1.5, 'int16', -2),
    Hz: -2,
    PF: -2,
    TotWh: 0,
    Tmp: -1,
    WSet: 0,
    WSetPct: -1,
  };

  const ac: ModelSpec = {
    def: model(701),
    values: () => {
      const w = pcs.acPower;
      const grid = site.gridConnected;
      // The PCS measures its own terminals: the grid, the island it forms, or a dark bus.
      const bus = site.busVoltage();
      const energised = bus.voltage > 0;
      const perPhase = w / cfg.phases;
      const aPhase = energised ? perPhase / cfg.voltageLN : 0;
      const vLN = bus.voltage;
      const collapsed = site.islandCollapsed;
      // GRID_DISCONNECT is the anti-islanding trip; an intentional island (IEEE 1547.4) is a normal
      // operating state, not an alarm.
      const alrm = bit(!grid && site.islandState() !== 'ISLANDED', 4) + bit(!site.pack.contactorClosed, 3) + bit(collapsed, 11) + bit(pcs.fault, 16);
      const phase = (k: number): Record<string, number | null> => (k < cfg.phases ? {
        [`WL${k + 1}`]: fit(perPhase, sf.W, 'int16'),
        [`VAL${k + 1}`]: fit(Math.abs(perPhase), sf.W, 'int16'),
        [`VarL${k + 1}`]: 0,
        [`PFL${k + 1}`]: 1,
        [`AL${k + 1}`]: fit(aPhase, sf.A, 'int16'),
        [`VL${k + 1}`]: fit(vLN, sf.V, 'uint16'),
      } : {});
      return {
        points: {
          ACType: cfg.phases === 3 ? 2 : 0,
          St: pcs.fault ? 0 : 1,
          InvSt: ['OFF', 'SLEEPING', 'STARTING', 'RUNNING', 'THROTTLED', 'SHUTTING_DOWN', 'FAULT', 'STANDBY'].indexOf(pcs.state),
          ConnSt: grid ? 1 : 0,
          Alrm: alrm,
          // DERMode bits: GRID_FOLLOWING (0) or GRID_FORMING (1), as the PCS operates now.
          DERMode: site.islandState() === 'ISLANDED' ? 2 : 1,
          W: fit(w, sf.W, 'int16'),
          VA: fit(Math.abs(w), sf.W, 'int16'),
          Var: 0,
          PF: 1,
          A: fit(aPhase * cfg.phases, sf.A, 'int16'),
          LLV: cfg.phases === 3 ? fit(energised ? vLL : 0, sf.V, 'uint16') : null,
          LNV: fit(vLN, sf.V, 'uint16'),
          Hz: fit(bus.frequency, sf.Hz, 'uint32'),
          TotWhInj: Math.floor(pcs.energyInjectedWh),
          TotWhAbs: Math.floor(pcs.energyAbsorbedWh),
          TmpAmb: fit(site.pack.ambientC, sf.Tmp, 'int16'),
          // Cabinet: ambient plus a rise proportional to the conversion loss (about 15 K at full power).
          TmpCab: fit(site.pack.ambientC + (15 * pcs.lossW(w)) / Math.max(1, pcs.lossW(rated)), sf.Tmp, 'int16'),
          ...phase(0),
          ...phase(1),
          ...phase(2),
          A_SF: sf.A,
          V_SF: sf.V,
          Hz_SF: sf.Hz,
          W_SF: sf.W,
          PF_SF: sf.PF,
          VA_SF: sf.W,
          Var_SF: sf.W,
          TotWh_SF: sf.TotWh,
          Tmp_SF: sf.Tmp,
        },
      };
    },
  };

  const capacity: ModelSpec = {
    def: model(702),
    writable: new Set(['WMax', 'WChaRteMax', 'WDisChaRteMax']),
    write: (pts) => {
      const changes: Partial<PcsControls> = {};
      for (const [name, key] of [['WMax', 'wMax'], ['WChaRteMax', 'wChaRteMax'], ['WDisChaRteMax', 'wDisChaRteMax']] as const) {
        const v = pts[name];
        if (v === undefined) continue;
        if (v < 0 || v > rated) throw illegalValue(`${name}: ${v} W is outside 0..${rated} W (the rating)`);
        changes[key] = v;
      }
      pcs.write(changes);
    },
    values: () => ({
      points: {
        WMaxRtg: rated,
        VAMaxRtg: rated,
        WChaRteMaxRtg: rated,
        WDisChaRteMaxRtg: rated,
        VAChaRteMaxRtg: rated,
        VADisChaRteMaxRtg: rated,
        VNomRtg: cfg.voltageLN,
        VMaxRtg: cfg.voltageLN * 1.1,
        VMinRtg: cfg.voltageLN * 0.9,
        AMaxRtg: fit(ratedA * 1.1, sf.A, 'uint16'),
        CtrlModes: 0b11, // MAX_W and FIXED_W
        IntIslandCatRtg: 0b110, // INT_ISL_CAPABLE and BLACK_START_CAPABLE (bits 1, 2)
        IntIslandCat: 0b110,
        WMax: pcs.controls.wMax,
        WChaRteMax: pcs.controls.wChaRteMax,
        WDisChaRteMax: pcs.controls.wDisChaRteMax,
        VAMax: rated,
        VNom: cfg.voltageLN,
        VMax: cfg.voltageLN * 1.1,
        VMin: cfg.voltageLN * 0.9,
        AMax: fit(ratedA * 1.1, sf.A, 'uint16'),
        W_SF: sf.W,
        VA_SF: sf.W,
        V_SF: sf.V,
        A_SF: sf.A,
      },
    }),
  };

  const controls: ModelSpec = {
    def: model(704),
    writable: new Set(['WSetEna', 'WSetMod', 'WSet', 'WSetRvrt', 'WSetPct', 'WSetPctRvrt', 'WSetEnaRvrt', 'WSetRvrtTms', 'WRmp']),
    write: (pts) => {
      const changes: Partial<PcsControls> = {};
      const has = (k: string): k is keyof typeof pts => k in pts;
      if (has('WSetEna')) changes.wSetEna = pts.WSetEna === 1;
      if (has('WSetMod')) changes.wSetMod = pts.WSetMod === 1 ? 'WATTS' : 'W_MAX_PCT';
      if (has('WSet')) changes.wSet = pts.WSet ?? 0;
      if (has('WSetRvrt')) changes.wSetRvrt = pts.WSetRvrt ?? 0;
      for (const name of ['WSetPct', 'WSetPctRvrt'] as const) {
        const v = pts[name];
        if (v !== undefined && Math.abs(v) > 100) throw illegalValue(`${name}: ${v} % is outside -100..100 %`);
      }
      if (has('WSetPct')) changes.wSetPct = pts.WSetPct ?? 0;
      if (has('WSetPctRvrt')) changes.wSetPctRvrt = pts.WSetPctRvrt ?? 0;
      if (has('WSetEnaRvrt')) changes.wSetEnaRvrt = pts.WSetEnaRvrt === 1;
      if (has('WSetRvrtTms')) changes.wSetRvrtTms = pts.WSetRvrtTms ?? 0;
      if (has('WRmp')) changes.wRmp = pts.WRmp ?? 0;
      pcs.write(changes);
    },
    values: () => {
      const c = pcs.controls;
      return {
        points: {
          WSetEna: c.wSetEna ? 1 : 0,
          WSetMod: c.wSetMod === 'WATTS' ? 1 : 0,
          WSet: fit(c.wSet, sf.WSet, 'int32'),
          WSetRvrt: fit(c.wSetRvrt, sf.WSet, 'int32'),
          WSetPct: fit(c.wSetPct, sf.WSetPct, 'int16'),
          WSetPctRvrt: fit(c.wSetPctRvrt, sf.WSetPct, 'int16'),
          WSetEnaRvrt: c.wSetEnaRvrt ? 1 : 0,
          WSetRvrtTms: fit(c.wSetRvrtTms, 0, 'uint32'),
          WSetRvrtRem: Math.ceil(pcs.revertRemainingS),
          WRmp: fit(c.wRmp, 0, 'uint16'),
          WRmpRef: 1, // W_MAX: the ramp is a share of WMax per second
          WSet_SF: sf.WSet,
          WSetPct_SF: sf.WSetPct,
        },
      };
    },
  };
  const enterService: ModelSpec = {
    def: model(ENTER_SERVICE_MODEL),
    writable: new Set(['ES', 'ESVHi', 'ESVLo', 'ESHzHi', 'ESHzLo', 'ESDlyTms', 'ESRndTms', 'ESRmpTms']),
    write: (pts) => {
      const es = site.enterService;
      if ('ES' in pts) es.enabled = pts.ES === 1;
      if (pts.ESVHi !== undefined) es.vHiPct = pts.ESVHi;
      if (pts.ESVLo !== undefined) es.vLoPct = pts.ESVLo;
      if (pts.ESHzHi !== undefined) es.hzHi = pts.ESHzHi;
      if (pts.ESHzLo !== undefined) es.hzLo = pts.ESHzLo;
      if (pts.ESDlyTms !== undefined) es.delayS = pts.ESDlyTms;
      if (pts.ESRndTms !== undefined) es.randomS = pts.ESRndTms;
      if (pts.ESRmpTms !== undefined) es.rampS = pts.ESRmpTms;
    },
    values: () => {
      const es = site.enterService;
      return {
        points: {
          ES: es.enabled ? 1 : 0,
          ESVHi: fit(es.vHiPct, -1, 'uint16'),
          ESVLo: fit(es.vLoPct, -1, 'uint16'),
          ESHzHi: fit(es.hzHi, -2, 'uint32'),
          ESHzLo: fit(es.hzLo, -2, 'uint32'),
          ESDlyTms: Math.round(es.delayS),
          ESRndTms: Math.round(es.randomS),
          ESRmpTms: Math.round(es.rampS),
          ESDlyRemTms: 0,
          V_SF: -1,
          Hz_SF: -2,
        },
      };
    },
  };

  const islandSf = scaleFactorFor(Math.max(site.pcs.config.ratedW, 1.5 * maxProfileW(site)), 'uint16', 0);
  const island: ModelSpec = {
    def: model(ISLAND_MODEL),
    writable: new Set(['GridForm', 'Tie', ...LOAD_GROUPS.map((_, k) => `Brk${k + 1}`)]),
    write: (pts) => {
      site.writeIsland({
        gridForming: pts.GridForm === undefined ? undefined : pts.GridForm === 1,
        tieClosed: pts.Tie === undefined ? undefined : pts.Tie === 1,
        breakers: LOAD_GROUPS.map((_, k) => {
          const v = pts[`Brk${k + 1}`];
          return v === undefined ? undefined : v === 1;
        }),
      });
    },
    values: () => {
      const demand = site.groupDemand();
      return {
        points: {
          GridForm: site.pcs.forming ? 1 : 0,
          Tie: site.tieClosed ? 1 : 0,
          IslSt: ISLAND_STATES.indexOf(site.islandState()),
          NLdGrp: LOAD_GROUPS.length,
          ...Object.fromEntries(LOAD_GROUPS.flatMap((_, k) => [
            [`Brk${k + 1}`, site.breakers[k] ? 1 : 0],
            [`LdW${k + 1}`, fit(demand[k] ?? 0, islandSf, 'uint16')],
          ])),
          W_SF: islandSf,
        },
      };
    },
  };

  const md = `LFP-PCS-${Math.round(rated / 1000)}K`;
  return [common(2, md, info, site.config.kind), ac, capacity, controls, enterService, island];
}

function maxProfileW(site: Site): number {
  let peak = 0;
  for (const v of site.profile.load.values) peak = Math.max(peak, v);
  return peak;
}

function meterUnit(site: Site, info: DeviceInfo): ModelSpec[] {
  const profile = site.profile;
  let peak = 0;
  for (const v of profile.load.values) peak = Math.max(peak, v);
  for (const v of profile.pv.values) peak = Math.max(peak, v);
  const maxW = 1.5 * (peak + site.pcs.config.ratedW);
  const vLN = 230;
  const sf = {
    W: scaleFactorFor(maxW, 'int16', 0),
    A: scaleFactorFor(maxW / vLN, 'int16', -2),
    V: -1,
    Hz: -2,
    PF: 0,
    TotWh: 0,
  };
  const meter: ModelSpec = {
    def: model(203),
    values: () => {
      // The meter sits on the grid side of the tie: it sees the utility whether or not the tie is closed.
      const grid = site.gridPresent;
      const w = site.gridW;
      const v = grid ? vLN : 0;
      const vv = grid ? vLN * Math.sqrt(3) : 0;
      const aPh = grid ? w / 3 / vLN : 0;
      return {
        points: {
          A: fit(aPh * 3, sf.A, 'int16'),
          AphA: fit(aPh, sf.A, 'int16'),
          AphB: fit(aPh, sf.A, 'int16'),
          AphC: fit(aPh, sf.A, 'int16'),
          PhV: fit(v, sf.V, 'int16'),
          PhVphA: fit(v, sf.V, 'int16'),
          PhVphB: fit(v, sf.V, 'int16'),
          PhVphC: fit(v, sf.V, 'int16'),
          PPV: fit(vv, sf.V, 'int16'),
          PhVphAB: fit(vv, sf.V, 'int16'),
          PhVphBC: fit(vv, sf.V, 'int16'),
          PhVphCA: fit(vv, sf.V, 'int16'),
          Hz: grid ? 50 : 0,
          W: fit(w, sf.W, 'int16'),
          WphA: fit(w / 3, sf.W, 'int16'),
          WphB: fit(w / 3, sf.W, 'int16'),
          WphC: fit(w / 3, sf.W, 'int16'),
          VA: fit(Math.abs(w), sf.W, 'int16'),
          VAR: 0,
          PF: 100,
          TotWhExp: Math.floor(site.energyExportWh) % 4294967295,
          TotWhImp: Math.floor(site.energyImportWh) % 4294967295,
          // Power failure and under-voltage when the grid is lost.
          Evt: bit(!grid, 2) + bit(!grid, 3),
          A_SF: sf.A,
          V_SF: sf.V,
          Hz_SF: sf.Hz,
          W_SF: sf.W,
          VA_SF: sf.W,
          VAR_SF: sf.W,
          PF_SF: sf.PF,
          TotWh_SF: sf.TotWh,
        },
      };
    },
  };
  return [common(3, 'LFP-METER-3P', info, site.config.kind), meter];
}

export const UNIT = { BATTERY: 1, PCS: 2, METER: 3 } as const;

/** The three Modbus units of a site, by unit id. */
export function siteImages(site: Site, info: DeviceInfo): Map<number, SunSpecImage> {
  return new Map([
    [UNIT.BATTERY, new SunSpecImage(batteryUnit(site, info))],
    [UNIT.PCS, new SunSpecImage(pcsUnit(site, info))],
    [UNIT.METER, new SunSpecImage(meterUnit(site, info))],
  ]);
}
