// The sunspec-device node's configuration, as the editor stores it (docs: sunspec-device.html).
import { z } from 'zod';
import { DEVICE_KINDS } from '../domain/contracts';
import { deviceIdField, intervalField, siteIdField, unitIdField } from '../device-io/config';

export interface SunSpecDeviceConfig {
  name: string;
  connection: string;
  unitId: number;
  kind: 'auto' | (typeof DEVICE_KINDS)[number];
  siteId: string;
  deviceId: string;
  interval: number;
  /** 'auto' searches 40000, 0, 50000; a number pins the marker's address. */
  baseAddress: 'auto' | number;
}

export const SunSpecDeviceConfigSchema = z.object({
  name: z.string().default(''),
  connection: z.string().default(''),
  unitId: unitIdField.default(1),
  kind: z.enum(['auto', ...DEVICE_KINDS]).default('auto'),
  siteId: siteIdField.default('site-1'),
  deviceId: deviceIdField,
  interval: intervalField.default(1000),
  baseAddress: z
    .union([z.literal('auto'), z.literal(''), z.coerce.number().int().min(0).max(65533)])
    .default('auto')
    .transform((v) => (v === '' ? 'auto' : v)),
});
