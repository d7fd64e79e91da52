// The site-settings node's configuration: the site and the physical limits every settings
// document is checked against (defaults: the LiFePO4 SoC window of domain/lfp/limits.ts).
import { z } from 'zod';
import { DEFAULT_SITE_LIMITS, type SiteLimits } from '../../domain/site-settings/settings';
import { optionalNonNegative } from '../kit/config';

const pct = (dflt: number) => z.coerce.number().finite().min(0).max(100).default(dflt);

export const SiteSettingsConfigSchema = z
  .object({
    /** '' = the mqtt-link's site. */
    siteId: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')]).default(''),
    /** The mqtt-link the effective settings are published on (retained); '' = not published. */
    link: z.string().default(''),
    socMinPct: pct(DEFAULT_SITE_LIMITS.socMinPct),
    socMaxPct: pct(DEFAULT_SITE_LIMITS.socMaxPct),
    minWindowPct: pct(DEFAULT_SITE_LIMITS.minWindowPct),
    /** The grid connection, kW; '' = unknown (no check of the peak-shaving threshold). */
    gridConnectionKw: optionalNonNegative,
  })
  .refine((c) => c.socMinPct < c.socMaxPct, { message: 'socMinPct must be below socMaxPct', path: ['socMinPct'] });
export type SiteSettingsConfig = z.infer<typeof SiteSettingsConfigSchema>;

export function limitsOf(c: SiteSettingsConfig): SiteLimits {
  return { socMinPct: c.socMinPct, socMaxPct: c.socMaxPct, minWindowPct: c.minWindowPct, gridConnectionKw: c.gridConnectionKw };
}
