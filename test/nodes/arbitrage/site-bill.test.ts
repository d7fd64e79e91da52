// The arbitrage node with objective 'bill': a plan against the site's tariff, and a battery power
// that follows the meter between plans.
import assert from 'node:assert/strict';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import type { Plan, Request } from '../../../domain/contracts';
import arbitrage from '../../../nodes/arbitrage/arbitrage';
import { siteTelemetry } from './site-telemetry';

helper.init(require.resolve('node-red'));

interface Msg { payload?: unknown; topic?: string }
function nextMsg(node: TestNode, ms = 5000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message')), ms);
    node.once('input', (msg: Msg) => { clearTimeout(timer); resolve(msg); });
  });
}
const telemetry = siteTelemetry;
const HOUR = 3_600_000;
const flow = (over: Record<string, unknown> = {}): TestFlowNode[] => [
  { id: 'arb', type: 'arbitrage', siteId: 'site-1', powerKw: 5, capacityKwh: '', objective: 'bill', importAdderEurPerKwh: 0.2, feedInEurPerKwh: 0.08, ...over, wires: [['req'], ['plan']] },
  { id: 'req', type: 'helper' },
  { id: 'plan', type: 'helper' },
];

describe('arbitrage node, objective "bill"', () => {
  afterEach(() => helper.unload());

  it('plans in 15-minute steps at the tariff\'s prices, serves the measured load, and follows the meter', async () => {
    await helper.load(arbitrage, flow());
    const arb = helper.getNode('arb');
    const req = helper.getNode('req');
    const plan = nextMsg(helper.getNode('plan'));
    let first = nextMsg(req);
    // The site draws 2 kW; spot is dearest in the first two hours: the stored energy serves the load now.
    arb.receive({ payload: telemetry(60, 2000) });
    arb.receive({ topic: 'prices', payload: { start: Math.floor(Date.now() / HOUR) * HOUR, stepMinutes: 60, pricesEurPerMWh: [100, 100, 50, 50, 50, 50] } });
    const p = (await plan).payload as Plan;
    assert.equal(p.stepMinutes, 15);
    assert.equal(p.steps[0]?.importEurPerKwh, 0.3);
    assert.equal(p.steps[0]?.exportEurPerKwh, 0.08);
    assert.ok(p.billEur !== undefined && p.billNoBatteryEur !== undefined && p.billEur < p.billNoBatteryEur, `bill ${p.billEur} vs ${p.billNoBatteryEur}`);
    const r1 = (await first).payload as Request;
    assert.equal(r1.level, 5);
    assert.ok(Math.abs(r1.powerW - 2000) <= 1, `serves the 2 kW load, got ${r1.powerW} W`);
    // The site's net load rises to 3 kW (no PCS part here: the meter alone is the net load): the
    // battery follows the meter within the same plan step.
    first = nextMsg(req);
    arb.receive({ payload: { siteId: 'site-1', ts: Date.now(), meter: telemetry(60, 3000).meter } });
    const r2 = (await first).payload as Request;
    assert.ok(Math.abs(r2.powerW - 3000) <= 1, `follows the meter, got ${r2.powerW} W`);
    assert.match(r2.reason ?? '', /following the meter/);
  });

  it('under a demand charge holds the import at the level the forecast\'s hard hours need: a low battery charges under it', async () => {
    await helper.load(arbitrage, flow({ demandChargeEurPerKw: 10 }));
    const arb = helper.getNode('arb');
    const req = helper.getNode('req');
    const first = nextMsg(req);
    // No history of its own yet: the load-forecast node's day stands in, 3 kW from now on.
    const start = Math.floor(Date.now() / 900_000) * 900_000;
    arb.receive({ topic: 'load-forecast', payload: { siteId: 'site-1', ts: Date.now(), start, stepMinutes: 15, loadKw: Array.from({ length: 96 }, () => 3), model: 'test', filledSteps: 0 } });
    // The battery is at 20 % (under the reserve), the site draws 0.5 kW now.
    arb.receive({ payload: telemetry(20, 500) });
    arb.receive({ topic: 'prices', payload: { start: Math.floor(Date.now() / HOUR) * HOUR, stepMinutes: 60, pricesEurPerMWh: [50, 50, 50, 50, 50, 50] } });
    const r = (await first).payload as Request;
    // A target of zero (the month's peak so far) would leave it nothing to charge with before the 3 kW hours.
    assert.ok(r.powerW < -1000, `charges under the target, got ${r.powerW} W`);
    assert.ok(0.5 - r.powerW / 1000 <= 3 + 1e-6, `imports ${0.5 - r.powerW / 1000} kW, above the hard hours' load`);
  });

  it('refuses a tariff outside its bounds with a clear error and plans nothing', async () => {
    await helper.load(arbitrage, flow({ vatFactor: 0.5 }));
    const arb = helper.getNode('arb');
    let sent = 0;
    helper.getNode('req').on('input', () => sent++);
    arb.receive({ payload: telemetry(60, 2000) });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sent, 0);
  });
});
