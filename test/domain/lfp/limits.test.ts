import assert from 'node:assert/strict';
import { ZodError } from 'zod';
import { chargeCurrentFactor, dischargeCurrentFactor, LFP_DEFAULTS, lfpProfile } from '../../../domain/lfp/limits';

describe('LFP limits profile', () => {
  it('holds the LiFePO4 defaults of docs/ARCHITECTURE.md', () => {
    const p = LFP_DEFAULTS;
    assert.deepEqual(
      [p.cellVoltageMinV, p.cellVoltageMaxV, p.chargeTaperStartV, p.dischargeTaperStartV],
      [2.5, 3.65, 3.45, 3.0],
    );
    assert.deepEqual([p.chargeTempMinC, p.chargeDerateAboveC, p.chargeTempMaxC], [0, 40, 45]);
    assert.deepEqual([p.dischargeTempMinC, p.dischargeTempMaxC], [-20, 55]);
    assert.deepEqual([p.maxChargeC, p.maxDischargeC, p.socMinPct, p.socMaxPct, p.cellSpreadMaxV], [1, 1, 5, 95, 0.1]);
    assert.ok(Object.isFrozen(LFP_DEFAULTS));
  });

  it('lets a device profile override single values and rejects inconsistent ones', () => {
    assert.equal(lfpProfile({ maxChargeC: 0.5 }).maxChargeC, 0.5);
    assert.equal(lfpProfile({ maxChargeC: 0.5 }).cellVoltageMaxV, 3.65);
    assert.throws(() => lfpProfile({ chargeTaperStartV: 3.7 }), ZodError);
    assert.throws(() => lfpProfile({ socMinPct: 96 }), ZodError);
  });

  describe('charge current factor', () => {
    const p = LFP_DEFAULTS;
    it('allows full current up to the taper start and none at the taper end', () => {
      assert.equal(chargeCurrentFactor(p, 3.3, 25, 25), 1);
      assert.equal(chargeCurrentFactor(p, 3.45, 25, 25), 1);
      assert.ok(Math.abs(chargeCurrentFactor(p, 3.525, 25, 25) - 0.5) < 1e-9);
      assert.equal(chargeCurrentFactor(p, 3.6, 25, 25), 0);
      assert.equal(chargeCurrentFactor(p, 3.7, 25, 25), 0);
    });
    it('derates above 40 degC, stops at 45 degC and below 0 degC', () => {
      assert.ok(Math.abs(chargeCurrentFactor(p, 3.3, 42.5, 25) - 0.5) < 1e-9);
      assert.equal(chargeCurrentFactor(p, 3.3, 45, 25), 0);
      assert.equal(chargeCurrentFactor(p, 3.3, 25, -0.1), 0);
      assert.equal(chargeCurrentFactor(p, 3.3, 25, 0), 1);
    });
    it('treats a NaN reading as no permission', () => {
      assert.equal(chargeCurrentFactor(p, Number.NaN, 25, 25), 0);
    });
  });

  describe('discharge current factor', () => {
    const p = LFP_DEFAULTS;
    it('allows full current down to 3.00 V and tapers to none at the taper end', () => {
      assert.equal(dischargeCurrentFactor(p, 3.0, 25, 25), 1);
      assert.ok(Math.abs(dischargeCurrentFactor(p, 2.8, 25, 25) - 0.5) < 1e-9);
      assert.equal(dischargeCurrentFactor(p, 2.6, 25, 25), 0);
      assert.equal(dischargeCurrentFactor(p, 2.4, 25, 25), 0);
    });
    it('allows -20..55 degC and derates the last 5 K', () => {
      assert.equal(dischargeCurrentFactor(p, 3.3, 25, -20), 1);
      assert.equal(dischargeCurrentFactor(p, 3.3, 25, -21), 0);
      assert.ok(Math.abs(dischargeCurrentFactor(p, 3.3, 52.5, 25) - 0.5) < 1e-9);
      assert.equal(dischargeCurrentFactor(p, 3.3, 55, 25), 0);
    });
  });
});
