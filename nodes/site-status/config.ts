// site-status configuration and the editor API's request bodies, parsed with zod.
import { z } from 'zod';
import { siteIdField } from '../kit/config';

export const SiteStatusConfigSchema = z.object({
  siteId: siteIdField.default('site-1'),
  /** Editor updates per second: the sidebar is for people, 1-2 Hz is plenty and keeps comms quiet. */
  rateHz: z.coerce.number().min(0.2).max(2).default(2),
});
export type SiteStatusConfig = z.infer<typeof SiteStatusConfigSchema>;

export const AlarmAckSchema = z.object({
  source: z.string().min(1).max(128),
  code: z.string().min(1).max(64),
}).strict();

/** The retained comms topic of one site; the sidebar subscribes to lifo4/site/#. */
export const siteCommsTopic = (siteId: string): string => `lifo4/site/${siteId}`;
