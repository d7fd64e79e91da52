import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OcvCurve } from '../../../domain/lfp/ocv-curve';
import { LFP_DEFAULTS } from '../../../domain/lfp/limits';
import { loadOcvPoints } from '../../../io/data/real-data';
import { BatteryPack, type PackConfig } from '../../../runtime/simulator/battery-pack';
import { siteConfig } from '../../../runtime/simulator/site';

const curve = new OcvCurve(loadOcvPoints());

/** The household pack (16 s, 200 Ah) with some values changed. */
function pack(over: Partial<PackConfig> = {}): BatteryPack {
  return new BatteryPack({ ...siteConfig('household', 7).pack, ...over }, curve);
}

/** Run at a constant current (A, + = discharge) for `seconds` in 1 s steps. */
function run(p: BatteryPack, current: number, seconds: number): void {
  for (let s = 0; s < seconds; s++) p.step(1, current);
}

describe('Battery pack physics (16 s LFP, equivalent circuit R0 + R1||C1)', () => {
  describe('open-circuit voltage', () => {
    it('shows each cell at the measured OCV of its SoC after a rest', () => {
      const p = pack();
      run(p, 60, 1800);
      run(p, 0, 3600); // an hour of rest: the RC pair (tau 60 s) has relaxed
      for (const c of p.cellStates()) assert.ok(Math.abs(c.voltage - curve.ocv(c.soc)) < 0.0005, `cell at soc ${c.soc}: ${c.voltage} V`);
      const sum = p.cellStates().reduce((a, c) => a + c.voltage, 0);
      assert.ok(Math.abs(p.voltage - sum) < 1e-9);
    });

    it('sags below the OCV while discharging and rises above it while charging, by about I (R0 + R1)', () => {
      const d = pack();
      run(d, 100, 600);
      const cell = d.cellStates()[0];
      assert.ok(cell);
      const sag = curve.ocv(cell.soc) - cell.voltage;
      assert.ok(sag > 100 * 0.0004 * 0.7 && sag < 100 * 0.0007 * 1.5, `sag ${sag} V`);
      const c = pack();
      run(c, -100, 600);
      const cc = c.cellStates()[0];
      assert.ok(cc && cc.voltage > curve.ocv(cc.soc));
    });
  });

  describe('coulomb counting', () => {
    it('takes 25 % SoC out of a 200 Ah pack in an hour at 50 A', () => {
      const p = pack();
      const before = p.soc;
      run(p, 50, 3600);
      assert.ok(Math.abs(before - p.soc - 25) < 0.01, `SoC fell by ${before - p.soc}`);
    });

    it('gives every cell its own SoC from its own capacity (seeded manufacturing spread)', () => {
      const caps = pack().cellStates().map((c) => c.capacityAh);
      assert.ok(Math.max(...caps) - Math.min(...caps) > 0.5, 'cells differ in capacity');
      assert.deepEqual(caps, pack().cellStates().map((c) => c.capacityAh), 'same seed, same cells');
      assert.notDeepEqual(caps, pack({ seed: 8 }).cellStates().map((c) => c.capacityAh), 'another seed, other cells');
    });
  });

  describe('lumped thermal model', () => {
    it('stays at ambient at rest and warms more the higher the current', () => {
      const temps = [0, 50, 100, 150].map((i) => {
        const p = pack();
        run(p, i, 1800);
        return Math.max(...p.cellStates().map((c) => c.temp));
      });
      assert.ok(Math.abs((temps[0] ?? 0) - 20) < 1e-9, `at rest ${temps[0]}`);
      for (let k = 1; k < temps.length; k++) assert.ok((temps[k] ?? 0) > (temps[k - 1] ?? 0), `temps ${temps.join(', ')}`);
    });

    it('cools back towards ambient after the current stops', () => {
      const p = pack();
      run(p, 150, 1800);
      const hot = Math.max(...p.cellStates().map((c) => c.temp));
      run(p, 0, 7200);
      const later = Math.max(...p.cellStates().map((c) => c.temp));
      assert.ok(later < hot && later > 20);
    });

    it('follows a warmer ambient', () => {
      const p = pack();
      p.ambientC = 35;
      run(p, 0, 4 * 3600);
      assert.ok(Math.min(...p.cellStates().map((c) => c.temp)) > 30);
    });
  });

  describe('BMS protection at the LFP limits', () => {
    it('trips OVER_VOLT_ALARM above 3.65 V, opens the contactor and allows no current', () => {
      const p = pack({ initialSocPct: 97 });
      let s = 0;
      while (p.contactorClosed && s++ < 7200) p.step(1, -100);
      assert.ok(p.hasAlarm('OVER_VOLT_ALARM'), p.alarmSymbols().join());
      assert.equal(p.contactorClosed, false);
      assert.ok(Math.max(...p.cellStates().map((c) => c.voltage)) > LFP_DEFAULTS.cellVoltageMaxV);
      p.step(1, -100);
      assert.equal(p.current, 0);
      assert.equal(p.chargeLimitA, 0);
      assert.equal(p.dischargeLimitA, 0);
    });

    it('trips UNDER_VOLT_ALARM below 2.50 V', () => {
      const p = pack({ initialSocPct: 3 });
      let s = 0;
      while (p.contactorClosed && s++ < 7200) p.step(1, 100);
      assert.ok(p.hasAlarm('UNDER_VOLT_ALARM'), p.alarmSymbols().join());
      assert.ok(Math.min(...p.cellStates().map((c) => c.voltage)) < LFP_DEFAULTS.cellVoltageMinV);
      assert.equal(p.contactorClosed, false);
    });

    it('warns above 45 degC (no charging) and trips OVER_TEMP_ALARM above 55 degC', () => {
      const p = pack();
      p.faults.cellTemp.set(3, 50);
      p.step(1, 0);
      assert.ok(p.hasAlarm('OVER_TEMP_WARNING'));
      assert.equal(p.chargeLimitA, 0, 'no charging above 45 degC');
      assert.ok(p.contactorClosed);
      p.faults.cellTemp.set(3, 55.5);
      p.step(1, 0);
      assert.ok(p.hasAlarm('OVER_TEMP_ALARM'));
      assert.equal(p.contactorClosed, false);
    });

    it('trips UNDER_TEMP_ALARM below -20 degC and forbids charging below 0 degC', () => {
      const p = pack();
      p.faults.cellTemp.set(0, -5);
      p.step(1, 0);
      assert.ok(p.hasAlarm('UNDER_TEMP_WARNING'));
      assert.equal(p.chargeLimitA, 0);
      assert.ok(p.dischargeLimitA > 0);
      p.faults.cellTemp.set(0, -21);
      p.step(1, 0);
      assert.ok(p.hasAlarm('UNDER_TEMP_ALARM'));
      assert.equal(p.contactorClosed, false);
    });

    it('warns of imbalance when the cell spread exceeds 100 mV', () => {
      const p = pack();
      const v = p.cellStates()[0]?.voltage ?? 0;
      p.faults.cellVoltage.set(5, v + 0.09);
      p.step(1, 0);
      assert.ok(!p.hasAlarm('VOLTAGE_IMBALANCE_WARNING'));
      p.faults.cellVoltage.set(5, v + 0.15);
      p.step(1, 0);
      assert.ok(p.hasAlarm('VOLTAGE_IMBALANCE_WARNING'));
    });

    it('tapers the charge limit from 3.45 V and the discharge limit below 3.00 V', () => {
      const p = pack();
      assert.equal(p.chargeLimitA, 200, '1C of 200 Ah');
      p.faults.cellVoltage.set(0, 3.525);
      p.step(1, 0);
      assert.ok(Math.abs(p.chargeLimitA - 100) < 1e-6, `charge limit ${p.chargeLimitA}`);
      assert.equal(p.dischargeLimitA, 200);
      p.faults.cellVoltage.set(0, 2.8);
      p.step(1, 0);
      assert.ok(Math.abs(p.dischargeLimitA - 100) < 1e-6, `discharge limit ${p.dischargeLimitA}`);
    });

    it('recloses the contactor once the cause is gone: at once on AlmRst, else after the hold time', () => {
      const p = pack();
      p.faults.cellTemp.set(0, 60);
      p.step(1, 0);
      assert.equal(p.contactorClosed, false);
      p.faults.cellTemp.clear();
      run(p, 0, 30);
      assert.equal(p.contactorClosed, false, 'held open for autoReconnectS');
      p.resetAlarms();
      assert.equal(p.contactorClosed, true);

      p.faults.cellTemp.set(0, 60);
      p.step(1, 0);
      p.faults.cellTemp.clear();
      run(p, 0, 61);
      assert.equal(p.contactorClosed, true);
    });

    it('keeps the contactor open after a SetOp DISCONNECT until CONNECT', () => {
      const p = pack();
      p.setOperation(false);
      run(p, 50, 120);
      assert.equal(p.current, 0);
      p.setOperation(true);
      p.step(1, 50);
      assert.equal(p.current, 50);
    });
  });

  it('keeps SoC within 0..100 % and every voltage finite, whatever the current (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: -400, max: 400, noNaN: true }), fc.integer({ min: 1, max: 600 })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 100 }),
        (segments, soc) => {
          const p = pack({ initialSocPct: soc });
          for (const [i, secs] of segments) {
            for (let s = 0; s < secs; s += 10) p.step(10, i);
            assert.ok(p.soc >= 0 && p.soc <= 100, `soc ${p.soc}`);
            for (const c of p.cellStates()) assert.ok(Number.isFinite(c.voltage) && Number.isFinite(c.temp));
            assert.ok(Number.isFinite(p.chargeLimitA) && Number.isFinite(p.dischargeLimitA));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
