// Unit 1 of the simulated site, the battery: its BMS (SunSpec 802), one 805 per module of cells
// and the storage summary 713, filled from the battery pack; the BMS takes SetOp (open or close the
// contactor), CtrlHb and AlmRst.
import { cellReadings } from '../battery-pack';
import type { Site } from '../site';
import { commonModel, type DeviceInfo } from './common-model';
import { builtInModel, type ModelSpec } from './image';
import { fit, scaleFactorFor } from './point-encoding';

const CHA_ST = { OFF: 1, EMPTY: 2, DISCHARGING: 3, CHARGING: 4, FULL: 5, HOLDING: 6 } as const;
const BAT_STATE = { DISCONNECTED: 1, CONNECTED: 3, FAULT: 99 } as const;

/** Unit 1's models in chain order. */
export function batteryModels(site: Site, info: DeviceInfo): ModelSpec[] {
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

  const bms: ModelSpec = {
    def: builtInModel(802),
    writable: new Set(['AlmRst', 'CtrlHb', 'SetOp']),
    write: (pts) => {
      if ('SetOp' in pts) pack.setOperation(pts.SetOp === 1);
      if ('CtrlHb' in pts) ctrlHb = pts.CtrlHb ?? 0;
      if ('AlmRst' in pts && pts.AlmRst !== 0) pack.resetAlarms();
    },
    values: () => {
      const { voltages: vs, vMax, vMin } = cellReadings(pack.cellStates());
      const iMax = vs.indexOf(vMax);
      const iMin = vs.indexOf(vMin);
      const tripped = pack.hasTripAlarm();
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
    def: builtInModel(805),
    values: () => {
      const all = pack.cellStates();
      const cells = all.slice(m * perModule, (m + 1) * perModule);
      const { voltages: vs, temps: ts, vMax, vMin, tMax, tMin } = cellReadings(cells);
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
    def: builtInModel(713),
    values: () => {
      const alarms = pack.alarmSymbols();
      return {
        points: {
          WHRtg: fit(pack.ratedWh, sf.WHRtg, 'uint16'),
          WHAvail: fit((pack.soc / 100) * pack.ratedWh * (pack.soh / 100), sf.WHRtg, 'uint16'),
          SoC: fit(pack.soc, sf.SoC, 'uint16'),
          SoH: fit(pack.soh, sf.SoC, 'uint16'),
          Sta: pack.hasTripAlarm() ? 2 : alarms.length ? 1 : 0,
          WH_SF: sf.WHRtg,
          Pct_SF: sf.SoC,
        },
      };
    },
  };
  const md = `LFP-BAT-${n}S-${pack.ratedAh}AH`;
  return [commonModel(1, md, info, site.config.kind), bms, ...moduleSpecs, storage];
}
