// Request schemas of the /ml routes (routes.ts lists the routes).
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';

const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const intText = (min: number, max: number) => z.string().regex(/^\d{1,12}$/, 'a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** A calendar date that exists (2024-02-30 does not), as its UTC midnight in ms. */
export const DaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD')
  .refine((s) => {
    const ms = Date.parse(`${s}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === s;
  }, 'no such date')
  .transform((s) => Date.parse(`${s}T00:00:00Z`));

export const MlForecastQuery = z.strictObject({
  /** The site-local day; default today's. */
  day: DaySchema.optional(),
});

export const MlPeriodQuery = z
  .strictObject({
    from: isoTime.optional(),
    to: isoTime.optional(),
    limit: intText(1, 10_000).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.to > q.from, { message: 'to must be after from', path: ['to'] });

export const MlModelsQuery = z.strictObject({
  siteId: SiteIdSchema.optional(),
  limit: intText(1, 1000).optional(),
});
