// The site tariff: the prices of a kWh bought and sold, the month's peak, and the bill.
import assert from 'node:assert/strict';
import { DEFAULT_TARIFF, exportPriceEurPerKwh, importPriceEurPerKwh, MonthPeak, siteBill, SiteTariffSchema } from '../../../domain/tariff/tariff';

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);
const JAN = Date.UTC(2014, 0, 31, 23, 0);

describe('site tariff (domain/tariff/tariff)', () => {
  it('prices an import as (spot + adder) x VAT and an export at the feed-in or at spot', () => {
    const t = { ...DEFAULT_TARIFF, vatFactor: 1.19 };
    close(importPriceEurPerKwh(50, t), (0.05 + 0.2) * 1.19);
    close(exportPriceEurPerKwh(50, t), 0.08);
    close(exportPriceEurPerKwh(50, { ...t, exportPrice: 'spot' }), 0.05);
  });

  it('rejects a VAT factor below 1 and a negative demand charge', () => {
    assert.equal(SiteTariffSchema.safeParse({ ...DEFAULT_TARIFF, vatFactor: 0.9 }).success, false);
    assert.equal(SiteTariffSchema.safeParse({ ...DEFAULT_TARIFF, demandChargeEurPerKw: -1 }).success, false);
    assert.equal(SiteTariffSchema.safeParse(DEFAULT_TARIFF).success, true);
  });

  it('bills energy at the step prices and the demand charge on each month\'s highest import', () => {
    const t = { ...DEFAULT_TARIFF, demandChargeEurPerKw: 10 };
    const q = 900_000;
    // Jan: 2 kW then 4 kW, Feb: 3 kW and a 1 kW export.
    const steps = [
      { start: JAN, hours: 0.25, gridKw: 2, spotEurPerMWh: 0 },
      { start: JAN + q, hours: 0.25, gridKw: 4, spotEurPerMWh: 100 },
      { start: JAN + 4 * q, hours: 0.25, gridKw: 3, spotEurPerMWh: 0 },
      { start: JAN + 5 * q, hours: 0.25, gridKw: -1, spotEurPerMWh: 0 },
    ];
    const b = siteBill(steps, t);
    close(b.energyEur, 2 * 0.25 * 0.2 + 4 * 0.25 * 0.3 + 3 * 0.25 * 0.2 - 0.25 * 0.08);
    close(b.demandEur, 10 * 4 + 10 * 3);
    close(b.exportKwh, 0.25);
  });

  it('tracks the month\'s highest 15-minute mean import and starts a new month from zero', () => {
    const p = new MonthPeak();
    const t0 = JAN - 2 * 900_000; // 22:30
    // 22:30-22:45: 6 kW for 5 min, 0 for 10 min: a mean of 2 kW, not 6.
    p.add(t0, 6);
    p.add(t0 + 300_000, 0);
    p.add(t0 + 900_000, 3); // 22:45-23:00 at 3 kW
    p.add(t0 + 1_800_000, 1); // 23:00 (31 Jan)
    close(p.peakKw(t0 + 1_800_000), 3);
    p.add(Date.UTC(2014, 1, 1, 0, 20), 1);
    assert.equal(p.peakKw(Date.UTC(2014, 1, 1, 0, 20)), 1, 'February starts from its own first window');
  });
});
