// The plan followed on the simulator: the arbitrage node in the edge control loop (device nodes ->
// safety-limits -> arbiter -> pcs-setpoint over Modbus TCP), simulated time 300 times faster than
// the wall clock (a 15 min step in 3 s). At the end of every step the simulator's own SoC (GET
// /state, coulomb counted) is within 1 %-point of what the plan in force at the step's start said.
import assert from 'node:assert/strict';
import helper, { type TestNode } from 'node-red-node-test-helper';
import type { Plan, PriceSeries } from '../../../domain/contracts';
import arbitrage from '../../../nodes/arbitrage/arbitrage';
import { startSimulator, type RunningSimulator, type SiteState } from '../../../runtime/simulator';
import { edgeLoopFlow, LOOP_NODES } from '../../flows/edge-loop';
import { tempUserDirPerTest } from '../../user-dir';

helper.init(require.resolve('node-red'));

const SPEED = 300;
const STEP_MS = 15 * 60_000;
const STEPS_CHECKED = Number(process.env.STEPS ?? 6);

describe('arbitrage on the simulator', function () {
  tempUserDirPerTest();
  this.timeout(120_000);
  let sim: RunningSimulator;

  afterEach(async () => {
    await helper.unload();
    await sim?.close();
  });

  it('keeps the simulated SoC within 1 % of the planned trajectory at every step end', async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, speed: SPEED, tickMs: 20 });
    const state = async (): Promise<SiteState> => (await fetch(`http://127.0.0.1:${sim.controlPort}/state`)).json() as Promise<SiteState>;
    // Stale after 20 cycles (2 s): this test is about following the plan, not about stale data.
    const flow = edgeLoopFlow({ modbusPort: sim.modbusPort, cycleMs: 100, taps: {}, staleCycles: 20 });
    // The arbiter's ramp is in wall-clock W/s; at 300x it would stretch over most of a step.
    const arb = flow.find((n) => n.id === 'edge-arbiter');
    if (arb) arb.rampWPerS = 1_000_000;
    // The PCS's revert timer counts simulated seconds: 5 s would lapse 6 times between two
    // heartbeats 100 ms (30 simulated s) apart. 600 simulated s is 2 s of wall clock.
    const write = flow.find((n) => n.id === 'edge-pcs-write');
    if (write) write.revertTimeout = 600;
    // The PCS's losses at 2.5 kW of a 5 kW rating (about 97 %, runtime/simulator/pcs.ts) and the
    // cells' resistance: 0.96 each way is what the simulated site does at this power.
    flow.push(
      { id: 'sim-arbitrage', type: 'arbitrage', z: 'edge-tab', siteId: 'site-1', capacityKwh: '', powerKw: 2.5, etaCharge: 0.96, etaDischarge: 0.96,
        socMinPct: 10, socMaxPct: 90, horizonHours: 6, socDeviationPct: 50, speed: SPEED, wires: [['edge-arbiter'], ['plans']] },
      { id: 'plans', type: 'helper', z: 'edge-tab' },
    );
    const battery = flow.find((n) => n.id === 'edge-battery');
    battery?.wires?.[0]?.push('sim-arbitrage');
    await helper.load([...LOOP_NODES, arbitrage], flow);

    // Alternating cheap and dear half-hours: every step moves the battery.
    const start = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    const pattern = [20, 20, 120, 120];
    const series: PriceSeries = { start, stepMinutes: 15, pricesEurPerMWh: Array.from({ length: 96 }, (_, i) => pattern[i % 4] as number) };
    helper.getNode('sim-arbitrage').receive({ topic: 'prices', payload: series });

    const plans: TestNode = helper.getNode('plans');
    const firstForStep = new Map<number, Plan>();
    const errors: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${errors.length} steps checked`)), 90_000);
      plans.on('input', (msg: { payload?: unknown }) => {
        const p = msg.payload as Plan;
        const step = p.steps[0]?.start ?? 0;
        if (firstForStep.has(step)) return;
        void state().then((s) => {
          // The plan made at the start of the previous step said where this step would begin.
          const previous = firstForStep.get(step - STEP_MS);
          firstForStep.set(step, p);
          // Judge steps that began with the loop running: the first one also holds its start-up.
          if (!previous || previous.reason !== 'new step' || p.reason !== 'new step') return;
          const planned = previous.steps[0]?.socPct ?? NaN;
          errors.push(`${(previous.steps[0]?.powerW ?? 0).toFixed(0)} W: planned ${planned.toFixed(2)} %, simulated ${s.pack.soc.toFixed(2)} %`);
          if (Math.abs(planned - s.pack.soc) > 1 && !process.env.STEPS) {
            clearTimeout(timer);
            reject(new Error(`SoC left the plan: ${errors.join('; ')}`));
          } else if (errors.length >= STEPS_CHECKED) {
            clearTimeout(timer);
            resolve();
          }
        }, reject);
      });
    });
    if (process.env.STEPS) console.log(errors.join('\n'));
    const moved = [...firstForStep.values()].filter((p) => Math.abs(p.steps[0]?.powerW ?? 0) > 100).length;
    assert.ok(moved >= 3, `the battery charged and discharged in most steps: ${errors.join('; ')}`);
  });
});
