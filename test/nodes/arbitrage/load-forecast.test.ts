// The arbitrage node with the load-forecast node's message: the forecast evening peak shapes the plan.
import assert from 'node:assert/strict';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import type { Plan, LoadForecast } from '../../../domain/contracts';
import arbitrage from '../../../nodes/arbitrage/arbitrage';
import { siteTelemetry } from './site-telemetry';

helper.init(require.resolve('node-red'));

const HOUR = 3_600_000;
interface Msg { payload?: unknown; topic?: string }
function nextPlan(node: TestNode, ms = 10_000): Promise<Plan> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no plan')), ms);
    node.once('input', (msg: Msg) => { clearTimeout(timer); resolve(msg.payload as Plan); });
  });
}
const telemetry = siteTelemetry;
/** 96 quarter-hours from the current hour: 1 kW, 7 kW through the next hour. */
function forecast(siteId = 'site-1'): LoadForecast {
  const start = Math.floor(Date.now() / HOUR) * HOUR;
  const loadKw = Array.from({ length: 96 }, (_, i) => (i >= 4 && i < 8 ? 7 : 1));
  return { siteId, ts: Date.now(), start, stepMinutes: 15, loadKw, model: 'test', filledSteps: 0 };
}
const flow: TestFlowNode[] = [
  { id: 'arb', type: 'arbitrage', siteId: 'site-1', powerKw: 5, capacityKwh: '', etaCharge: 1, etaDischarge: 1, socMinPct: 0, socMaxPct: 100,
    gridImportMaxKw: 3, socDeviationPct: 50, wires: [['req'], ['plan']] },
  { id: 'req', type: 'helper' },
  { id: 'plan', type: 'helper' },
];

describe('arbitrage node with a load forecast', () => {
  afterEach(() => helper.unload());

  it('re-plans on a forecast of its site and keeps energy for the forecast peak under the import limit', async () => {
    await helper.load(arbitrage, flow);
    const arb = helper.getNode('arb');
    const plans = helper.getNode('plan');
    const start = Math.floor(Date.now() / HOUR) * HOUR;
    let next = nextPlan(plans);
    // 1 kW measured, 10 kWh at 50 %; 300 EUR/MWh now, 50 in the next hour.
    arb.receive({ payload: telemetry(50, 1000) });
    arb.receive({ topic: 'prices', payload: { start, stepMinutes: 60, pricesEurPerMWh: [300, 50] } });
    let p = await next;
    // Persistence (1 kW): nothing held back for the next hour, which charges instead.
    assert.ok((p.steps[1]?.powerW ?? 0) < 0, `without forecast the next hour charges, got ${p.steps[1]?.powerW} W`);

    // Another site's forecast changes nothing (no new plan follows; the next one is ours).
    arb.receive({ topic: 'load-forecast', payload: forecast('site-2') });
    next = nextPlan(plans);
    arb.receive({ topic: 'load-forecast', payload: forecast() });
    p = await next;
    assert.equal(p.reason, 'new load forecast');
    // 7 kW at an import limit of 3 kW: the battery gives 4 kW in the next hour and holds 4 kWh for it.
    assert.ok(Math.abs((p.steps[1]?.powerW ?? 0) - 4000) <= 1, `discharges 4 kW into the peak, got ${p.steps[1]?.powerW} W`);
    // (What is left of this hour may be too short to sell even the 1 kWh to spare: at least 40 %.)
    assert.ok((p.steps[0]?.socPct ?? 0) >= 40 - 0.01, `holds 4 kWh for the peak, got ${p.steps[0]?.socPct} %`);
    assert.equal(p.steps[1]?.gridW, 3000);
  });

  it('takes the site load as meter plus PCS when the devices send their parts separately (as the edge flow does)', async () => {
    await helper.load(arbitrage, flow);
    const arb = helper.getNode('arb');
    const plans = helper.getNode('plan');
    const start = Math.floor(Date.now() / HOUR) * HOUR;
    const next = nextPlan(plans);
    const ts = Date.now();
    // The PCS discharges 3 kW and the meter sees 2 kW export: the site itself uses 1 kW.
    arb.receive({ payload: { siteId: 'site-1', ts, pcs: {
      ts, power: 3000, reactivePower: null, frequency: null, voltage: null, state: 'RUNNING', gridConnected: true, setpointEnabled: true, setpoint: 3000,
      revertTimeS: null, revertRemainingS: null, ratedPowerW: null, maxChargeW: null, maxDischargeW: null, energyInjectedWh: null, energyAbsorbedWh: null, alarms: [],
    } } });
    const { meter, ...batteryOnly } = telemetry(50, -2000);
    arb.receive({ payload: { siteId: 'site-1', ts, meter } });
    arb.receive({ payload: batteryOnly });
    arb.receive({ topic: 'prices', payload: { start, stepMinutes: 60, pricesEurPerMWh: [300, 50] } });
    const p = await next;
    const step = p.steps[1]!;
    assert.ok(Math.abs((step.gridW ?? NaN) + step.powerW - 1000) <= 1, `grid + battery = 1 kW of site load, got ${step.gridW} + ${step.powerW} W`);
  });

  it('reports a malformed load forecast as an error', async () => {
    await helper.load(arbitrage, flow);
    const n = helper.getNode('arb');
    const err = new Promise<string>((resolve) => n.once('call:error', (c: { firstArg: unknown }) => resolve(String(c.firstArg))));
    n.receive({ topic: 'load-forecast', payload: { ...forecast(), loadKw: [1, 2, 3] } });
    assert.match(await err, /bad load forecast/);
  });
});
