import assert from 'node:assert/strict';
import { readAgeingData } from '../../../io/data/real-data';
import { fastSite, runDays, TouController } from '../../../runtime/ml/sim-run';
import { createSite, measuredAgeingCurve, startSimulator } from '../../../runtime/simulator/index';
import { RESISTANCE_PER_FADE } from '../../../runtime/simulator/ageing';

describe('simulator ageing: capacity fade and resistance growth follow the Severson 2019 LFP data', function () {
  // Trains models and simulates days to a year: slow on a busy machine.
  this.timeout(300_000);
  const data = readAgeingData();
  const ref = data.filter((p) => p.cycle <= 10).reduce((s, p) => s + p.capacityPct, 0) / data.filter((p) => p.cycle <= 10).length;

  it('gives each measured cycle the measured capacity relative to cycles 1..10', () => {
    const curve = measuredAgeingCurve();
    for (const p of data.filter((x) => x.cycle % 50 === 0)) {
      assert.ok(Math.abs(curve.capacityFactor(p.cycle) - Math.min(1, p.capacityPct / ref)) < 1e-9, `cycle ${p.cycle}`);
    }
    assert.equal(curve.capacityFactor(0), 1);
    assert.ok(curve.capacityFactor(600) < curve.capacityFactor(509), 'the knee goes on beyond the data');
    assert.ok(Math.abs(curve.resistanceFactor(500) - (1 + RESISTANCE_PER_FADE * (1 - curve.capacityFactor(500)))) < 1e-12);
  });

  it('starts a pack at an age: cells have the measured capacity and a higher resistance', () => {
    const young = createSite('household', 5, undefined, 0);
    const old = createSite('household', 5, undefined, 450);
    const q = measuredAgeingCurve().capacityFactor(450);
    assert.ok(Math.abs(old.pack.capacitySohPct / young.pack.capacitySohPct - q) < 1e-9);
    const y = young.pack.cellStates();
    old.pack.cellStates().forEach((c, k) => assert.ok(c.resistance > y[k]!.resistance * 1.05, `cell ${k}`));
    assert.ok(Math.abs(old.state().pack.cycles - 450) < 1e-9);
  });

  it('fades with equivalent full cycles as the pack is cycled, as the data says for those cycles', () => {
    const site = fastSite({ seed: 3, ageCycles: 300 });
    const before = site.pack.capacitySohPct;
    const c0 = site.pack.cycles;
    runDays(site, 30, () => undefined, new TouController());
    const c1 = site.pack.cycles;
    assert.ok(c1 - c0 > 20, `only ${c1 - c0} cycles in 30 days`);
    const curve = measuredAgeingCurve();
    const expected = before * (curve.capacityFactor(c1) / curve.capacityFactor(c0));
    assert.ok(Math.abs(site.pack.capacitySohPct - expected) < 0.05, `SoH ${site.pack.capacitySohPct} vs ${expected}`);
    assert.ok(site.pack.capacitySohPct < before - 0.5);
  });

  it('takes an age over the control API (POST /age) and rejects a bad one', async () => {
    const sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 2 });
    try {
      const base = `http://127.0.0.1:${sim.controlPort}`;
      const ok = await fetch(`${base}/age`, { method: 'POST', body: JSON.stringify({ cycles: 480 }) });
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { cycles: number; capacitySoh: number };
      assert.ok(body.cycles >= 480 && body.cycles < 480.01);
      const state = (await (await fetch(`${base}/state`)).json()) as { pack: { capacitySoh: number; soh: number } };
      assert.ok(state.pack.capacitySoh < 85, `capacitySoh ${state.pack.capacitySoh}`);
      const bad = await fetch(`${base}/age`, { method: 'POST', body: JSON.stringify({ cycles: -1 }) });
      assert.equal(bad.status, 400);
    } finally {
      await sim.close();
    }
  });
});
