import assert from 'node:assert/strict';
import { fastSite, runDays, TouController } from '../../../runtime/ml/sim-run';
import type { Site } from '../../../runtime/simulator/index';

/** Two identical packs (same seed), one with a slow fault injected, run the same days. */
function twins(fault: Parameters<Site['injectFault']>[0], days: number): { healthy: Site; faulty: Site } {
  const healthy = fastSite({ seed: 7, ageCycles: 100 });
  const faulty = fastSite({ seed: 7, ageCycles: 100 });
  faulty.injectFault(fault);
  const c1 = new TouController();
  const c2 = new TouController();
  runDays(healthy, days, () => undefined, c1);
  runDays(faulty, days, () => undefined, c2);
  return { healthy, faulty };
}

describe('simulator slow faults (POST /faults self-discharge, fan-failure, loose-connection)', function () {
  // Trains models and simulates days to a year: slow on a busy machine.
  this.timeout(300_000);
  it('self-discharge: the chosen cell loses charge the others keep, more each day', () => {
    const { healthy, faulty } = twins({ type: 'self-discharge', cell: 4 }, 6);
    // Against the other cells of its own pack (the twins' operating windows differ once the weak
    // cell ends the discharges): 1 %/day per day for 6 days is about 18 % of its capacity.
    const behind = (s: Site): number => {
      const c = s.pack.cellStates();
      const others = c.filter((_, k) => k !== 4);
      return others.reduce((a, x) => a + x.soc, 0) / others.length - c[4]!.soc;
    };
    const lost = behind(faulty) - behind(healthy);
    assert.ok(lost > 0.12 && lost < 0.25, `cell 4 fell behind by ${lost}`);
    assert.ok(faulty.pack.slow.leakA.get(4)! > 0.3);
  });

  it('fan-failure: the same duty heats the pack more as the cooling goes', () => {
    const { healthy, faulty } = twins({ type: 'fan-failure' }, 4);
    const mean = (s: Site): number => s.pack.cellStates().reduce((a, c) => a + c.temp, 0) / s.pack.cellCount;
    let hRise = 0;
    let fRise = 0;
    const c1 = new TouController();
    const c2 = new TouController();
    runDays(healthy, 1, (t) => (hRise += Number(t.tempMax) - 20), c1);
    runDays(faulty, 1, (t) => (fRise += Number(t.tempMax) - 20), c2);
    assert.ok(fRise > 3 * hRise, `rise ${fRise} vs ${hRise}`);
    assert.ok(faulty.pack.slow.cooling < 0.1);
    assert.ok(mean(faulty) >= mean(healthy));
  });

  it('loose-connection: one cell tap shows the joint drop under load, growing with time', () => {
    const { healthy, faulty } = twins({ type: 'loose-connection', cell: 9, value: 0.5 }, 3);
    // Discharge both at the same current and compare cell 9 against its twin.
    for (const s of [healthy, faulty]) {
      s.pcs.write({ wSetEna: true, wSet: 2500, wRmp: 0, wSetRvrtTms: 0 });
      s.step(60_000);
    }
    const i = faulty.pack.current;
    // Cell 9 against its pack's mean, the faulty pack against its healthy twin.
    const dev = (s: Site): number => {
      const c = s.pack.cellStates();
      return c[9]!.voltage - c.reduce((a, x) => a + x.voltage, 0) / c.length;
    };
    const drop = dev(healthy) - dev(faulty);
    const contact = faulty.pack.slow.contactOhm.get(9)!;
    assert.ok(contact > 0.0014 && contact < 0.0016, `contact ${contact}`);
    assert.ok(Math.abs(drop - (i * contact * 15) / 16) < 0.01, `drop ${drop} V at ${i} A, contact ${contact} ohm`);
  });

  it('rejects a slow fault without a positive rate, and clearing stops it', () => {
    const site = fastSite({ seed: 1 });
    assert.throws(() => site.injectFault({ type: 'fan-failure', value: 0 }), RangeError);
    site.injectFault({ type: 'fan-failure', value: 0.5 });
    site.step(86_400_000);
    assert.ok(site.pack.slow.cooling < 0.6);
    site.clearFaults('fan-failure');
    site.step(60_000);
    assert.equal(site.pack.slow.cooling, 1);
  });
});
