// The arbitrage plan against the site's load forecast: a forecast evening peak the grid connection
// cannot carry alone makes the battery keep energy for it. Numbers a reader can check by hand.
import assert from 'node:assert/strict';
import { netLoadPerStep, planAt, PriceBook, type ArbitrageSettings } from '../../../domain/arbitrage/rolling';
import type { LoadForecast } from '../../../domain/contracts';

const HOUR = 3_600_000;
const QUARTER = 900_000;
const T0 = Date.UTC(2024, 2, 4, 17); // 17:00 UTC: the evening
const close = (a: number, b: number, tol = 1e-6, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} != ${b}`);

/** 10 kWh, 5 kW, lossless, SoC 0-100 %. */
const battery: ArbitrageSettings = {
  capacityKwh: 10, maxChargeKw: 5, maxDischargeKw: 5, etaCharge: 1, etaDischarge: 1,
  socMinPct: 0, socMaxPct: 100, degradationEurPerKwh: 0, horizonHours: 36,
};
/** The same behind a grid connection that imports at most 3 kW. */
const settings: ArbitrageSettings = { ...battery, gridImportMaxKw: 3 };
/** 96 quarter-hours from `start`: 1 kW, except 7 kW in the quarters given. */
function forecast(start: number, peakQuarters: number[], over: Partial<LoadForecast> = {}): LoadForecast {
  const loadKw = Array.from({ length: 96 }, (_, i) => (peakQuarters.includes(i) ? 7 : 1));
  return { siteId: 'site-1', ts: start, start, stepMinutes: 15, loadKw, model: 'test', filledSteps: 0, ...over };
}
/** 17:00 at 300 EUR/MWh, 18:00 at 50 EUR/MWh. */
function book(): PriceBook {
  const b = new PriceBook();
  b.put({ start: T0, stepMinutes: 60, pricesEurPerMWh: [300, 50] });
  return b;
}

describe('arbitrage with a load forecast (domain/arbitrage/rolling)', () => {
  it('keeps 4 kWh for a forecast 7 kW evening peak under a 3 kW import limit', async () => {
    // Start 5 kWh. The median price (175 EUR/MWh) values the energy left at the end.
    // Measured net load 1 kW only: sell all 5 kWh at 300, then refill 2 kW at 50 (3 kW limit - 1 kW load).
    const blind = await planAt(T0, book(), 50, settings, 'site-1', 1);
    assert.ok(blind);
    close(blind.schedule.powerKw[0] as number, 5, 1e-6, 'without forecast: discharge');
    close(blind.schedule.powerKw[1] as number, -2, 1e-6, 'without forecast: charge');
    // The forecast says 7 kW from 18:00 to 19:00: the battery must give 4 kW then, so it sells only
    // 1 kWh at 300 and holds 4 kWh for the peak; the grid stays at its 3 kW limit.
    const seen = await planAt(T0, book(), 50, settings, 'site-1', 1, forecast(T0, [4, 5, 6, 7]));
    assert.ok(seen);
    close(seen.schedule.powerKw[0] as number, 1, 1e-6, 'with forecast: discharge now');
    close(seen.schedule.powerKw[1] as number, 4, 1e-6, 'with forecast: discharge into the peak');
    close(seen.schedule.socPct[0] as number, 40, 1e-6, 'kept for the peak');
    assert.equal(seen.plan.steps[1]?.gridW, 3000);
    assert.equal(seen.plan.steps[0]?.gridW, 0, '1 kW load less 1 kW discharge');
  });

  it('averages the quarter-hours of an hourly step and uses the measured net load past the forecast end', () => {
    // Forecast of 4 quarter-hours shown from 17:00 (the rest of its 96 from 18:00 on are 1 kW),
    // but starting 23 h earlier: it covers 17:00-18:00 only.
    const f = forecast(T0 - 23 * HOUR, []);
    f.loadKw.splice(92, 4, 2, 4, 6, 8); // 17:00-18:00: mean 5 kW
    const net = netLoadPerStep([[T0, T0 + HOUR], [T0 + HOUR, T0 + 2 * HOUR], [T0 + 30 * 60_000, T0 + HOUR + 30 * 60_000]], f, -2);
    close(net[0] as number, 5, 1e-9, 'mean of 2, 4, 6, 8');
    close(net[1] as number, -2, 1e-9, 'past the end: measured');
    close(net[2] as number, (6 + 8 - 2 - 2) / 4, 1e-9, 'half covered (6, 8), half measured');
    // No measurement: the uncovered part is no site load.
    close(netLoadPerStep([[T0 + HOUR - QUARTER, T0 + HOUR + QUARTER]], f)[0] as number, 4, 1e-9, '(8 + 0) / 2');
  });

  it('plans a PV surplus in the forecast against the export limit', async () => {
    // 0 kW net until 18:00, then -6 kW (PV) to 19:00; export at most 2 kW, no import limit.
    // 17:00: selling at 300 exports the discharge, so at most 2 kW (5 -> 3 kWh).
    // 18:00: the battery must take at least 4 kW of the surplus; at 50 EUR/MWh against the 175
    // the energy is worth at the end, it takes its full 5 kW (3 -> 8 kWh), exporting 1 kW.
    const f = forecast(T0, []);
    f.loadKw.fill(0, 0, 4);
    f.loadKw.fill(-6, 4, 8);
    const p = await planAt(T0, book(), 50, { ...battery, gridExportMaxKw: 2 }, 'site-1', 0, f);
    assert.ok(p);
    close(p.schedule.powerKw[0] as number, 2, 1e-6, 'discharge now, capped by the export limit');
    close(p.schedule.powerKw[1] as number, -5, 1e-6, 'absorb the surplus');
    assert.equal(p.plan.steps[0]?.gridW, -2000);
    assert.equal(p.plan.steps[1]?.gridW, -1000);
    close(p.schedule.socPct[1] as number, 80, 1e-6);
  });

  it('ignores a forecast that has ended: the measured net load stands for every step', async () => {
    const stale = forecast(T0 - 25 * HOUR, [0, 1, 2, 3]);
    const p = await planAt(T0, book(), 50, settings, 'site-1', 1, stale);
    assert.ok(p);
    close(p.schedule.powerKw[0] as number, 5, 1e-6, 'as without forecast');
  });
});
