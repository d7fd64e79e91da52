// The peak-shaving node: telemetry in, level-4 requests out (and withdrawn when idle); then in
// flows/edge.json's control loop against the real simulator, holding grid import at the threshold.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import peakShaving from '../../nodes/peak-shaving/peak-shaving';
import type { Request } from '../../domain/contracts';
import { startSimulator, type RunningSimulator, type SiteState } from '../../runtime/simulator';
import { edgeLoopFlow, LOOP_NODES } from '../flows/edge-loop';
import { packageRoot } from '../../io/package-root';
import { PeakShavingNodeConfigSchema } from '../../nodes/peak-shaving/config';
import { tempUserDirPerTest } from '../user-dir';
import { battery, meter } from './peak-shaving-telemetry';

helper.init(require.resolve('node-red'));

interface Msg { payload?: unknown }

function collect<T>(node: TestNode): T[] {
  const got: T[] = [];
  node.on('input', (msg: Msg) => got.push(msg.payload as T));
  return got;
}

const until = async (test: () => boolean, what: string, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('peak-shaving node', () => {
  const flow = (over: Record<string, unknown> = {}): TestFlowNode[] => [
    { id: 'ps', type: 'peak-shaving', siteId: 'site-1', enabled: true, mode: 'fixed', thresholdKw: '3', reserveSocPct: '20', rechargeMarginKw: '0.5', rechargeToSocPct: '95', trackMonthPeak: true, expiryMs: '5000', capacityWh: '', maxPowerW: '', wires: [['requests'], ['charts']], ...over },
    { id: 'requests', type: 'helper' },
    { id: 'charts', type: 'helper' },
  ];
  afterEach(() => helper.unload());

  it('given 4.5 kW import against a 3 kW threshold, asks the arbiter for 1.5 kW at level 4', async () => {
    await helper.load(peakShaving, flow());
    const requests = collect<Request>(helper.getNode('requests'));
    const ps = helper.getNode('ps');
    ps.receive({ payload: battery() });
    ps.receive({ payload: meter(4500) });
    await until(() => requests.length > 0, 'a request');
    const r = requests[0];
    assert.equal(r?.level, 4);
    assert.equal(r?.source, 'peak-shaving');
    assert.equal(r?.powerW, 1500);
    assert.ok(r && r.expiresAt > r.ts);
  });

  it('recharges below the threshold minus the margin, then withdraws its request when there is nothing to do', async () => {
    await helper.load(peakShaving, flow());
    const requests = collect<Request>(helper.getNode('requests'));
    const charts = collect<{ action: string; thresholdW: number }>(helper.getNode('charts'));
    const ps = helper.getNode('ps');
    ps.receive({ payload: battery() });
    ps.receive({ payload: meter(1000) });
    ps.receive({ payload: meter(2800) }); // within the 0.5 kW margin: idle
    ps.receive({ payload: meter(2700) }); // still idle: nothing more is sent
    await until(() => charts.length === 3, 'three chart states');
    assert.equal(requests.length, 2);
    assert.equal(requests[0]?.powerW, -1500);
    assert.ok(requests[1] && requests[1].expiresAt <= requests[1].ts, 'the withdrawal is already expired');
    assert.deepEqual(charts.map((c) => c.action), ['recharge', 'idle', 'idle']);
    assert.equal(charts[0]?.thresholdW, 3000);
  });

  it('holds 0 W at the reserve SoC during a peak', async () => {
    await helper.load(peakShaving, flow());
    const requests = collect<Request>(helper.getNode('requests'));
    const ps = helper.getNode('ps');
    ps.receive({ payload: battery(20) });
    ps.receive({ payload: meter(4500) });
    await until(() => requests.length > 0, 'a request');
    assert.equal(requests[0]?.powerW, 0);
  });

  it('sends nothing while disabled, and withdraws its request when switched off', async () => {
    await helper.load(peakShaving, flow({ enabled: false }));
    const requests = collect<Request>(helper.getNode('requests'));
    const charts = collect<unknown>(helper.getNode('charts'));
    const ps = helper.getNode('ps');
    ps.receive({ payload: battery() });
    ps.receive({ payload: meter(4500) });
    ps.receive({ payload: { enabled: true } });
    ps.receive({ payload: meter(4500) });
    ps.receive({ payload: { enabled: false } });
    await until(() => requests.length === 2, 'a request and its withdrawal');
    assert.equal(charts.length, 1);
    assert.equal(requests[0]?.powerW, 1500);
    assert.ok(requests[1] && requests[1].expiresAt <= requests[1].ts);
  });

  it("in 'auto' mode raises its threshold to what the battery can hold over the forecast evening peak", async () => {
    await helper.load(peakShaving, flow({ mode: 'auto', thresholdKw: '0', trackMonthPeak: false }));
    const charts = collect<{ thresholdW: number }>(helper.getNode('charts'));
    const ps = helper.getNode('ps');
    ps.receive({ payload: battery() });
    ps.receive({ payload: meter(400) });
    await until(() => charts.length === 1, 'a cycle without a forecast');
    // From this 15-minute step on, 0.4 kW except 10 kW over the 4 hours after it: more than 10 kWh at 5 kW can flatten.
    const day = Math.floor(Date.now() / 900_000) * 900_000;
    const loadKw = Array.from({ length: 96 }, (_, s) => (s >= 1 && s <= 16 ? 10 : 0.4));
    ps.receive({ topic: 'load-forecast', payload: { siteId: 'other', ts: Date.now(), start: day, stepMinutes: 15, loadKw, model: 'test', filledSteps: 0 } });
    ps.receive({ topic: 'load-forecast', payload: { siteId: 'site-1', ts: Date.now(), start: day, stepMinutes: 15, loadKw, model: 'test', filledSteps: 0 } });
    // The threshold is learnt anew at the next billing interval: start one.
    await new Promise((r) => setTimeout(r, 0));
    const t = Date.now() + 900_000;
    ps.receive({ payload: { siteId: 'site-1', ts: t, meter: { ts: t, power: 400, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] } } });
    await until(() => charts.length === 2, 'a cycle with the forecast');
    assert.ok(charts[0]!.thresholdW < 400, `without: ${charts[0]!.thresholdW}`);
    assert.ok(charts[1]!.thresholdW > 4000, `with the forecast: ${charts[1]!.thresholdW}`);
  });
});

describe('peak-shaving in the edge control loop on the simulator', function () {
  tempUserDirPerTest();
  this.timeout(60_000);
  let sim: RunningSimulator;
  const state = async (): Promise<SiteState> => {
    const res = await fetch(`http://127.0.0.1:${sim.controlPort}/state`);
    return (await res.json()) as SiteState;
  };

  afterEach(async () => {
    await helper.unload();
    await sim.close();
  });

  it('holds grid import at the threshold while the load is above it', async () => {
    // A winter evening (no PV, about 0.8 kW of load) and a 0.3 kW threshold: the battery must shave.
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, startTime: Date.UTC(2014, 0, 15, 18, 0) });
    const flow = edgeLoopFlow({ modbusPort: sim.modbusPort, cycleMs: 200 });
    flow.push({
      id: 'ps', type: 'peak-shaving', z: 'edge-tab', siteId: 'site-1', enabled: true, mode: 'fixed', thresholdKw: '0.3', reserveSocPct: '20',
      rechargeMarginKw: '0.1', rechargeToSocPct: '95', trackMonthPeak: false, expiryMs: '2000', capacityWh: '', maxPowerW: '', wires: [['edge-arbiter'], []],
    });
    for (const id of ['edge-battery', 'edge-pcs', 'edge-meter']) {
      const n = flow.find((f) => f.id === id);
      assert.ok(n, `edge.json has ${id}`);
      n.wires = [[...(n.wires?.[0] ?? []), 'ps']];
    }
    await helper.load([...LOOP_NODES, peakShaving], flow);
    const start = await state();
    assert.ok(start.meter.load - start.meter.pv > 500, `the test needs load above the threshold, got ${start.meter.grid} W`);
    const end = Date.now() + 30_000;
    let s = start;
    // Import settles at the threshold (within the meter's and the ramp's tolerance) with the battery discharging.
    while (!(s.pcs.power > 200 && Math.abs(s.meter.grid - 300) < 60)) {
      if (Date.now() > end) throw new Error(`grid import not held at 300 W: ${JSON.stringify(s.meter)} PCS ${JSON.stringify(s.pcs)}`);
      await new Promise((r) => setTimeout(r, 100));
      s = await state();
    }
    assert.ok(Math.abs(s.pcs.power - (s.meter.load - s.meter.pv - 300)) < 60);
  });
});

describe('examples/peak-shaving-simulator.json', () => {
  const read = (path: string): TestFlowNode[] => JSON.parse(readFileSync(join(packageRoot, path), 'utf8')) as TestFlowNode[];

  it('feeds the three simulator devices to a valid peak-shaving node whose requests go to the edge flow\'s arbiter', () => {
    const example = read('examples/peak-shaving-simulator.json');
    const ps = example.find((n) => n.type === 'peak-shaving');
    assert.ok(ps && PeakShavingNodeConfigSchema.safeParse(ps).success);
    const devices = example.filter((n) => n.type === 'sunspec-device');
    assert.deepEqual(devices.map((d) => d.unitId).sort(), [1, 2, 3]);
    for (const d of devices) assert.ok(d.wires?.[0]?.includes(ps.id));
    const linkOut = example.find((n) => n.type === 'link out');
    assert.ok(linkOut && ps.wires?.[0]?.includes(linkOut.id));
    const targets = linkOut.links as string[];
    const edgeLinkIn = read('flows/edge.json').find((n) => n.type === 'link in' && targets.includes(n.id));
    assert.ok(edgeLinkIn?.wires?.[0]?.includes('edge-arbiter'), 'the link out reaches the arbiter of flows/edge.json');
  });
});
