// The zod form of a user's notification rules (domain/notifications/rules.ts), for
// PUT /api/v1/me/notifications and for the rows kept in cloud.db.
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';
import { isTimeZone, parseHhmm } from '../../domain/notifications/quiet-hours';
import { SEVERITIES, type NotificationRules } from '../../domain/notifications/rules';

const hhmm = z.string().refine((s) => parseHhmm(s) !== null, 'a time of day HH:MM (00:00-23:59)');
const code = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an alarm code (capitals, digits and _)');

export const QuietHoursSchema = z
  .strictObject({ start: hhmm, end: hhmm, timeZone: z.string().min(1).max(64).refine(isTimeZone, 'an IANA time zone such as Europe/Berlin') })
  .refine((q) => q.start !== q.end, { message: 'start and end are the same time: no quiet hours (use null)', path: ['end'] });

export const NotificationRulesSchema = z.strictObject({
  email: z.boolean(),
  sites: z.union([z.literal('all'), z.array(SiteIdSchema).max(1000)]),
  severities: z.array(z.enum(SEVERITIES)).max(3).refine((l) => new Set(l).size === l.length, 'each severity once'),
  codes: z.union([z.literal('all'), z.array(code).min(1).max(100)]),
  quietHours: QuietHoursSchema.nullable(),
  // Rules saved before monthly reports could be mailed have no such field: they asked for none.
  monthlyReport: z.boolean().default(false),
}) satisfies z.ZodType<NotificationRules>;
