// What timeseries-out sends after each write, and telemetry-in reads to acknowledge: per site the
// seq ranges committed to the store ('stored': acknowledge them to the edge) or refused by it
// ('refused': the store's queue was full or it was closed; the edge keeps them and sends them again).
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';

const seq = z.number().int().positive();

export const StoredSiteSchema = z.object({
  siteId: SiteIdSchema,
  ranges: z.array(z.tuple([seq, seq])).min(1),
  /** The highest seq in ranges. */
  seq,
});
export type StoredSite = z.infer<typeof StoredSiteSchema>;

export const StoreOutcomeMessageSchema = z.object({
  topic: z.enum(['stored', 'refused']),
  payload: z.array(StoredSiteSchema),
});
export type StoreOutcomeMessage = z.infer<typeof StoreOutcomeMessageSchema>;
