// The simulated site's three Modbus units, each a SunSpec register image:
//   unit 1 battery: 1, 802, 805 (one per module of cells), 713
//   unit 2 PCS:     1, 701, 702, 704, 703, 64900 (703 and the vendor islanding model after 704, so
//                   the addresses of 701/702/704 stay where they were)
//   unit 3 meter:   1, 203
// A battery variant serves less, as many real BMSs do (BATTERY_VARIANTS): the tests and
// `lifo4 sim --battery VARIANT` check that the controller copes with what is missing.
import type { Site } from '../site';
import { batteryModels } from './battery';
import type { BatteryVariant } from '../../../settings';
import type { ModelSpec } from './image';
import type { DeviceInfo } from './common-model';
import { SunSpecImage } from './image';
import { meterModels } from './meter';
import { pcsModels } from './pcs';
import { modelValuesOf, withVendorMaps } from './vendor-map';
import type { Profile } from '../../../domain/sunspec/profile';
import type { RegisterBank } from '../modbus/register-bank';

export type { DeviceInfo } from './common-model';

export const UNIT = { BATTERY: 1, PCS: 2, METER: 3 } as const;

/**
 * What the simulated BMS serves (BATTERY_VARIANTS in settings.ts): 'full' (1, 802, 805 per module,
 * 713); 'no-805' (1, 802, 713: no cell temperatures nor per-cell voltages); '802-only' (1, 802);
 * 'no-soc' (the full chain with SoC not implemented in 802 and 713: a battery the loop cannot use).
 */
export type { BatteryVariant } from '../../../settings';

function batteryVariant(models: ModelSpec[], variant: BatteryVariant): ModelSpec[] {
  switch (variant) {
    case 'full': return models;
    case 'no-805': return models.filter((m) => m.def.id !== 805);
    case '802-only': return models.filter((m) => m.def.id === 1 || m.def.id === 802);
    case 'no-soc': return models.map((m) => (m.def.id === 802 || m.def.id === 713 ? withoutPoints(m, ['SoC']) : m));
  }
}

/** A model whose `names` points read as "not implemented". */
function withoutPoints(spec: ModelSpec, names: readonly string[]): ModelSpec {
  return {
    ...spec,
    values: () => {
      const v = spec.values();
      const points = { ...v.points };
      for (const name of names) delete points[name];
      return { ...v, points };
    },
  };
}

/** The three Modbus units of a site, by unit id. */
export function siteImages(site: Site, info: DeviceInfo, battery: BatteryVariant = 'full'): Map<number, SunSpecImage> {
  return new Map([
    [UNIT.BATTERY, new SunSpecImage(batteryVariant(batteryModels(site, info), battery))],
    [UNIT.PCS, new SunSpecImage(pcsModels(site, info))],
    [UNIT.METER, new SunSpecImage(meterModels(site, info))],
  ]);
}

/**
 * The site's units as served: the SunSpec images, and with `profiles` (a library family, e.g.
 * victron-gx) their vendor maps too, on the units the profiles name (beside SunSpec on a shared unit).
 */
export function servedUnits(site: Site, info: DeviceInfo, images: ReadonlyMap<number, SunSpecImage>, profiles: readonly Profile[]): Map<number, RegisterBank> {
  if (profiles.length === 0) return new Map(images);
  const values = modelValuesOf([...batteryModels(site, info), ...pcsModels(site, info), ...meterModels(site, info)]);
  return withVendorMaps(images, profiles, { values, pcs: site.pcs });
}
