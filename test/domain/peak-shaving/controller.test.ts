// The peak-shaving controller read like an OpenEMS ControllerTest: given the meter and battery at
// cycle N, this request at cycle N.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_PEAK_SHAVING_CONFIG, INITIAL_PEAK_SHAVING_STATE, PeakShavingConfigSchema, step,
  type PeakShavingConfig, type PeakShavingInput, type PeakShavingOutput, type PeakShavingState,
} from '../../../domain/peak-shaving/controller';
import { canHold, forecastProfileW, holdableThresholdW, learnedProfileW, type NetLoadForecast } from '../../../domain/peak-shaving/forecast';

const T0 = Date.UTC(2024, 2, 10, 17, 0); // 17:00 UTC, start of a billing interval
const MIN = 60_000;
const Q = 15 * MIN;

const fixed = (over: Partial<PeakShavingConfig> = {}): PeakShavingConfig =>
  PeakShavingConfigSchema.parse({ ...DEFAULT_PEAK_SHAVING_CONFIG, mode: 'fixed', thresholdW: 3000, reserveSocPct: 20, rechargeMarginW: 0, rechargeToSocPct: 95, ...over });

const input = (over: Partial<PeakShavingInput> = {}): PeakShavingInput => ({
  ts: T0, gridW: 0, batteryW: 0, socPct: 50, capacityWh: 10_000, maxChargeW: 5000, maxDischargeW: 5000, ...over,
});

/** Drive cycles in order, returning each cycle's output. */
function run(cfg: PeakShavingConfig, inputs: PeakShavingInput[], state: PeakShavingState = INITIAL_PEAK_SHAVING_STATE): PeakShavingOutput[] {
  const outs: PeakShavingOutput[] = [];
  for (const i of inputs) {
    const out = step(state, i, cfg);
    state = out.state;
    outs.push(out);
  }
  return outs;
}

describe('peak-shaving controller', () => {
  describe('Peak-Shaving', () => {
    it('asks for exactly the excess over the threshold', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: 4500 }), fixed());
      assert.equal(out.action, 'shave');
      assert.equal(out.powerW, 1500);
    });

    it('counts the battery power already flowing: the excess is grid + battery - threshold', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: 3200, batteryW: 1500 }), fixed());
      assert.equal(out.netW, 4700);
      assert.equal(out.powerW, 1700);
    });

    it('asks for no more than the battery can discharge', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: 9000, maxDischargeW: 2500 }), fixed());
      assert.equal(out.powerW, 2500);
    });

    it('holds 0 W at the reserve SoC instead of discharging into it', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: 4500, socPct: 20 }), fixed());
      assert.equal(out.action, 'hold');
      assert.equal(out.powerW, 0);
      assert.match(out.reason, /reserve/);
    });
  });

  describe('Recharge', () => {
    it('recharges by the room under the threshold minus the margin', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: 1000 }), fixed({ rechargeMarginW: 500 }));
      assert.equal(out.action, 'recharge');
      assert.equal(out.powerW, -1500);
    });

    it('does nothing inside the margin below the threshold, so lower levels may act', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: 2800 }), fixed({ rechargeMarginW: 500 }));
      assert.equal(out.action, 'idle');
      assert.equal(out.powerW, null);
    });

    it('stops recharging at the recharge SoC', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: 1000, socPct: 95 }), fixed());
      assert.equal(out.powerW, null);
    });

    it('recharges no faster than the battery allows', () => {
      const out = step(INITIAL_PEAK_SHAVING_STATE, input({ gridW: -4000, maxChargeW: 3000 }), fixed());
      assert.equal(out.powerW, -3000);
    });
  });

  describe('the month peak (billed on 15-minute averages)', () => {
    it('bills the interval average of import, not the instantaneous value', () => {
      // 7.5 min at 5 kW import (battery too weak to help), then 7.5 min at 1 kW.
      const cfg = fixed({ thresholdW: 0, rechargeToSocPct: 0, reserveSocPct: 100 });
      const outs = run(cfg, [input({ ts: T0, gridW: 5000 }), input({ ts: T0 + 7.5 * MIN, gridW: 1000 }), input({ ts: T0 + Q, gridW: 0 })]);
      assert.equal(outs[2]?.monthPeakW, 3000);
    });

    it('raises the threshold in force to the month peak already billed, and shaves only above it', () => {
      // Cycle 1: 4 kW import, but the battery gives only 500 W: the interval bills 3.5 kW.
      const outs = run(fixed(), [
        input({ ts: T0, gridW: 4000, maxDischargeW: 500 }),
        input({ ts: T0 + Q, gridW: 3600 }),
        input({ ts: T0 + Q + MIN, gridW: 3400, batteryW: 0 }),
      ]);
      assert.equal(outs[1]?.monthPeakW, 3500);
      assert.equal(outs[1]?.thresholdW, 3500);
      assert.equal(outs[1]?.powerW, 100); // not 600: below 3.5 kW this month buys nothing
      assert.equal(outs[2]?.action, 'recharge'); // and it may recharge up to 3.5 kW
      assert.equal(outs[2]?.powerW, -100);
    });

    it('keeps the set threshold when month-peak tracking is off', () => {
      const outs = run(fixed({ trackMonthPeak: false }), [input({ ts: T0, gridW: 4000, maxDischargeW: 500 }), input({ ts: T0 + Q, gridW: 3600 })]);
      assert.equal(outs[1]?.thresholdW, 3000);
      assert.equal(outs[1]?.powerW, 600);
    });

    it('starts every month afresh (UTC months)', () => {
      const lastOfMonth = Date.UTC(2024, 2, 31, 23, 45);
      const outs = run(fixed({ thresholdW: 1000 }), [
        input({ ts: lastOfMonth - Q, gridW: 4000, maxDischargeW: 0 }),
        input({ ts: lastOfMonth, gridW: 500 }),
        input({ ts: lastOfMonth + Q, gridW: 1500 }),
      ]);
      assert.equal(outs[1]?.monthPeakW, 4000);
      assert.equal(outs[2]?.monthPeakW, 0);
      assert.equal(outs[2]?.thresholdW, 1000);
      assert.equal(outs[2]?.powerW, 500);
    });
  });

  describe("the 'auto' threshold (learnt from the past, no foresight)", () => {
    it('learns from past days a threshold below the evening peak that the battery can hold', () => {
      // Three days: 400 W all day, 3 kW from 18:00 to 20:00; 8 kWh above the reserve hold far less.
      const cfg = PeakShavingConfigSchema.parse({ mode: 'auto', thresholdW: 0, reserveSocPct: 10, trackMonthPeak: false });
      const start = Date.UTC(2024, 2, 1);
      const inputs: PeakShavingInput[] = [];
      for (let k = 0; k < 3 * 96; k++) {
        const ts = start + k * Q;
        const h = new Date(ts).getUTCHours();
        inputs.push(input({ ts, gridW: h >= 18 && h < 20 ? 3000 : 400, socPct: 90 }));
      }
      const outs = run(cfg, inputs);
      const evening = outs[2 * 96 + 18 * 4];
      assert.ok(evening && evening.thresholdW < 3000, `threshold ${evening?.thresholdW}`);
      assert.equal(evening.action, 'shave');
    });

    it('the learnt threshold is the lowest one the battery can hold over the forecast', () => {
      const profile = learnedProfileW([], Date.UTC(2024, 0, 1), 1000, { intervalMs: Q, historyDays: 7, forecastQuantile: 0.9, horizonIntervals: 96 });
      const b = { energyWh: 5000, reserveWh: 1000, fullWh: 9500, maxChargeW: 5000, maxDischargeW: 5000, stepH: 0.25, efficiency: 0.95 };
      const t = holdableThresholdW(profile, b);
      assert.ok(canHold(profile, t, b));
      assert.ok(!canHold(profile, t - 2, b));
    });
  });

  describe("the 'auto' threshold with the site's load forecast", () => {
    const cfg = PeakShavingConfigSchema.parse({ mode: 'auto', thresholdW: 0, reserveSocPct: 20, trackMonthPeak: false });
    const day = Date.UTC(2024, 2, 10);
    // 0.4 kW all day, 4 kW from 18:00 to 22:00: an evening no 3 kWh above the reserve can flatten.
    const forecast: NetLoadForecast = { start: day, stepMinutes: 15, loadKw: Array.from({ length: 96 }, (_, s) => (s >= 72 && s < 88 ? 4 : 0.4)) };
    const at17 = input({ ts: T0, gridW: 400, socPct: 50 });

    it('plans over the forecast evening peak that the recent past (none yet) cannot show', () => {
      const blind = step(INITIAL_PEAK_SHAVING_STATE, at17, cfg);
      const seeing = step(INITIAL_PEAK_SHAVING_STATE, { ...at17, forecast }, cfg);
      assert.ok(blind.thresholdW < 400, `without a forecast: ${blind.thresholdW} W`);
      assert.ok(seeing.thresholdW > 2000 && seeing.thresholdW < 4000, `with the forecast: ${seeing.thresholdW} W`);
      // Exactly the lowest threshold the battery holds over the forecast day from now.
      const profile = forecastProfileW(learnedProfileW([], T0, 400, cfg), forecast, T0, cfg);
      const b = { energyWh: 5000, reserveWh: 2000, fullWh: 9500, maxChargeW: 5000, maxDischargeW: 5000, stepH: 0.25, efficiency: Math.sqrt(0.9) };
      assert.equal(seeing.thresholdW, holdableThresholdW(profile, b));
    });

    it('takes the forecast only where it covers the interval, the learnt value elsewhere', () => {
      const learned = Array.from({ length: 8 }, () => 700);
      const p = forecastProfileW(learned, { ...forecast, loadKw: forecast.loadKw.slice(0, 76) }, T0, { intervalMs: Q });
      // Interval 0 is now (measured); 17:15 .. 18:45 from the forecast; the forecast ends at 19:00.
      assert.deepEqual(p, [700, 400, 400, 400, 4000, 4000, 4000, 4000].map((w, k) => (T0 + k * Q >= day + 76 * Q ? 700 : w)));
      const yesterday = { ...forecast, start: day - 86_400_000 };
      assert.deepEqual(forecastProfileW(learned, yesterday, T0, { intervalMs: Q }), learned);
    });
  });

  describe('properties', () => {
    const cycle = fc.record({
      dtMs: fc.integer({ min: 1, max: 20 * MIN }),
      gridW: fc.double({ min: -10_000, max: 20_000, noNaN: true }),
      batteryW: fc.double({ min: -5000, max: 5000, noNaN: true }),
      socPct: fc.double({ min: 0, max: 100, noNaN: true }),
      maxChargeW: fc.double({ min: 0, max: 8000, noNaN: true }),
      maxDischargeW: fc.double({ min: 0, max: 8000, noNaN: true }),
    });
    const config = fc.record({
      mode: fc.constantFrom('fixed' as const, 'auto' as const),
      thresholdW: fc.double({ min: 0, max: 10_000, noNaN: true }),
      reserveSocPct: fc.double({ min: 0, max: 60, noNaN: true }),
      rechargeMarginW: fc.double({ min: 0, max: 2000, noNaN: true }),
      trackMonthPeak: fc.boolean(),
    });

    it('never discharges more than the excess, never charges import above the threshold, never drains the reserve', () => {
      fc.assert(fc.property(config, fc.array(cycle, { minLength: 1, maxLength: 60 }), (c, cycles) => {
        const cfg = PeakShavingConfigSchema.parse(c);
        let state = INITIAL_PEAK_SHAVING_STATE;
        let ts = T0;
        for (const k of cycles) {
          ts += k.dtMs;
          const out = step(state, input({ ts, ...k }), cfg);
          state = out.state;
          assert.ok(out.thresholdW >= cfg.thresholdW - 1e-9, 'the threshold in force is never below the one set');
          if (out.powerW === null) continue;
          const net = k.gridW + k.batteryW;
          if (out.powerW > 0) {
            assert.ok(out.powerW <= net - out.thresholdW + 1e-6, `discharge ${out.powerW} beyond the excess ${net - out.thresholdW}`);
            assert.ok(out.powerW <= k.maxDischargeW + 1e-6);
            assert.ok(k.socPct > cfg.reserveSocPct, 'discharging at or below the reserve');
          } else if (out.powerW < 0) {
            assert.ok(net - out.powerW <= out.thresholdW - cfg.rechargeMarginW + 1e-6, `charging lifts import to ${net - out.powerW}`);
            assert.ok(-out.powerW <= k.maxChargeW + 1e-6);
          }
        }
      }), { numRuns: 300 });
    });
  });
});
