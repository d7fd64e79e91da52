// What the anomaly-score node sends per cycle, and the cycle a sample belongs to.
import { z } from 'zod';
import { FEATURE_NAMES } from './cycle-features';

export const AnomalyScoreSchema = z.object({
  siteId: z.string().min(1),
  /** The cycle (one site-local day) scored: [start, end), ms UTC. */
  cycleStart: z.number(),
  cycleEnd: z.number(),
  /** Isolation-forest score, 0..1 (near 1: isolated in few splits, an anomaly). */
  score: z.number(),
  threshold: z.number(),
  anomalous: z.boolean(),
  /** The cycle's features by name (cycle-features.ts), for the dashboard. */
  features: z.record(z.enum(FEATURE_NAMES), z.number()),
  samples: z.number().int().nonnegative(),
  model: z.string(),
});
export type AnomalyScore = z.infer<typeof AnomalyScoreSchema>;

const DAY_MS = 86_400_000;

/** Index of the site-local day holding `ts` (offsetMs = local time minus UTC). */
export function cycleIndex(ts: number, offsetMs: number): number {
  return Math.floor((ts + offsetMs) / DAY_MS);
}

/** [start, end) of cycle `index`, ms UTC. */
export function cycleBounds(index: number, offsetMs: number): [number, number] {
  return [index * DAY_MS - offsetMs, (index + 1) * DAY_MS - offsetMs];
}
