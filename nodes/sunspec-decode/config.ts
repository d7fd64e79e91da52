// The sunspec-decode node's configuration, as the editor stores it (docs: sunspec-decode.html).
import { z } from 'zod';
import { DEVICE_KINDS } from '../../domain/contracts';
import { deviceIdField, siteIdField } from '../kit/config';

export const SunSpecDecodeConfigSchema = z.object({
  name: z.string().default(''),
  kind: z.enum(['auto', ...DEVICE_KINDS]).default('auto'),
  siteId: siteIdField.default('site-1'),
  deviceId: deviceIdField,
  /** Address of the block's first register when the message does not say; '' = 0. */
  address: z
    .union([z.literal(''), z.coerce.number().int().min(0).max(65535)])
    .default(40000)
    .transform((v) => (v === '' ? null : v)),
});
export type SunSpecDecodeConfig = z.infer<typeof SunSpecDecodeConfigSchema>;
