// The arbitrage node: given prices and battery telemetry, this request and this plan.
import assert from 'node:assert/strict';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import type { Plan, PriceSeries, Request } from '../../../domain/contracts';
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
const battery = siteTelemetry;
const HOUR = 3_600_000;
/** Prices from the current hour: `now` at the first, then the rest. */
function prices(...p: number[]): PriceSeries {
  return { start: Math.floor(Date.now() / HOUR) * HOUR, stepMinutes: 60, pricesEurPerMWh: p };
}
const flow = (over: Record<string, unknown> = {}): TestFlowNode[] => [
  { id: 'arb', type: 'arbitrage', siteId: 'site-1', powerKw: 5, capacityKwh: '', ...over, wires: [['req'], ['plan']] },
  { id: 'req', type: 'helper' },
  { id: 'plan', type: 'helper' },
];

describe('arbitrage node', () => {
  afterEach(() => helper.unload());

  it('asks to charge now when now is cheap and later is dear, with a level-5 request that ends with the step', async () => {
    await helper.load(arbitrage, flow());
    const req = nextMsg(helper.getNode('req'));
    const plan = nextMsg(helper.getNode('plan'));
    helper.getNode('arb').receive({ payload: battery(20) });
    helper.getNode('arb').receive({ topic: 'prices', payload: prices(10, 200, 200, 20, 20) });
    const r = (await req).payload as Request;
    assert.equal(r.level, 5);
    assert.equal(r.source, 'arbitrage');
    assert.ok(r.powerW < 0, `charging, got ${r.powerW} W`);
    const stepEnd = Math.floor(Date.now() / HOUR) * HOUR + HOUR;
    assert.ok(r.expiresAt > stepEnd && r.expiresAt <= stepEnd + 10_000, 'expires just after the step');
    const p = (await plan).payload as Plan;
    assert.equal(p.steps.length, 5);
    assert.ok((p.steps[1]?.powerW ?? 0) > 0, 'then discharges');
    assert.ok(p.steps.every((s) => s.socPct >= 5 - 1e-6 && s.socPct <= 95 + 1e-6));
  });

  it('uses the configured capacity over the telemetry and re-plans when the SoC leaves the plan', async () => {
    await helper.load(arbitrage, flow({ capacityKwh: 20, socDeviationPct: 2 }));
    const plans = helper.getNode('plan');
    let first = nextMsg(plans);
    helper.getNode('arb').receive({ payload: battery(50) });
    helper.getNode('arb').receive({ topic: 'prices', payload: prices(50, 50, 300) });
    const p1 = (await first).payload as Plan;
    assert.match(p1.reason, /prices|first plan/);
    // Within the threshold: no new plan; beyond it: a new one from the measured SoC.
    first = nextMsg(plans, 1000);
    helper.getNode('arb').receive({ payload: battery(30) });
    const p2 = (await first).payload as Plan;
    assert.match(p2.reason, /SoC 30\.0 %/);
  });

  it('stays silent while disabled and says so', async () => {
    await helper.load(arbitrage, flow({ enabled: false }));
    const n = helper.getNode('arb');
    let sent = 0;
    helper.getNode('req').on('input', () => sent++);
    n.receive({ payload: battery(50) });
    n.receive({ topic: 'prices', payload: prices(10, 200) });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sent, 0);
  });

  it('reports a malformed price series as an error', async () => {
    await helper.load(arbitrage, flow());
    const n = helper.getNode('arb');
    const err = new Promise<string>((resolve) => n.once('call:error', (c: { firstArg: unknown }) => resolve(String(c.firstArg))));
    n.receive({ topic: 'prices', payload: { start: 1, stepMinutes: 7, pricesEurPerMWh: [] } });
    assert.match(await err, /bad price series/);
  });
});
