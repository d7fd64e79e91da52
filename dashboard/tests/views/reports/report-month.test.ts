import { describe, expect, it } from 'vitest';
import { defaultMonth, monthChoices, monthLabel, reportFileName, validMonth } from '../../../src/views/reports/report-month';
import { monthlyReportSections } from '../../../../domain/reports/monthly-lines';
import type { MonthlyReport } from '../../../../domain/reports/monthly';

const NOW = Date.parse('2026-01-10T08:00:00Z');

describe('report months', () => {
  it('open on the last complete UTC month, across a year end', () => {
    expect(defaultMonth(NOW)).toBe('2025-12');
    expect(defaultMonth(Date.parse('2026-03-01T00:00:00Z'))).toBe('2026-02');
  });

  it('accept a month from the address only when it is well formed and has begun', () => {
    expect(validMonth('2025-11', NOW)).toBe('2025-11');
    expect(validMonth('2026-01', NOW)).toBe('2026-01');
    expect(validMonth('2026-02', NOW)).toBeNull();
    expect(validMonth('2025-13', NOW)).toBeNull();
    expect(validMonth('last', NOW)).toBeNull();
    expect(validMonth(undefined, NOW)).toBeNull();
  });

  it('offer the running month first, then the ones before', () => {
    const c = monthChoices(NOW, 3);
    expect(c).toEqual([
      { value: '2026-01', label: 'January 2026 (so far)' },
      { value: '2025-12', label: 'December 2025' },
      { value: '2025-11', label: 'November 2025' },
    ]);
    expect(monthLabel({ year: 2026, month: 9 })).toBe('September 2026');
  });

  it('name the downloads after site, month and format', () => {
    expect(reportFileName('site-1', '2025-12', 'pdf')).toBe('report-site-1-2025-12.pdf');
    expect(reportFileName('site-1', '2025-12', 'csv')).toBe('report-site-1-2025-12.csv');
  });

  it('show unknown figures as unknown, never as zero', () => {
    const r = {
      siteId: 's', siteName: 'S', month: '2025-12', timeZone: 'UTC',
      period: { from: '2025-12-01T00:00:00.000Z', to: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:00:00.000Z', complete: true, hours: 744 },
      energy: { chargedKwh: 0, dischargedKwh: 0, basis: '' },
      cycles: { equivalentFull: null, capacityKwh: null, basis: '' },
      soh: { startPct: null, endPct: null, startAt: null, endAt: null, source: null },
      availability: { share: 0, onlineShare: 0, onlineHours: 0, controllableHours: 0, definition: '' },
      alarms: { total: 0, byType: [] },
      bill: {
        withBattery: { energyEur: 0, demandEur: 0, totalEur: 0, importKwh: 0, exportKwh: 0 }, withoutBattery: { energyEur: 0, demandEur: 0, totalEur: 0, importKwh: 0, exportKwh: 0 },
        savingEur: 0, pricedHours: 0, unpricedHours: 0, tariff: { importAdderEurPerKwh: 0.2, vatFactor: 1, exportPrice: 'feed-in', feedInEurPerKwh: 0.08, demandChargeEurPerKw: 0 }, tariffSource: '',
      },
      peak: { importKw: null, lastMonthImportKw: null, changeKw: null, definition: '' },
      generatedAt: '2026-01-10T08:00:00.000Z',
    } satisfies MonthlyReport;
    const lines = monthlyReportSections(r).flatMap((s) => s.lines);
    expect(lines.find((l) => l.label === 'Equivalent full cycles')?.value).toBe('unknown');
    expect(lines.find((l) => l.label === 'SoH at the start')?.value).toBe('unknown');
    expect(lines.find((l) => l.label === 'This month')?.value).toBe('unknown');
  });
});
