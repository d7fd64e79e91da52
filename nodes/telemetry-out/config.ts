// telemetry-out's settings as the editor stores them.
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';

export const TelemetryOutConfigSchema = z.object({
  link: z.string().min(1, 'pick an mqtt-link'),
  /** '' = the link's site id. */
  siteId: z.union([z.literal(''), SiteIdSchema]).default(''),
  interval: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  /** Directory of the buffer file, '' = <userDir>/buffer; relative paths are under userDir. */
  dir: z.string().default(''),
  maxRecords: z.coerce.number().int().min(1).max(100_000_000).default(200_000),
  maxAgeS: z.coerce.number().positive().max(366 * 24 * 3600).default(7 * 24 * 3600),
  ackTimeoutS: z.coerce.number().positive().max(3600).default(10),
  drainRatePerS: z.coerce.number().positive().max(1_000_000).default(5000),
  batchSize: z.coerce.number().int().min(1).max(1000).default(500),
  maxInFlight: z.coerce.number().int().min(1).max(1_000_000).default(5000),
});
export type TelemetryOutConfig = z.infer<typeof TelemetryOutConfigSchema>;
