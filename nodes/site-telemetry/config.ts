// site-telemetry configuration, parsed with zod.
import { z } from 'zod';
import { siteIdField } from '../kit/config';

export const SiteTelemetryConfigSchema = z.object({
  siteId: siteIdField.default('site-1'),
});
export type SiteTelemetryConfig = z.infer<typeof SiteTelemetryConfigSchema>;
