// The simulated site's three Modbus units, each a SunSpec register image:
//   unit 1 battery: 1, 802, 805 (one per module of cells), 713
//   unit 2 PCS:     1, 701, 702, 704, 703, 64900 (703 and the vendor islanding model after 704, so
//                   the addresses of 701/702/704 stay where they were)
//   unit 3 meter:   1, 203
import type { Site } from '../site';
import { batteryModels } from './battery';
import type { DeviceInfo } from './common-model';
import { SunSpecImage } from './image';
import { meterModels } from './meter';
import { pcsModels } from './pcs';
import { modelValuesOf, withVendorMaps } from './vendor-map';
import type { Profile } from '../../../domain/sunspec/profile';
import type { RegisterBank } from '../modbus/register-bank';

export type { DeviceInfo } from './common-model';

export const UNIT = { BATTERY: 1, PCS: 2, METER: 3 } as const;

/** The three Modbus units of a site, by unit id. */
export function siteImages(site: Site, info: DeviceInfo): Map<number, SunSpecImage> {
  return new Map([
    [UNIT.BATTERY, new SunSpecImage(batteryModels(site, info))],
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
