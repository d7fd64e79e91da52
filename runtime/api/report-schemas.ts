// The zod schemas of the monthly report route (routes.ts): the month in the path, the format in the query.
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';
import { parseMonth, type ReportMonth } from '../../domain/reports/monthly';

export const REPORT_FORMATS = ['json', 'csv', 'pdf'] as const;

export const ReportParams = z.strictObject({
  id: SiteIdSchema,
  month: z.string().max(16).transform((s, ctx): ReportMonth => {
    const m = parseMonth(s);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: 'a calendar month as yyyy-mm (1970-01 or later), e.g. 2026-11' });
      return z.NEVER;
    }
    return m;
  }),
});

export const ReportQuery = z.strictObject({
  format: z.enum(REPORT_FORMATS, { message: `one of ${REPORT_FORMATS.join(', ')}` }).default('json'),
});
