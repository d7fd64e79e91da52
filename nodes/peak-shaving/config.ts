// The peak-shaving node's editor configuration: strings from the form (or numbers from flow JSON),
// coerced and bounded here, then mapped onto the pure controller's config in kW -> W.
import { z } from 'zod';
import { PeakShavingConfigSchema, type PeakShavingConfig } from '../../domain/peak-shaving/controller';
import { optionalNonNegative, siteIdField } from '../kit/config';

const bool = z.preprocess((v) => (v === 'false' ? false : v === 'true' ? true : v), z.boolean());

export const PeakShavingNodeConfigSchema = z.object({
  siteId: siteIdField.default('site-1'),
  enabled: bool.default(true),
  /** 'fixed' holds thresholdKw; 'auto' learns it from the load seen (thresholdKw is then a floor). */
  mode: z.enum(['fixed', 'auto']).default('fixed'),
  thresholdKw: z.coerce.number().finite().nonnegative().default(5),
  reserveSocPct: z.coerce.number().min(0).max(100).default(20),
  rechargeMarginKw: z.coerce.number().finite().nonnegative().default(0),
  rechargeToSocPct: z.coerce.number().min(0).max(100).default(95),
  trackMonthPeak: bool.default(true),
  /** A request holds this long, ms: a few meter polls, so a dead node's request lapses quickly. */
  expiryMs: z.coerce.number().int().min(100).max(600_000).default(5000),
  /** Used when the battery does not report them: usable capacity, Wh, and power limit, W. */
  capacityWh: optionalNonNegative,
  maxPowerW: optionalNonNegative,
});
export type PeakShavingNodeConfig = z.infer<typeof PeakShavingNodeConfigSchema>;

export function controllerConfig(c: PeakShavingNodeConfig): PeakShavingConfig {
  return PeakShavingConfigSchema.parse({
    mode: c.mode,
    thresholdW: c.thresholdKw * 1000,
    reserveSocPct: c.reserveSocPct,
    rechargeMarginW: c.rechargeMarginKw * 1000,
    rechargeToSocPct: c.rechargeToSocPct,
    trackMonthPeak: c.trackMonthPeak,
  });
}

/** Switch the node on or off at run time (an inject, the dashboard). */

