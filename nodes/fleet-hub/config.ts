// The fleet-hub node's configuration.
import { z } from 'zod';

export const FleetHubConfigSchema = z.object({
  name: z.string().default(''),
  /** An mqtt-link to follow the sites' retained plans on lifo4/+/plan; '' = no plans. */
  link: z.string().default(''),
  /** A command with no final ack by then is answered 'timeout' here, s (command-out's own timeout is shorter). */
  commandTimeoutS: z.coerce.number().min(1).max(3600).default(120),
});
export type FleetHubConfig = z.infer<typeof FleetHubConfigSchema>;
