// The OTA messages on MQTT. The cloud publishes a notice on lifo4/<siteId>/ota (topics.ota, QoS 1);
// the edge agent reports every step on lifo4/<siteId>/ota/status (QoS 1). A notice is idempotent by
// deploymentId: a repeated one is answered with the outcome already reached.
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';
import { TOPIC_ROOT } from '../../domain/topics';
import { VersionSchema } from './manifest';

/** Suffix under lifo4/<siteId>/ of the agent's reports; runtime/broker/acl.ts SITE_PUBLISH lists it. */
export const OTA_STATUS_SUFFIX = 'ota/status';

export function otaStatusTopic(siteId: string): string {
  return `${TOPIC_ROOT}/${siteId}/${OTA_STATUS_SUFFIX}`;
}
export const OTA_STATUS_FILTER = `${TOPIC_ROOT}/+/${OTA_STATUS_SUFFIX}`;

export const DeploymentIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)');

export const OtaNoticeSchema = z.strictObject({
  v: z.literal(1),
  deploymentId: DeploymentIdSchema,
  siteId: SiteIdSchema,
  version: VersionSchema,
  sequence: z.number().int().min(1),
  /** Base URL of the bundle: <url>/manifest.json, /manifest.sig, /payload.tar.gz. */
  url: z.url({ protocol: /^https?$/ }),
  issuedAt: z.number().int(),
});
export type OtaNotice = z.infer<typeof OtaNoticeSchema>;

export const OTA_PHASES = [
  'received', 'downloading', 'verified', 'installed', 'switching', 'health-check',
  'committed', 'rolled-back', 'refused', 'failed', 'running',
] as const;
export type OtaPhase = (typeof OTA_PHASES)[number];
/** Phases that end a deployment at a site. */
export const FINAL_PHASES: ReadonlySet<OtaPhase> = new Set(['committed', 'rolled-back', 'refused', 'failed']);

export const OtaStatusSchema = z.strictObject({
  v: z.literal(1),
  siteId: SiteIdSchema,
  /** Absent on the 'running' report the agent sends when it (re)connects. */
  deploymentId: DeploymentIdSchema.optional(),
  version: VersionSchema.optional(),
  phase: z.enum(OTA_PHASES),
  reason: z.string().max(500).optional(),
  /** The release `current` points at, null before the first install. */
  running: VersionSchema.nullable(),
  ts: z.number().int(),
});
export type OtaStatus = z.infer<typeof OtaStatusSchema>;
