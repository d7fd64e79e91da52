// The offline planner's optimum on cases small enough to check by hand.
import assert from 'node:assert/strict';
import { optimalPeak, type PlannerBattery } from '../../../domain/peak-shaving/planner';

const battery = (over: Partial<PlannerBattery> = {}): PlannerBattery => ({
  capacityWh: 2000, initialSocPct: 100, minSocPct: 0, maxSocPct: 100, maxChargeW: 10_000, maxDischargeW: 10_000, efficiency: 1, ...over,
});

describe('peak planner (LP, perfect foresight)', function () {
  this.timeout(30_000);

  it('shaves a single spike by the energy stored: 5 kW for 1 h with 2 kWh gives a 3 kW peak', async () => {
    const plan = await optimalPeak({ netW: [1000, 1000, 5000, 1000], stepH: 1, battery: battery() });
    assert.ok(plan.optimal);
    assert.ok(Math.abs(plan.peakW - 3000) < 1e-3, `peak ${plan.peakW}`);
  });

  it('charges before the spike when starting empty, paying the losses both ways', async () => {
    // 2 h at 1 kW then 1 h at 5 kW, eta 0.9 each way: 0.81 * 2 (P - 1000) = 5000 - P -> P = 6620 / 2.62.
    const plan = await optimalPeak({ netW: [1000, 1000, 5000], stepH: 1, battery: battery({ capacityWh: 10_000, initialSocPct: 0, efficiency: 0.9 }) });
    assert.ok(Math.abs(plan.peakW - 6620 / 2.62) < 0.5, `peak ${plan.peakW}`);
  });

  it('is held by the power limit when energy is plentiful', async () => {
    const plan = await optimalPeak({ netW: [1000, 9000], stepH: 1, battery: battery({ capacityWh: 100_000, maxDischargeW: 3000 }) });
    assert.ok(Math.abs(plan.peakW - 6000) < 1e-3);
  });

  it('gives a feasible schedule: grid under the peak, SoC inside its window, no battery export', async () => {
    const netW = Array.from({ length: 96 }, (_, i) => 800 + 2500 * Math.max(0, Math.sin((i / 96) * 2 * Math.PI)) - (i > 40 && i < 60 ? 3000 : 0));
    const b = battery({ capacityWh: 10_000, initialSocPct: 50, minSocPct: 5, maxSocPct: 95, maxChargeW: 5000, maxDischargeW: 5000, efficiency: 0.95 });
    const plan = await optimalPeak({ netW, stepH: 0.25, battery: b });
    assert.ok(plan.optimal);
    assert.ok(plan.peakW < Math.max(...netW));
    plan.gridW.forEach((g, t) => {
      assert.ok(g <= plan.peakW + 1e-3, `step ${t}: grid ${g} above ${plan.peakW}`);
      const p = plan.powerW[t] ?? 0;
      assert.ok(p <= Math.max(0, netW[t] ?? 0) + 1e-3, `step ${t}: battery exports`);
      assert.ok(p >= -5000 - 1e-3 && p <= 5000 + 1e-3);
    });
    for (const s of plan.socPct) assert.ok(s >= 5 - 1e-6 && s <= 95 + 1e-6);
  });

  it('needs no battery when nothing is imported', async () => {
    const plan = await optimalPeak({ netW: [-500, -200], stepH: 1, battery: battery() });
    assert.equal(plan.peakW, 0);
  });
});
