import { describe, expect, it } from 'vitest';
import { dailyPeriods, hasData, toCsv, totals, type FinancialRow } from '../../../src/views/financial/periods';
import { formatDay } from '../../../src/format';
import type { FinancialSummary } from '../../../src/api/types';

const summary = (netEur: number): FinancialSummary => ({
  dischargedWh: 2000, chargedWh: 2500, revenueEur: 0.5, costEur: 0.2, arbitrageEur: 0.3, fullCycles: 0.2, throughputKwh: 4.5,
  degradationEurPerKwh: 0.0125, degradationCostEur: 0.05625, netEur, unpricedWh: 0, coveragePct: 100,
});

describe('financial periods', () => {
  it('split a range into UTC days ending with today, the last one up to now', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const days = dailyPeriods(3, now);
    const utcDay = (iso: string) => formatDay(Date.parse(iso), { utc: true });
    expect(days.map((d) => d.label)).toEqual([utcDay('2026-03-08T00:00:00Z'), utcDay('2026-03-09T00:00:00Z'), utcDay('2026-03-10T00:00:00Z')]);
    expect(days.map((d) => d.from)).toEqual([Date.parse('2026-03-08T00:00:00Z'), Date.parse('2026-03-09T00:00:00Z'), Date.parse('2026-03-10T00:00:00Z')]);
    expect(days[2]?.to).toBe(now);
  });

  it('sum the periods that have a summary', () => {
    const rows: FinancialRow[] = [
      { label: 'a', from: 0, to: 1, summary: summary(1), error: null },
      { label: 'b', from: 1, to: 2, summary: null, error: 'no store' },
      { label: 'c', from: 2, to: 3, summary: summary(2), error: null },
    ];
    expect(totals(rows).netEur).toBe(3);
  });

  it('export CSV with a header, kWh columns, CRLF lines and quoted text', () => {
    const csv = toCsv('site,1', [{ label: '2026-03-08', from: 0, to: 86_400_000, summary: summary(0.24375), error: null }]);
    const [head, line] = csv.split('\r\n');
    expect(head?.startsWith('site,period,from,to,discharged_kWh,charged_kWh')).toBe(true);
    expect(line?.startsWith('"site,1",2026-03-08,1970-01-01T00:00:00.000Z,1970-01-02T00:00:00.000Z,2,2.5,')).toBe(true);
    expect(csv.endsWith('\r\n')).toBe(true);
  });

  it('tell a period without telemetry (before the site existed) from one that earned nothing', () => {
    const none: FinancialRow = { label: 'a', from: 0, to: 1, summary: { ...summary(0), dischargedWh: 0, chargedWh: 0, coveragePct: 0 }, error: null };
    const idle: FinancialRow = { label: 'b', from: 1, to: 2, summary: { ...summary(0), dischargedWh: 0, chargedWh: 0, coveragePct: 100 }, error: null };
    expect(hasData(none)).toBe(false);
    expect(hasData(idle)).toBe(true);
    expect(hasData({ label: 'c', from: 2, to: 3, summary: null, error: 'no store' })).toBe(false);
    // In the CSV a day without data has empty figures, not zeros; its coverage stays 0.
    const line = toCsv('s', [none]).split('\r\n')[1] ?? '';
    expect(line.split(',').slice(4)).toEqual(['', '', '', '', '', '', '', '', '', '', '', '0']);
  });
});
