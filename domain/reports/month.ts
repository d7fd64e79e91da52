// Calendar months of the monthly report, in UTC (sites carry no time zone yet): parsing
// "yyyy-mm", the month's bounds, the month before and after. Free of imports: the dashboard uses it too.

export interface ReportMonth {
  year: number;
  /** 1..12 */
  month: number;
}

const MONTH_TEXT = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** "2026-11" -> { year: 2026, month: 11 }; null for anything else (years 1970..9999). */
export function parseMonth(text: string): ReportMonth | null {
  const m = MONTH_TEXT.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  if (year < 1970) return null;
  return { year, month: Number(m[2]) };
}

export function monthText(m: ReportMonth): string {
  return `${String(m.year).padStart(4, '0')}-${String(m.month).padStart(2, '0')}`;
}

/** The month's [from, to) in ms, UTC. */
export function monthBounds(m: ReportMonth): { from: number; to: number } {
  return { from: Date.UTC(m.year, m.month - 1, 1), to: Date.UTC(m.year, m.month, 1) };
}

export function previousMonth(m: ReportMonth): ReportMonth {
  return m.month === 1 ? { year: m.year - 1, month: 12 } : { year: m.year, month: m.month - 1 };
}

export function monthOf(ms: number): ReportMonth {
  const d = new Date(ms);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1 };
}

export function nextMonth(m: ReportMonth): ReportMonth {
  return m.month === 12 ? { year: m.year + 1, month: 1 } : { year: m.year, month: m.month + 1 };
}
