// Financial periods and the CSV export: a range split into days (or weeks), one API summary per
// period, totals, and the same rows as CSV (RFC 4180: comma, CRLF, quotes doubled).
import type { FinancialSummary } from '../../api/types';
import { formatDay } from '../../format';

export interface Period {
  label: string;
  from: number;
  to: number;
}

/** Calendar days (UTC) ending with today, oldest first. */
export function dailyPeriods(days: number, now = Date.now()): Period[] {
  const today = Math.floor(now / 86_400_000) * 86_400_000;
  const out: Period[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const from = today - i * 86_400_000;
    out.push({ label: formatDay(from, { utc: true }), from, to: Math.min(from + 86_400_000, now) });
  }
  return out.filter((p) => p.to > p.from);
}

/** Weeks of 7 days ending now, oldest first. */
export function weeklyPeriods(weeks: number, now = Date.now()): Period[] {
  const out: Period[] = [];
  for (let i = weeks - 1; i >= 0; i--) {
    const to = now - i * 7 * 86_400_000;
    const from = to - 7 * 86_400_000;
    out.push({ label: `${formatDay(from, { utc: true })} – ${formatDay(to, { utc: true })}`, from, to });
  }
  return out;
}

export type FinancialRow = Period & { summary: FinancialSummary | null; error: string | null };

/**
 * Whether any telemetry fell in the period: a day before the site existed (or one it was silent
 * all day) has no figures, which is not the same as earning €0.00.
 */
export function hasData(row: FinancialRow): row is FinancialRow & { summary: FinancialSummary } {
  return row.summary !== null && row.summary.coveragePct > 0;
}

const SUM_KEYS = ['dischargedWh', 'chargedWh', 'revenueEur', 'costEur', 'arbitrageEur', 'fullCycles', 'throughputKwh', 'degradationCostEur', 'netEur', 'unpricedWh'] as const;

export function totals(rows: readonly FinancialRow[]): Record<(typeof SUM_KEYS)[number], number> {
  const t = Object.fromEntries(SUM_KEYS.map((k) => [k, 0])) as Record<(typeof SUM_KEYS)[number], number>;
  for (const r of rows) if (r.summary) for (const k of SUM_KEYS) t[k] += r.summary[k];
  return t;
}

function cell(v: string | number | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? String(Math.round(v * 10000) / 10000) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_COLUMNS = [
  'site', 'period', 'from', 'to', 'discharged_kWh', 'charged_kWh', 'revenue_EUR', 'cost_EUR', 'arbitrage_EUR', 'full_cycles',
  'throughput_kWh', 'degradation_EUR_per_kWh', 'degradation_cost_EUR', 'net_EUR', 'unpriced_kWh', 'coverage_pct',
] as const;

export function toCsv(siteId: string, rows: readonly FinancialRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const s = hasData(r) ? r.summary : null;
    lines.push(
      [
        siteId, r.label, new Date(r.from).toISOString(), new Date(r.to).toISOString(),
        s ? s.dischargedWh / 1000 : null, s ? s.chargedWh / 1000 : null, s?.revenueEur ?? null, s?.costEur ?? null, s?.arbitrageEur ?? null,
        s?.fullCycles ?? null, s?.throughputKwh ?? null, s?.degradationEurPerKwh ?? null, s?.degradationCostEur ?? null, s?.netEur ?? null,
        s ? s.unpricedWh / 1000 : null, r.summary?.coveragePct ?? null,
      ].map(cell).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
