import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pcs } from '../../../runtime/simulator/pcs';
import { siteConfig } from '../../../runtime/simulator/site';

const unlimited = { chargeW: 1e9, dischargeW: 1e9 };
const pcs = (): Pcs => new Pcs(siteConfig('household').pcs);

function run(p: Pcs, seconds: number, dc = unlimited): void {
  for (let s = 0; s < seconds; s++) p.step(1, dc);
}

describe('PCS (5 kW inverter following the SunSpec 704 setpoint)', () => {
  it('has a realistic efficiency curve: poor at very low load, about 97 % mid-range, a little lower at full power', () => {
    const p = pcs();
    const eta = (w: number): number => p.efficiency(w);
    assert.ok(eta(100) < 0.85, `2 %: ${eta(100)}`);
    assert.ok(eta(500) > 0.93 && eta(500) < 0.96, `10 %: ${eta(500)}`);
    assert.ok(eta(2000) > 0.965 && eta(2000) < 0.975, `40 %: ${eta(2000)}`);
    assert.ok(eta(5000) > 0.96 && eta(5000) < eta(2000), `100 %: ${eta(5000)}`);
    assert.ok(Math.abs(eta(-2000) - eta(2000)) < 0.002, 'about symmetric for charging');
    assert.ok(p.dcFor(2000) > 2000 && p.dcFor(-2000) > -2000, 'losses come from the DC side when discharging, off the charge when charging');
  });

  it('idles at 0 W with setpoint disabled, drawing its standby power from the battery', () => {
    const p = pcs();
    p.write({ wSet: 3000 });
    run(p, 5);
    assert.equal(p.acPower, 0);
    assert.equal(p.dcPower, 10);
    assert.equal(p.state, 'STANDBY');
  });

  it('ramps to the setpoint at WRmp % of WMax per second', () => {
    const p = pcs();
    p.write({ wSetEna: true, wSet: 5000, wRmp: 20, wSetRvrtTms: 0 });
    run(p, 2);
    assert.equal(Math.round(p.acPower), 2000);
    run(p, 3);
    assert.equal(Math.round(p.acPower), 5000);
    assert.equal(p.state, 'RUNNING');
    p.write({ wSet: -5000 });
    run(p, 5);
    assert.equal(Math.round(p.acPower), 0, 'five seconds at 1 kW/s down from +5 kW');
    run(p, 5);
    assert.equal(Math.round(p.acPower), -5000);
  });

  it('follows WSetPct of WMax in W_MAX_PCT mode', () => {
    const p = pcs();
    p.write({ wSetEna: true, wSetMod: 'W_MAX_PCT', wSetPct: -40, wRmp: 0, wSetRvrtTms: 0 });
    run(p, 1);
    assert.equal(Math.round(p.acPower), -2000);
  });

  it('obeys the BMS: no more DC power than its current limits allow, at once and not through the ramp', () => {
    const p = pcs();
    p.write({ wSetEna: true, wSet: 4000, wRmp: 0, wSetRvrtTms: 0 });
    run(p, 1);
    run(p, 1, { chargeW: 5000, dischargeW: 1500 });
    assert.ok(p.dcPower <= 1500 + 1e-6 && p.dcPower > 1400, `dc ${p.dcPower}`);
    assert.equal(p.state, 'THROTTLED');
    run(p, 1, { chargeW: 5000, dischargeW: 0 });
    assert.equal(p.acPower, 0);
  });

  describe('revert timer (704 WSetRvrtTms)', () => {
    it('returns to 0 W and disables WSet when no fresh setpoint arrives in time, counting WSetRvrtRem down', () => {
      const p = pcs();
      p.write({ wSetEna: true, wSet: 2000, wRmp: 0, wSetRvrtTms: 10 });
      run(p, 4);
      assert.equal(Math.ceil(p.revertRemainingS), 6);
      assert.equal(p.acPower, 2000);
      run(p, 6);
      assert.equal(p.controls.wSet, 0);
      assert.equal(p.controls.wSetEna, false);
      assert.equal(p.revertRemainingS, 0);
      assert.equal(p.acPower, 0);
    });

    it('restarts on every write of WSet, so a controller with a heartbeat keeps the PCS running', () => {
      const p = pcs();
      p.write({ wSetEna: true, wSet: 2000, wRmp: 0, wSetRvrtTms: 10 });
      for (let k = 0; k < 5; k++) {
        run(p, 8);
        p.write({ wSet: 2000 });
      }
      run(p, 8);
      assert.equal(p.acPower, 2000);
    });

    it('counts wall-clock seconds, so a 1 Hz heartbeat holds the PCS in a simulation at --speed 60', () => {
      const p = pcs();
      p.write({ wSetEna: true, wSet: 2000, wRmp: 0, wSetRvrtTms: 5 });
      // 60 simulated seconds per wall second: 4 wall seconds between writes stay inside the 5 s.
      for (let k = 0; k < 4; k++) {
        for (let i = 0; i < 40; i++) p.step(6, unlimited, 0.1);
        p.write({ wSet: 2000 });
      }
      assert.equal(p.acPower, 2000);
      for (let i = 0; i < 60; i++) p.step(6, unlimited, 0.1);
      assert.equal(p.controls.wSetEna, false, 'no write for 6 wall seconds: reverted');
    });

    it('never reverts with WSetRvrtTms 0', () => {
      const p = pcs();
      p.write({ wSetEna: true, wSet: 1000, wRmp: 0, wSetRvrtTms: 0 });
      run(p, 3600);
      assert.equal(p.acPower, 1000);
    });
  });

  it('goes to FAULT and 0 W on a PCS fault, at once', () => {
    const p = pcs();
    p.write({ wSetEna: true, wSet: 3000, wRmp: 0, wSetRvrtTms: 0 });
    run(p, 1);
    p.fault = true;
    p.step(0.1, unlimited);
    assert.equal(p.state, 'FAULT');
    assert.equal(p.acPower, 0);
  });

  it('never exceeds its rating or its written WMax, whatever is written (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            wSet: fc.integer({ min: -100_000, max: 100_000 }),
            wSetPct: fc.integer({ min: -100, max: 100 }),
            wSetMod: fc.constantFrom('WATTS' as const, 'W_MAX_PCT' as const),
            wMax: fc.integer({ min: 0, max: 20_000 }),
            wRmp: fc.integer({ min: 0, max: 200 }),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (writes) => {
          const p = pcs();
          for (const w of writes) {
            p.write({ ...w, wSetEna: true });
            run(p, 3);
            assert.ok(Math.abs(p.acPower) <= Math.min(5000, p.controls.wMax) + 1e-6, `${p.acPower} W`);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
