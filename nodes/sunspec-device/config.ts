// The sunspec-device node's configuration, as the editor stores it (docs: sunspec-device.html).
import { z } from 'zod';
import { DEVICE_KINDS } from '../../domain/contracts';
import { deviceIdField, siteIdField, unitIdField } from '../kit/config';

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
  /**
   * Poll interval, ms. Down to 10 ms (not the shared 100 ms floor): a fast poll reads only the
   * fast models, and a control loop on a local Modbus TCP link can run a 20 ms cycle.
   */
  interval: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  baseAddress: z
    .union([z.literal('auto'), z.literal(''), z.coerce.number().int().min(0).max(65533)])
    .default('auto')
    .transform((v) => (v === '' ? 'auto' : v)),
});
