// Request schemas of the OTA routes (routes.ts lists the routes).
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';
import { VersionSchema } from '../ota/manifest';
import { DeploymentIdSchema } from '../ota/messages';

export const DeploymentParams = z.strictObject({ id: DeploymentIdSchema });

export const CreateDeploymentBody = z.strictObject({
  version: VersionSchema,
  siteIds: z.array(SiteIdSchema).min(1).max(100_000),
  /** Cumulative % per stage, ascending, ending at 100 (default 5, 25, 50, 100). */
  stages: z.array(z.number().min(0.1).max(100)).min(1).max(10).optional(),
  /** Minimum duration of each stage, hours (default 24; 0 = advance as soon as the share is reached). */
  stageHours: z.number().min(0).max(720).optional(),
  successShare: z.number().min(0).max(1).optional(),
  failureShare: z.number().min(0).max(1).optional(),
  minSites: z.number().int().min(1).max(100_000).optional(),
  /** Notice to final report, after which a silent site counts as failed, minutes (default 35). */
  silentMinutes: z.number().min(1).max(10_080).optional(),
});

export const PauseBody = z.strictObject({ reason: z.string().trim().min(1).max(200).optional() });
export const EmptyBody = z.strictObject({});

export const CreateClaimBody = z.strictObject({
  siteId: SiteIdSchema,
  /** The organisation the site belongs to once a device is provisioned with the claim (default: the site's, else the default one). */
  orgId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').optional(),
  /** Validity of the claim token, hours (default 72). */
  ttlHours: z.number().min(0.01).max(24 * 90).optional(),
});

export const AllowSerialsBody = z.strictObject({
  serials: z.array(z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, . _ : - (at most 128)')).min(1).max(10_000),
  note: z.string().trim().max(200).optional(),
});

/** Validated by the provisioning service itself (it answers its own 400/403/409). */
export const ProvisionBody = z.looseObject({});

export const RevokeSiteBody = z.strictObject({ reason: z.string().trim().min(1).max(200).optional() });
