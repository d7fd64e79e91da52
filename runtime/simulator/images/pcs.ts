// Unit 2 of the simulated site, the PCS: AC measurements (701), capacity (702), active-power
// controls (704), enter service (703) and the vendor islanding model 64900, filled from the PCS and
// the site; writes of the limits, controls, enter-service settings and islanding controls go to them.
import { ENTER_SERVICE_MODEL, ISLAND_MODEL, ISLAND_STATES, LOAD_GROUPS } from '../../../domain/black-start/island-models';
import type { PcsControls } from '../pcs';
import type { Site } from '../site';
import { commonModel, type DeviceInfo } from './common-model';
import { builtInModel, illegalValue, type ModelSpec } from './image';
import { bit, fit, scaleFactorFor } from './point-encoding';

/** Unit 2's models in chain order: 703 and 64900 after 704, so that 701/702/704 keep their addresses. */
export function pcsModels(site: Site, info: DeviceInfo): ModelSpec[] {
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
    def: builtInModel(701),
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
    def: builtInModel(702),
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
    def: builtInModel(704),
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
    def: builtInModel(ENTER_SERVICE_MODEL),
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

  const islandSf = scaleFactorFor(Math.max(site.pcs.config.ratedW, 1.5 * site.profile.load.peak), 'uint16', 0);
  const island: ModelSpec = {
    def: builtInModel(ISLAND_MODEL),
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
  return [commonModel(2, md, info, site.config.kind), ac, capacity, controls, enterService, island];
}
