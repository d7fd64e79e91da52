// The plan against the site's bill (schedule.ts with a tariff, rolling.ts planAt with site inputs,
// dispatch.ts): cases a reader can check by hand, and properties that hold whatever the forecast.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { demandChargeLimits, dispatchKw, type DispatchLimits } from '../../../domain/arbitrage/dispatch';
import { planAt, PriceBook, type ArbitrageSettings } from '../../../domain/arbitrage/rolling';
import { planSchedule, type BatteryProblem } from '../../../domain/arbitrage/schedule';
import { DEFAULT_TARIFF } from '../../../domain/tariff/tariff';

const battery = { capacityKwh: 10, socStartPct: 5, socMinPct: 5, socMaxPct: 95, maxChargeKw: 5, maxDischargeKw: 5, etaCharge: 0.95, etaDischarge: 0.95 };
const close = (a: number, b: number, tol = 1e-6, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} != ${b}`);
const flat = (n: number, v: number): number[] => Array<number>(n).fill(v);

function siteProblem(load: number[], pv: number[], over: Partial<BatteryProblem> = {}, demand = 0, peakSoFarKw = 0): BatteryProblem {
  const n = load.length;
  return {
    ...battery, pricesEurPerMWh: flat(n, 50), stepHours: 1, loadKw: load, pvKw: pv,
    tariff: { importEurPerKwh: flat(n, 0.25), exportEurPerKwh: flat(n, 0.08), demandChargeEurPerKw: demand, peakSoFarKw },
    ...over,
  };
}

describe('site plan (the bill as the objective)', () => {
  it('stores a midday PV surplus for the evening load instead of selling it at the feed-in price', async () => {
    // 4 h of 3 kW surplus, then 4 h of 2 kW load. Stored: min(9 kWh window, 3 x 4 x 0.95) = 9 kWh;
    // it serves 9 x 0.95 = 8.55 kWh of the 8 kWh evening load: the evening buys nothing.
    const s = await planSchedule(siteProblem([...flat(4, 0), ...flat(4, 2)], [...flat(4, 3), ...flat(4, 0)]));
    assert.ok(s.gridKw.slice(4).every((g) => Math.abs(g as number) < 1e-6), `evening grid ${s.gridKw.slice(4).join(',')}`);
    // Without the battery: 12 kWh sold at 0.08, 8 kWh bought at 0.25; with it only the rest is sold.
    close(s.billNoBatteryEur as number, 8 * 0.25 - 12 * 0.08, 1e-9, 'no battery');
    const stored = 8 / 0.95 / 0.95; // what the evening needs, charged in
    close(s.billEur as number, -(12 - stored) * 0.08, 1e-3, 'with battery');
    close(s.revenueEur, (s.billNoBatteryEur as number) - (s.billEur as number), 1e-9, 'saving');
  });

  it('never buys and sells in the same step, even where the export price is above the import price', async () => {
    const p = siteProblem(flat(6, 1), flat(6, 0));
    p.tariff = { importEurPerKwh: flat(6, 0.1), exportEurPerKwh: flat(6, 0.3) };
    p.gridExportMaxKw = 10;
    const s = await planSchedule(p);
    // Selling the stored energy is what pays here; buying to sell at once must not.
    assert.ok(s.billEur !== null);
    for (const g of s.gridKw) assert.ok(Number.isFinite(g as number));
    close(s.billNoBatteryEur as number, 6 * 0.1, 1e-9);
    assert.ok((s.billEur as number) >= 6 * 0.1 - 0.3 * 9 * 0.95 - 1e-6, `bill ${s.billEur} below what the stored energy alone can earn`);
  });

  it('with a demand charge flattens the import to the level the battery can hold, and a peak so far is free', async () => {
    // 6 h at 1 kW, then 2 h at 5 kW, from 5 kWh stored: without the battery the peak is 5 kW; the
    // battery holds 4.5 kWh above the floor (4.275 kWh out) and can charge in the quiet hours, so a
    // level under 3 kW is within reach and worth 10 EUR per kW.
    const load = [...flat(6, 1), ...flat(2, 5)];
    const s = await planSchedule(siteProblem(load, flat(8, 0), { socStartPct: 50 }, 10));
    const peak = Math.max(...s.gridKw.map((g) => g as number));
    assert.ok(peak < 3, `peak ${peak}`);
    // With a 5 kW peak already this month, a new 5 kW step costs nothing more: no reason to shave.
    const free = await planSchedule(siteProblem(load, flat(8, 0), { socStartPct: 50, terminalValueEurPerKwh: 0.25 * 0.95 }, 10, 5));
    close(free.billNoBatteryEur as number, 16 * 0.25, 1e-9, 'no demand charge up to the peak so far');
  });

  it('plans 15-minute steps to the end of the hour, then hours, and sends 15-minute steps with the tariff\'s prices', async () => {
    const hour = 3_600_000;
    const now = Date.UTC(2014, 4, 1, 10, 20);
    const book = new PriceBook();
    book.put({ start: Date.UTC(2014, 4, 1), stepMinutes: 60, pricesEurPerMWh: flat(24, 40) });
    const s: ArbitrageSettings = { ...battery, degradationEurPerKwh: 0, horizonHours: 36 };
    const p = await planAt(now, book, 50, s, 'site-1', 0.5, undefined, { tariff: DEFAULT_TARIFF, peakSoFarKw: 0, forecast: null });
    assert.ok(p);
    assert.equal(p.plan.stepMinutes, 15);
    assert.equal(p.plan.steps[0]?.start, Date.UTC(2014, 4, 1, 10, 15));
    // 10:15 .. 24:00 in quarters.
    assert.equal(p.plan.steps.length, 55);
    close(p.plan.steps[0]?.importEurPerKwh as number, 0.24, 1e-9);
    close(p.plan.steps[0]?.exportEurPerKwh as number, 0.08, 1e-9);
    assert.equal(p.replanAt, Date.UTC(2014, 4, 1, 11) );
    assert.ok(p.plan.billEur !== undefined && p.plan.billNoBatteryEur !== undefined);
    assert.ok(p.replanAt - now < hour);
  });
});

describe('site plan: the envelope holds whatever the forecast (property)', () => {
  const kw = fc.double({ min: -8, max: 8, noNaN: true });
  it('every planned step and every dispatched power stays within power, SoC window and grid limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.double({ min: 0, max: 8, noNaN: true }), fc.double({ min: 0, max: 8, noNaN: true }), fc.double({ min: -100, max: 300, noNaN: true })), { minLength: 1, maxLength: 12 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.double({ min: 1, max: 6, noNaN: true }),
        fc.double({ min: 1, max: 6, noNaN: true }),
        kw,
        async (steps, soc, demand, importMax, exportMax, measured) => {
          const p: BatteryProblem = {
            ...battery, socStartPct: soc, pricesEurPerMWh: steps.map(([, , x]) => x), stepHours: 0.25,
            loadKw: steps.map(([l]) => l), pvKw: steps.map(([, v]) => v), gridImportMaxKw: importMax, gridExportMaxKw: exportMax,
            tariff: { importEurPerKwh: steps.map(([, , x]) => x / 1000 + 0.2), exportEurPerKwh: steps.map(() => 0.08), demandChargeEurPerKw: demand },
          };
          const s = await planSchedule(p);
          const lo = Math.min(5, soc) - 1e-6;
          const hi = Math.max(95, soc) + 1e-6;
          s.powerKw.forEach((x, t) => {
            assert.ok(x <= 5 + 1e-6 && x >= -5 - 1e-6, `power ${x}`);
            assert.ok((s.socPct[t] as number) >= lo && (s.socPct[t] as number) <= hi, `SoC ${s.socPct[t]}`);
            // The battery never adds to a grid violation: charging only within the import limit
            // (unless the site alone is above it), discharging only within the export limit.
            const net = (p.loadKw?.[t] as number) - (p.pvKw?.[t] as number);
            if (x < -1e-6) assert.ok(net - x <= Math.max(importMax, net) + 1e-4, `charging ${x} over the import limit at net ${net}`);
            if (x > 1e-6) assert.ok(net - x >= Math.min(-exportMax, net) - 1e-4, `discharging ${x} over the export limit at net ${net}`);
          });
          const l: DispatchLimits = { socPct: soc, socMinPct: 5, socMaxPct: 95, maxChargeKw: 5, maxDischargeKw: 5, gridImportMaxKw: importMax, gridExportMaxKw: exportMax, ...demandChargeLimits(demand, 1) };
          const d = dispatchKw({ powerKw: s.powerKw[0] as number, gridKw: s.gridKw[0] as number }, measured, l);
          assert.ok(d <= 5 && d >= -5, `dispatch ${d}`);
          if (soc <= 5) assert.ok(d <= 0, 'no discharge at the SoC floor');
          if (soc >= 95) assert.ok(d >= 0, 'no charge at the SoC ceiling');
          if (d < 0) assert.ok(measured - d <= Math.max(importMax, measured) + 1e-9, 'charging within the import limit');
          if (d > 0) assert.ok(measured - d >= Math.min(-exportMax, measured) - 1e-9, 'discharging within the export limit');
        },
      ),
      { numRuns: 60 },
    );
  });
});
