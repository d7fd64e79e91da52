// The black-start node in flows/edge.json's control loop against the real simulator over Modbus
// TCP: a grid-loss fault (POST /faults) makes it island the site and pick load up in stages, and
// clearing it (DELETE /faults?type=grid-loss) makes it resynchronise. The outcome is read back from
// the simulator's GET /state, never from the node's own belief.
import assert from 'node:assert/strict';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import blackStart from '../../nodes/black-start/black-start';
import type { EffectiveSettings, Request } from '../../domain/contracts';
import type { IslandCommand, Transition } from '../../domain/black-start/state-machine';
import { startSimulator, type RunningSimulator, type SiteState } from '../../runtime/simulator';
import { edgeLoopFlow, LOOP_NODES } from '../flows/edge-loop';
import { tempUserDirPerTest } from '../user-dir';
import { simControl } from '../runtime/simulator/sim-control';
import { DEFAULT_SETTINGS_FIELDS, DEFAULT_SITE_LIMITS } from '../../domain/site-settings/settings';

helper.init(require.resolve('node-red'));

const CYCLE_MS = 200;

interface Msg { payload?: unknown }

function collect<T>(node: TestNode): T[] {
  const got: T[] = [];
  node.on('input', (msg: Msg) => got.push(msg.payload as T));
  return got;
}

describe('black-start node on the simulator (edge loop + black-start)', function () {
  tempUserDirPerTest();
  this.timeout(90_000);
  let sim: RunningSimulator;
  const { call: control, state, until: untilState } = simControl(() => sim.controlPort);
  const until = (test: (s: SiteState) => boolean, what: string, ms = 30_000): Promise<SiteState> => untilState(test, what, ms, (s) => ({ island: s.island }));

  beforeEach(async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0 });
    const flow: TestFlowNode[] = edgeLoopFlow({ modbusPort: sim.modbusPort, cycleMs: CYCLE_MS, taps: { decisions: ['edge-arbiter'] } });
    // edgeLoopFlow drops edge.json's tab; without one the test helper starts every node twice.
    if (!flow.some((n) => n.id === 'edge-tab')) flow.push({ id: 'edge-tab', type: 'tab' });
    flow.push(
      {
        id: 'bs', type: 'black-start', z: 'edge-tab', connection: 'edge-modbus', unitId: 2, siteId: 'site-1', interval: CYCLE_MS,
        debounceMs: 400, esDelayS: 2, stageDelayS: 1, requestTtlS: 2, wires: [['edge-arbiter', 'requests'], ['log'], ['commands']],
      },
      { id: 'requests', type: 'helper', z: 'edge-tab' },
      { id: 'log', type: 'helper', z: 'edge-tab' },
      { id: 'commands', type: 'helper', z: 'edge-tab' },
    );
    // Telemetry of the three devices and the safety envelope into black-start.
    for (const id of ['edge-battery', 'edge-pcs', 'edge-meter', 'edge-safety']) {
      const n = flow.find((f) => f.id === id);
      if (!n) throw new Error(`edge.json has no ${id}`);
      n.wires = [[...(n.wires?.[0] ?? []), 'bs'], ...(n.wires ?? []).slice(1)];
    }
    await helper.load([...LOOP_NODES, blackStart], flow);
  });
  afterEach(async () => {
    await helper.unload();
    await sim.close();
  });

  it('islands the site on grid loss, picks up load in stages, and resynchronises when the grid is back and stable', async () => {
    const log = collect<Transition>(helper.getNode('log'));
    const commands = collect<IslandCommand & { ok: boolean }>(helper.getNode('commands'));
    const requests = collect<Request>(helper.getNode('requests'));
    await until((s) => s.island.state === 'GRID_CONNECTED', 'a connected site');
    await new Promise((r) => setTimeout(r, 1500)); // a few polls of every device
    assert.equal(log.length, 0, 'nothing happens on a healthy grid');

    await control('POST', '/faults', { type: 'grid-loss' });
    const island = await until((s) => s.island.state === 'ISLANDED' && s.island.groups.every((g) => g.breakerClosed), 'an island with every group picked up');
    assert.equal(island.island.tieClosed, false, 'the tie is open');
    assert.equal(island.island.gridForming, true);
    assert.equal(island.island.voltage, 230, 'the PCS holds the island voltage');
    assert.ok(Math.abs(island.island.frequency - 50) < 0.5);
    assert.equal(island.meter.gridConnected, false);
    assert.ok(island.island.loadServedW > 0, 'load is served from the island');

    const phases = log.map((t) => t.to);
    assert.deepEqual(phases.slice(0, 4), ['GRID_LOST', 'ISOLATED', 'GRID_FORMING', 'PICKUP']);
    const stages = log.filter((t) => t.from === 'PICKUP' && t.to === 'PICKUP');
    assert.equal(stages.length, 3, JSON.stringify(log));
    assert.ok(stages.every((t, k) => k === 0 || t.ts - (stages[k - 1]?.ts ?? 0) >= 1000), 'one stage per stage delay');
    // Each stage closed one breaker on its own.
    const closes = commands.filter((c) => c.breakers?.some((b) => b === true) && c.tieClosed === undefined);
    assert.deepEqual(closes.map((c) => c.breakers?.filter((b) => b === true).length), [1, 1, 1]);
    assert.ok(commands.every((c) => c.ok), JSON.stringify(commands.filter((c) => !c.ok)));
    assert.ok(requests.length > 0 && requests.every((r) => r.level === 2 && r.source === 'black-start'));

    await until((s) => s.island.state === 'ISLANDED', 'still islanded'); // PICKUP -> ISLANDED took a stage delay
    await control('DELETE', '/faults?type=grid-loss');
    const back = await until((s) => s.island.state === 'GRID_CONNECTED' && s.island.groups.every((g) => g.breakerClosed), 'a resynchronised site');
    assert.equal(back.island.tieClosed, true);
    assert.equal(back.island.gridForming, false);
    assert.equal(back.meter.gridConnected, true);
    const deadline = Date.now() + 10_000;
    while (log.at(-1)?.to !== 'GRID_CONNECTED' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(log.map((t) => t.to).slice(-2), ['RESYNC', 'GRID_CONNECTED'], JSON.stringify({ log: log.slice(-3), commands: commands.slice(-3), s: await state() }));
    const resync = log.find((t) => t.to === 'RESYNC');
    assert.match(resync?.reason ?? '', /within the enter-service window for 2 s/);
  });

  it('switched off by the site settings, takes no grid loss; switched on again, islands the site', async () => {
    const log = collect<Transition>(helper.getNode('log'));
    const settings = (blackStartEnabled: boolean, version: number): EffectiveSettings => ({
      v: 1, siteId: 'site-1', source: 'document', settings: { ...DEFAULT_SETTINGS_FIELDS, blackStartEnabled, v: 1, version },
      appliedBy: 'manager@example.com', appliedAt: Date.now(), commandId: null, limits: { ...DEFAULT_SITE_LIMITS }, lastRefusal: null,
    });
    helper.getNode('bs').receive({ topic: 'site-settings', payload: settings(false, 1) });
    await until((s) => s.island.state === 'GRID_CONNECTED', 'a connected site');
    await new Promise((r) => setTimeout(r, 1500));
    await control('POST', '/faults', { type: 'grid-loss' });
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(log.length, 0, 'no transition while black start is off');
    assert.notEqual((await state()).island.state, 'ISLANDED');
    helper.getNode('bs').receive({ topic: 'site-settings', payload: settings(true, 2) });
    await until((s) => s.island.state === 'ISLANDED', 'an island once black start is on again');
    assert.equal(log[0]?.to, 'GRID_LOST');
  });

  it('leaves the site dark when the PCS may not form an island (below the minimum SoC)', async () => {
    await helper.unload();
    const flow: TestFlowNode[] = edgeLoopFlow({ modbusPort: sim.modbusPort, cycleMs: CYCLE_MS });
    flow.push({ id: 'edge-tab', type: 'tab' });
    flow.push({ id: 'bs', type: 'black-start', z: 'edge-tab', connection: 'edge-modbus', unitId: 2, interval: CYCLE_MS, debounceMs: 400, formMinSocPct: 99, reservePct: 99, normalReservePct: 99, wires: [[], ['log'], []] },
      { id: 'log', type: 'helper', z: 'edge-tab' });
    for (const id of ['edge-battery', 'edge-pcs', 'edge-meter']) {
      const n = flow.find((f) => f.id === id);
      if (n) n.wires = [[...(n.wires?.[0] ?? []), 'bs']];
    }
    await helper.load([...LOOP_NODES, blackStart], flow);
    const log = collect<Transition>(helper.getNode('log'));
    await new Promise((r) => setTimeout(r, 1500));
    await control('POST', '/faults', { type: 'grid-loss' });
    const deadline = Date.now() + 20_000;
    while (!log.some((t) => t.to === 'ISOLATED') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    const s = await state();
    assert.equal(s.island.state, 'DARK');
    assert.equal(s.island.loadServedW, 0);
    assert.equal(s.pcs.power, 0);
    assert.deepEqual(log.map((t) => t.to), ['GRID_LOST', 'ISOLATED']);
  });
});

describe('examples/black-start-simulator.json', () => {
  it('feeds black-start from the meter, PCS, battery and safety limits, and its requests into the arbiter', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const flow = require('../../../examples/black-start-simulator.json') as TestFlowNode[];
    const byId = new Map(flow.map((n) => [n.id, n]));
    for (const n of flow) for (const out of n.wires ?? []) for (const id of out) assert.ok(byId.has(id), `${n.id} wires to missing ${id}`);
    const bs = flow.find((n) => n.type === 'black-start');
    assert.ok(bs);
    const feeders = flow.filter((n) => n.wires?.[0]?.includes(bs.id)).map((n) => String(n.type === 'sunspec-device' ? n.kind : n.type));
    assert.deepEqual(feeders.sort(), ['battery', 'meter', 'pcs', 'safety-limits']);
    assert.equal(byId.get(bs.wires?.[0]?.[0] ?? '')?.type, 'arbiter');
    assert.equal(byId.get(String(bs.connection))?.type, 'modbus-connection');
  });
});
