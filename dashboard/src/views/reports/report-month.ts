// Which months the report page offers and what it calls the files: pure, for the page and its tests.
// Months are UTC calendar months, as the API computes them (domain/reports/month.ts).
import { monthBounds, monthOf, monthText, parseMonth, previousMonth, type ReportMonth } from '../../../../domain/reports/month';

export type ReportFormat = 'csv' | 'pdf';

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function monthLabel(m: ReportMonth): string {
  return `${MONTH_NAMES[m.month - 1] ?? '?'} ${m.year}`;
}

/** The month a report opens on: the last complete one. */
export function defaultMonth(now: number): string {
  return monthText(previousMonth(monthOf(now)));
}

/** The month in the address when it names a month that has begun, else null. */
export function validMonth(text: string | undefined, now: number): string | null {
  const m = text ? parseMonth(text) : null;
  return m && monthBounds(m).from <= now ? monthText(m) : null;
}

/** The current month and the `count - 1` before it, newest first; the current one is marked as running. */
export function monthChoices(now: number, count = 24): { value: string; label: string }[] {
  const out: { value: string; label: string }[] = [];
  let m = monthOf(now);
  for (let i = 0; i < count; i++) {
    out.push({ value: monthText(m), label: `${monthLabel(m)}${i === 0 ? ' (so far)' : ''}` });
    m = previousMonth(m);
  }
  return out;
}

export function reportFileName(siteId: string, month: string, format: ReportFormat): string {
  return `report-${siteId}-${month}.${format}`;
}
