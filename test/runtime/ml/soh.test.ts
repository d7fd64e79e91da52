import assert from 'node:assert/strict';
import { capacityEstimates, combineSoh, pinnedRests, type BmsSample } from '../../../domain/forecast/capacity-estimate';
import { OcvCurve } from '../../../domain/lfp/ocv-curve';
import { loadOcvPoints, readAgeingData } from '../../../io/data/real-data';
import { ageingSoh, ageingToOnnx, fitAgeingModel } from '../../../runtime/ml/ageing-model';
import { openSession, runRows } from '../../../io/ml/onnx-session';

describe('state of health: ageing model fitted to the Severson 2019 LFP cell', () => {
  const model = fitAgeingModel(readAgeingData());

  it('follows the measured fade within 1 point RMS, from ~100 % over the first 100 cycles to the knee near 77 %', () => {
    assert.ok(model.rmsePct < 1, `rmse ${model.rmsePct}`);
    for (const c of [10, 50, 100]) assert.ok(Math.abs(ageingSoh(model, c) - 100) < 1.5, `SoH(${c}) ${ageingSoh(model, c)}`);
    const end = ageingSoh(model, 509);
    assert.ok(end > 74 && end < 80, `SoH(509) ${end}`);
    assert.ok(ageingSoh(model, 400) > ageingSoh(model, 500));
  });

  it('continues past the last measured cycle along its final slope, down to 50 % and never below (a cubic would run off)', async () => {
    const last = ageingSoh(model, model.maxCycles);
    assert.ok(model.tailSlopePerCycle < -0.1 && model.tailSlopePerCycle > -0.3, `slope ${model.tailSlopePerCycle} %/cycle`);
    assert.ok(Math.abs(ageingSoh(model, model.maxCycles + 50) - (last + 50 * model.tailSlopePerCycle)) < 1e-3);
    assert.equal(ageingSoh(model, 800), 50);
    assert.equal(ageingSoh(model, 6000), 50);
    const session = await openSession(ageingToOnnx(model));
    try {
      const cycles = Float32Array.of(model.maxCycles + 1, model.maxCycles + 100, 800, 3000);
      const out = await runRows(session, cycles, 1);
      cycles.forEach((c, i) => assert.ok(Math.abs(out[i]! - ageingSoh(model, c)) < 1e-3, `cycles ${c}: onnx ${out[i]} vs ${ageingSoh(model, c)}`));
    } finally {
      await session.release();
    }
  });

  it('starts a new pack at exactly 100 % (the intercept is held, not fitted)', async () => {
    assert.equal(model.coef[0], 100);
    assert.ok(Math.abs(ageingSoh(model, 0) - 100) < 1e-4, `SoH(0) ${ageingSoh(model, 0)}`);
    const session = await openSession(ageingToOnnx(model));
    try {
      const [atZero] = await runRows(session, Float32Array.of(0), 1);
      assert.ok(Math.abs(atZero! - 100) < 1e-4, `ONNX SoH(0) ${atZero}`);
    } finally {
      await session.release();
    }
  });

  it('gives the same SoH through onnxruntime-web as in TypeScript (1e-4 relative)', async () => {
    const session = await openSession(ageingToOnnx(model));
    try {
      const cycles = Float32Array.from({ length: 52 }, (_, i) => i * 10);
      const out = await runRows(session, cycles, 1);
      cycles.forEach((c, i) => {
        const js = ageingSoh(model, c);
        assert.ok(Math.abs(out[i]! - js) <= 1e-4 * Math.abs(js), `cycles ${c}: onnx ${out[i]} vs ${js}`);
      });
    } finally {
      await session.release();
    }
  });
});

describe('state of health: capacity from coulomb counting between OCV-pinned rests', () => {
  const ocv = new OcvCurve(loadOcvPoints());
  const trueAh = 2.0;

  /** A cell at soc0 rests an hour, moves at currentA until soc1, rests an hour: 1-minute samples. */
  function cycle(soc0: number, soc1: number, currentA: number, t0 = 0): BmsSample[] {
    const out: BmsSample[] = [];
    let t = t0;
    let soc = soc0;
    for (let k = 0; k < 60; k++, t += 60_000) out.push({ ts: t, currentA: 0, cellV: ocv.ocv(soc) });
    while ((currentA > 0 && soc > soc1) || (currentA < 0 && soc < soc1)) {
      out.push({ ts: t, currentA, cellV: ocv.ocv(soc) - 0.05 * Math.sign(currentA) });
      soc -= (currentA * 60) / 3600 / trueAh;
      t += 60_000;
    }
    for (let k = 0; k < 60; k++, t += 60_000) out.push({ ts: t, currentA: 0, cellV: ocv.ocv(soc) });
    return out;
  }

  it('recovers the true capacity from a deep discharge between two steep-OCV rests', () => {
    const est = capacityEstimates(cycle(0.98, 0.08, 1.0), ocv);
    assert.equal(est.length, 1);
    assert.ok(Math.abs(est[0]!.capacityAh - trueAh) / trueAh < 0.03, `estimate ${est[0]!.capacityAh}`);
  });

  it('does not pin SoC at rests on the flat LFP plateau', () => {
    const pins = pinnedRests(cycle(0.6, 0.5, 1.0), ocv);
    assert.equal(pins.length, 0);
  });

  it('weights measurements against the ageing prior by their SoC swing', () => {
    const est = [{ from: 0, to: 1, capacityAh: 1.8, swing: 0.9 }];
    const soh = combineSoh(95, 5, est, 2.0);
    assert.ok(soh < 91 && soh > 90, `combined ${soh}`);
    assert.equal(combineSoh(95, 5, [], 2.0), 95);
  });
});
