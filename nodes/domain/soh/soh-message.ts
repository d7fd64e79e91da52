// What the soh-estimate node sends: the pack's state of health now and where it comes from.
import { z } from 'zod';

export const SohEstimateMessageSchema = z.object({
  siteId: z.string().min(1),
  /** Telemetry time of the estimate, ms. */
  ts: z.number(),
  /** Capacity now over rated capacity, %. */
  sohPct: z.number(),
  /** One standard deviation of sohPct, SoH points. */
  sdPct: z.number().nonnegative(),
  /** Usable energy at this SoH: sohPct x the rated energy, Wh. */
  capacityWh: z.number().nonnegative(),
  /** 'measured' once a capacity measurement between two OCV-pinned rests went in, else the ageing model alone. */
  source: z.enum(['measured', 'prior']),
  measurements: z.number().int().nonnegative(),
  /** Equivalent full cycles, and the ageing model's SoH there, %. */
  cycles: z.number().nonnegative(),
  priorPct: z.number(),
});
export type SohEstimateMessage = z.infer<typeof SohEstimateMessageSchema>;
