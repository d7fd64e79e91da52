// The price-feed node's configuration, as the editor stores it.
import { z } from 'zod';
import { PRICE_UNITS } from '../../domain/arbitrage/prices';

export const PriceFeedConfigSchema = z
  .object({
    mode: z.enum(['file', 'http', 'msg']).default('msg'),
    /** file mode: an absolute path, or a name in the package's data/ folder. */
    path: z.string().max(1024).default(''),
    /** http mode: a URL returning JSON. */
    url: z.string().max(2048).default(''),
    unit: z.enum(PRICE_UNITS).default('EUR/MWh'),
    stepMinutes: z.coerce.number().pipe(z.union([z.literal(15), z.literal(60)])).default(60),
    /** Origin of a Modelica table's seconds (the 2012 files count from 2012-01-01 00:00). */
    origin: z.string().max(64).default('2012-01-01T00:00:00Z'),
    /**
     * Start of the window taken from a file or feed, ISO 8601; '' = its first price; 'same-day' =
     * today's calendar day in the data's year, wrapped into the data's span (domain replayStart).
     */
    from: z.string().max(64).default(''),
    hours: z.coerce.number().int().min(1).max(336).default(48),
    /** 'today' moves the series by whole days to start today (replaying past prices). */
    align: z.enum(['none', 'today']).default('none'),
    /** File and http modes: load again every this many minutes; 0 = only on deploy and on input. */
    refreshMinutes: z.coerce.number().min(0).max(1440).default(0),
    /** Emit once shortly after deploy (file and http modes). */
    emitOnStart: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true),
  })
  .refine((c) => c.mode !== 'file' || c.path.trim() !== '', { message: 'file mode needs a path', path: ['path'] })
  .refine((c) => c.mode !== 'http' || /^https?:\/\//.test(c.url), { message: 'http mode needs an http(s) URL', path: ['url'] });
export type PriceFeedConfig = z.infer<typeof PriceFeedConfigSchema>;
