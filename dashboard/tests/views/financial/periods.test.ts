import { describe, expect, it } from 'vitest';
import { dailyPeriods, toCsv, totals, type FinancialRow } from '../../../src/views/financial/periods';
import type { FinancialSummary } from '../../../src/api/types';

const summary = (netEur: number): FinancialSummary => ({
  dischargedWh: 2000, chargedWh: 2500, revenueEur: 0.5, costEur: 0.2, arbitrageEur: 0.3, fullCycles: 0.2, throughputKwh: 4.5,
  degradationEurPerKwh: 0.0125, degradationCostEur: 0.05625, netEur, unpricedWh: 0, coveragePct: 100,
});

describe('financial periods', () => {
  it('split a range into UTC days ending with today, the last one up to now', () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const days = dailyPeriods(3, now);
    expect(days.map((d) => d.label)).toEqual(['2026-03-08', '2026-03-09', '2026-03-10']);
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
});
