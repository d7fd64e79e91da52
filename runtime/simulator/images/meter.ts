// Unit 3 of the simulated site, the grid meter: SunSpec 203 on the utility side of the tie, read
// only.
import type { Site } from '../site';
import { commonModel, type DeviceInfo } from './common-model';
import { builtInModel, type ModelSpec } from './image';
import { bit, fit, scaleFactorFor } from './point-encoding';

/** Unit 3's models in chain order. */
export function meterModels(site: Site, info: DeviceInfo): ModelSpec[] {
  const profile = site.profile;
  const peak = Math.max(profile.load.peak, profile.pv.peak);
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
    def: builtInModel(203),
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
  return [commonModel(3, 'LFP-METER-3P', info, site.config.kind), meter];
}
