// The month's import target under a demand charge (domain/arbitrage/peak-target.ts).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEMAND_CHARGE_RESERVE_SOC_PCT, demandChargeLimits, dispatchKw } from '../../../domain/arbitrage/dispatch';
import { heldImportLevelKw, heldLevelAheadKw, peakTargetKw, stepBattery, type TargetBattery } from '../../../domain/arbitrage/peak-target';
import type { SiteForecast } from '../../../domain/forecast/site-forecast';

const battery: TargetBattery = { capacityKwh: 10, socMinPct: 5, socMaxPct: 95, maxChargeKw: 5, maxDischargeKw: 5, etaCharge: 0.95, etaDischarge: 0.95 };
const H = 0.25;
/** A day of 15-minute steps: `base` kW, and `eveningKw` from 18:00 to 22:00. */
const day = (base: number, eveningKw: number): number[] => Array.from({ length: 96 }, (_, i) => (i >= 72 && i < 88 ? eveningKw : base));

describe('peak target (domain/arbitrage/peak-target)', () => {
  it('is zero where the reserve alone covers the past days, and rises with what the battery could not cover', () => {
    // 16 quarters at 1 kW: 4 kWh, within the 4.5 kWh above the floor at the 50 % reserve.
    assert.equal(heldImportLevelKw(day(0, 1), H, battery, 50), 0);
    // Three days of 0.5 kW all day and 3 kW in the evening: 24 kWh a day, far more than the
    // battery holds, so the import must run at a level near the daily mean, and the rule can hold it.
    const week = [...day(0.5, 3), ...day(0.5, 3), ...day(0.5, 3)];
    const level = heldImportLevelKw(week, H, battery, 50);
    const mean = week.reduce((a, b) => a + b, 0) / week.length;
    assert.ok(level > mean * 0.9 && level < 3, `level ${level}, mean ${mean}`);
    // The rule at that level never imports above it over the same days.
    let soc = 50;
    for (const net of week) {
      const r = stepBattery(soc, dispatchKw({ powerKw: 0, gridKw: 0 }, net, { ...battery, socPct: soc, importCapKw: level, reserveSocPct: 50 }), battery, H);
      assert.ok(net - r.kw <= level + 0.01, `import ${net - r.kw} above ${level}`);
      soc = r.socPct;
    }
    // Any lower and it would not have held.
    assert.ok(heldImportLevelKw(week, H, battery, 50) <= level);
  });

  it('ahead of a hard day rises as the SoC now falls, and is zero without a high net-load forecast', () => {
    // Four hours at 3 kW from now: a full battery shaves most of it, a nearly empty one little.
    const hard = Array.from({ length: 16 }, () => 3);
    const f: SiteForecast = { start: 0, stepMinutes: 15, loadKw: hard, pvKw: hard.map(() => 0), netHighKw: hard };
    const full = heldLevelAheadKw(f, 0, 95, battery);
    const low = heldLevelAheadKw(f, 0, 10, battery);
    // Above the reserve the battery serves the whole load, below it only what lies above the level.
    assert.ok(full > 1.2 && full < 1.6, `from 95 % ${full}`);
    assert.ok(low > 2.7 && low <= 3, `from 10 % ${low}`);
    // Only the steps from now on count: at the forecast's last step one quarter is left.
    assert.ok(heldLevelAheadKw(f, 15 * 900_000, 10, battery) < low);
    assert.equal(heldLevelAheadKw(null, 0, 10, battery), 0);
    assert.equal(heldLevelAheadKw({ ...f, netHighKw: undefined }, 0, 10, battery), 0);
  });

  it('is at least the month\'s peak so far, and never above the grid\'s import limit', () => {
    assert.equal(peakTargetKw(1.2, 0.4), 1.2);
    assert.equal(peakTargetKw(0, 0.4), 0.4);
    assert.equal(peakTargetKw(3, 0.4, 2), 2);
    assert.equal(peakTargetKw(Number.NaN, Number.NaN), 0);
  });

  it('the target never exceeds the import limit and is never below the peak so far within it (property)', () => {
    fc.assert(fc.property(
      fc.double({ min: 0, max: 50, noNaN: true }), fc.double({ min: 0, max: 50, noNaN: true }), fc.option(fc.double({ min: 0, max: 50, noNaN: true })),
      (peak, held, limit) => {
        const t = peakTargetKw(peak, held, limit ?? undefined);
        if (limit !== null) assert.ok(t <= limit);
        assert.ok(t >= Math.min(peak, limit ?? Infinity));
        assert.ok(t >= 0);
      },
    ));
  });

  it('the live rule with the target and the reserve keeps the battery inside its envelope over any net load (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: 1, maxLength: 200 }),
      fc.double({ min: 5, max: 95, noNaN: true }),
      fc.double({ min: 0, max: 6, noNaN: true }),
      fc.array(fc.tuple(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -8, max: 8, noNaN: true })), { minLength: 1, maxLength: 200 }),
      (net, soc0, targetKw, plans) => {
        let soc = soc0;
        net.forEach((x, i) => {
          const [powerKw, gridKw] = plans[i % plans.length] as [number, number];
          const kw = dispatchKw({ powerKw, gridKw }, x, { ...battery, socPct: soc, gridImportMaxKw: 6, gridExportMaxKw: 6, ...demandChargeLimits(10, targetKw) });
          assert.ok(kw <= 5 && kw >= -5, `power ${kw}`);
          if (kw < 0) assert.ok(x - kw <= Math.max(6, x) + 1e-9, 'charging within the import limit');
          if (kw > 0) assert.ok(x - kw >= Math.min(-6, x) - 1e-9, 'discharging within the export limit');
          const r = stepBattery(soc, kw, battery, H);
          assert.ok(r.socPct >= 5 - 1e-9 && r.socPct <= 95 + 1e-9, `SoC ${r.socPct}`);
          soc = r.socPct;
        });
        assert.ok(heldImportLevelKw(net, H, battery, DEMAND_CHARGE_RESERVE_SOC_PCT) <= Math.max(0, ...net));
      },
    ), { numRuns: 200 });
  });
});
