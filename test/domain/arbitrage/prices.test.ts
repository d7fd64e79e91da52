// Price feeds in their shapes, normalised to EUR/MWh on a regular grid.
import assert from 'node:assert/strict';
import { alignToDay, parseModelicaPrices, replayStart, parsePriceCsv, parsePriceJson, PriceError, toEurPerMWh, toPriceSeries } from '../../../domain/arbitrage/prices';
import { bestCheapestDearest, cheapestDearestRevenue } from '../../../domain/arbitrage/heuristic';
import { dayAheadKnownUntil, quantile, terminalValueEurPerKwh } from '../../../domain/arbitrage/horizon';

const T0 = Date.UTC(2024, 0, 1);
const H = 3_600_000;

describe('price series (domain/arbitrage/prices)', () => {
  it('reads CSV time,price and converts ct/kWh to EUR/MWh', () => {
    const pts = parsePriceCsv('time,price\n2024-01-01 00:00:00,5.5\n2024-01-01 01:00:00,-1');
    const s = toPriceSeries(pts, 60, toEurPerMWh('ct/kWh'));
    assert.deepEqual(s, { start: T0, stepMinutes: 60, pricesEurPerMWh: [55, -10] });
    assert.equal(toEurPerMWh('EUR/kWh'), 1000);
  });

  it('averages quarter-hours into hours and holds hours over quarter-hours', () => {
    const quarters = [10, 20, 30, 40, 50, 50, 50, 50].map((price, i) => ({ time: T0 + i * 900_000, price }));
    assert.deepEqual(toPriceSeries(quarters, 60).pricesEurPerMWh, [25, 50]);
    const hours = [{ time: T0, price: 10 }, { time: T0 + H, price: 20 }];
    assert.deepEqual(toPriceSeries(hours, 15).pricesEurPerMWh, [10, 10, 10, 10, 20, 20, 20, 20]);
  });

  it('reads the Modelica table of data/ with its seconds from the origin', () => {
    const pts = parseModelicaPrices('#1\ndouble default(2,2) #Time[s] price\n0\t25.12\n3600\t23.64\n', T0);
    assert.deepEqual(pts, [{ time: T0, price: 25.12 }, { time: T0 + H, price: 23.64 }]);
  });

  it('takes JSON as a PriceSeries, an array of {start, price} or {prices: [...]}', () => {
    const series = { start: T0, stepMinutes: 60, pricesEurPerMWh: [1, 2] };
    assert.deepEqual(parsePriceJson(series), series);
    assert.deepEqual(parsePriceJson([{ start: '2024-01-01T00:00:00Z', price: 3 }]), [{ time: T0, price: 3 }]);
    assert.deepEqual(parsePriceJson({ prices: [{ time: T0 / 1000, value: '4' }] }), [{ time: T0, price: 4 }]);
  });

  it('says what is wrong with bad input', () => {
    assert.throws(() => parsePriceCsv('when,cost\n1,2'), /time and price columns/);
    assert.throws(() => parsePriceCsv('time,price\nyesterday,2'), /line 2: bad time/);
    assert.throws(() => parsePriceJson({ foo: 1 }), PriceError);
    assert.throws(() => toPriceSeries([{ time: T0, price: 1 }, { time: T0, price: 2 }], 60), /two prices/);
    assert.throws(() => toPriceSeries([{ time: T0, price: 1 }, { time: T0 + H, price: 1 }, { time: T0 + 24 * H, price: 1 }], 60), /gap/);
  });

  it('moves a past day onto today by whole days', () => {
    const s = alignToDay({ start: Date.UTC(2012, 2, 3), stepMinutes: 60, pricesEurPerMWh: [1] }, Date.UTC(2025, 5, 1, 13, 7));
    assert.equal(s.start, Date.UTC(2025, 5, 1));
  });

  it("replays a past year day by day: today's date in the data's year, wrapped when the data ends earlier", () => {
    // The 2012 EPEX file: 2012-01-01 .. 2012-09-30 inclusive.
    const first = Date.UTC(2012, 0, 1);
    const end = Date.UTC(2012, 9, 1);
    assert.equal(replayStart(first, end, Date.UTC(2026, 5, 27, 15, 30), 48), Date.UTC(2012, 5, 27));
    assert.equal(replayStart(first, end, Date.UTC(2028, 1, 29, 12), 48), Date.UTC(2012, 1, 29));
    assert.equal(replayStart(Date.UTC(2013, 0, 1), Date.UTC(2013, 11, 31), Date.UTC(2028, 1, 29, 12), 24), Date.UTC(2013, 1, 28));
    // 27 November is day 331 (from 0); the data holds 274 days, 273 of which have 48 h after them.
    const wrapped = replayStart(first, end, Date.UTC(2026, 10, 27, 15, 30), 48);
    assert.equal(wrapped, first + (331 % 273) * 86_400_000);
    for (let d = 0; d < 366; d++) {
      const start = replayStart(first, end, Date.UTC(2026, 0, 1) + d * 86_400_000, 48);
      assert.ok(start >= first && start + 48 * 3_600_000 <= end, `day ${d} has a full window`);
    }
  });
});

describe('what a rolling controller knows (domain/arbitrage/horizon)', () => {
  it('knows today until the day-ahead auction at 12:00, then tomorrow too', () => {
    assert.equal(dayAheadKnownUntil(T0 + 11 * H), T0 + 24 * H);
    assert.equal(dayAheadKnownUntil(T0 + 12 * H), T0 + 48 * H);
  });

  it('values the energy left at the end at a price quantile times the discharge efficiency, never below 0', () => {
    assert.equal(quantile([3, 1, 2], 0.5), 2);
    assert.ok(Math.abs(terminalValueEurPerKwh([10, 20, 30], 0.9, 0.5) - 0.018) < 1e-12);
    assert.equal(terminalValueEurPerKwh([-10, -20], 0.9, 0.5), 0);
  });
});

describe('cheapest/dearest-hours heuristic (domain/arbitrage/heuristic)', () => {
  const b = { capacityKwh: 10, socStartPct: 5, socMinPct: 5, socMaxPct: 95, maxChargeKw: 5, maxDischargeKw: 5, etaCharge: 0.95, etaDischarge: 0.95 };
  it('charges the k cheapest hours and discharges the k dearest within the SoC window', () => {
    const prices = [...Array<number>(12).fill(20), ...Array<number>(12).fill(80)];
    // k = 2: 10 kWh offered, 9 kWh of room: 9 / 0.95 bought; 8.55 sold.
    const r = cheapestDearestRevenue(prices, 1, b, 2);
    assert.ok(Math.abs(r.revenueEur - (8.55 * 0.08 - (9 / 0.95) * 0.02)) < 1e-9);
    assert.ok(bestCheapestDearest(prices, 1, b).revenueEur >= r.revenueEur);
  });
});
