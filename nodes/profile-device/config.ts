// The profile-device node's configuration, as the editor stores it (docs: profile-device.html).
import { z } from 'zod';
import { deviceIdField, intervalField, siteIdField, unitIdField } from '../kit/config';

export const ProfileDeviceConfigSchema = z.object({
  name: z.string().default(''),
  connection: z.string().default(''),
  unitId: unitIdField.default(1),
  siteId: siteIdField.default('site-1'),
  deviceId: deviceIdField,
  interval: intervalField.default(1000),
  /** The device profile as JSON text (domain/sunspec/profile.ts). */
  profile: z.string().default(''),
});
export type ProfileDeviceConfig = z.infer<typeof ProfileDeviceConfigSchema>;
