import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isotonic, OcvCurve, OcvCurveError } from '../../../domain/lfp/ocv-curve';
import { loadOcvPoints } from '../../../io/data/real-data';

describe('LFP open-circuit-voltage curve', () => {
  const measured = new OcvCurve(loadOcvPoints());

  it('passes through the measured points of the LithiumWerks APR18650M1B curve', () => {
    for (const p of loadOcvPoints().filter((_, i) => i % 37 === 0)) {
      assert.ok(Math.abs(measured.ocv(p.soc) - p.ocv) < 1e-9, `ocv(${p.soc})`);
    }
  });

  it('shows the LFP plateau: 3.25-3.35 V between 25 % and 90 % SoC', () => {
    for (let soc = 0.25; soc <= 0.9; soc += 0.05) {
      const v = measured.ocv(soc);
      assert.ok(v > 3.25 && v < 3.35, `ocv(${soc.toFixed(2)}) = ${v}`);
    }
  });

  it('interpolates linearly between points and holds the end values outside 0..1', () => {
    const c = new OcvCurve([{ soc: 0, ocv: 3 }, { soc: 1, ocv: 3.5 }]);
    assert.equal(c.ocv(0.5), 3.25);
    assert.equal(c.ocv(-0.2), 3);
    assert.equal(c.ocv(1.2), 3.5);
  });

  it('inverts: socAt(ocv(soc)) gives soc back wherever the curve rises', () => {
    for (const soc of [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 0.95, 0.99]) {
      assert.ok(Math.abs(measured.socAt(measured.ocv(soc)) - soc) < 1e-6, `soc ${soc}`);
    }
    assert.equal(measured.socAt(1.0), 0);
    assert.equal(measured.socAt(4.0), 1);
  });

  it('fits noisy points to a non-decreasing curve (least squares), so OCV never falls as SoC rises', () => {
    const noisy = new OcvCurve([
      { soc: 0, ocv: 3.0 }, { soc: 0.25, ocv: 3.3 }, { soc: 0.5, ocv: 3.28 }, { soc: 0.75, ocv: 3.32 }, { soc: 1, ocv: 3.4 },
    ]);
    // The dip at 0.5 is pooled with its neighbour: both become their mean 3.29.
    assert.deepEqual(noisy.points().map((p) => Number(p.ocv.toFixed(6))), [3.0, 3.29, 3.29, 3.32, 3.4]);
    assert.equal(noisy.socAt(3.29), 0.25);
  });

  it('keeps any noisy measurement monotonic (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 2, max: 4, noNaN: true })), { minLength: 2, maxLength: 60 }), (raw) => {
        fc.pre(new Set(raw.map(([s]) => s)).size >= 2);
        const c = new OcvCurve(raw.map(([soc, ocv]) => ({ soc, ocv })));
        const pts = c.points();
        for (let i = 1; i < pts.length; i++) assert.ok((pts[i]?.ocv ?? 0) >= (pts[i - 1]?.ocv ?? 0) - 1e-12);
        for (let s = 0; s <= 1; s += 0.1) assert.ok(c.ocv(s + 0.05) >= c.ocv(s) - 1e-12);
      }),
    );
  });

  it('pool-adjacent-violators keeps the mean of the data', () => {
    const ys = [1, 3, 2, 2, 5, 4];
    const fit = isotonic(ys);
    assert.equal(fit.reduce((a, b) => a + b, 0), ys.reduce((a, b) => a + b, 0));
    assert.deepEqual(fit, [1, 7 / 3, 7 / 3, 7 / 3, 4.5, 4.5]);
  });

  it('refuses fewer than two distinct points', () => {
    assert.throws(() => new OcvCurve([{ soc: 0.5, ocv: 3.3 }]), OcvCurveError);
    assert.throws(() => new OcvCurve([{ soc: 0.5, ocv: 3.3 }, { soc: 0.5, ocv: 3.31 }]), OcvCurveError);
  });
});
