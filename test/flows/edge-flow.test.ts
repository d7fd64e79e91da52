// flows/edge.json as shipped, against the real simulator over Modbus TCP, and again with the
// battery on Modbus RTU over a socat pseudo-terminal pair: given these requests and these faults,
// the battery does this. Faults go in through the simulator's control API and the
// outcome is read back from its GET /state, never from the flow's own belief.
import assert from 'node:assert/strict';
import helper, { type TestNode } from 'node-red-node-test-helper';
import type { Decision, Request, Telemetry } from '../../domain/contracts';
import { startSimulator } from '../../runtime/simulator';
import type { RunningSimulator } from '../../runtime/simulator';
import { requireService } from '../services/service';
import { socatAvailable, startPtyPair, type PtyPair } from '../services/socat';
import { edgeLoopFlow, LOOP_NODES, LOOP_VARIANTS } from './edge-loop';
import { tempUserDirPerTest } from '../user-dir';
import { simControl } from '../runtime/simulator/sim-control';

helper.init(require.resolve('node-red'));

const CYCLE_MS = 200;

interface Msg { payload?: unknown }

/** Resolves with the first message on `node` that passes `test`. */
function nextWhere<T>(node: TestNode, test: (p: T) => boolean, what: string, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { node.removeListener('input', on); reject(new Error(`timed out waiting for ${what}`)); }, ms);
    const on = (msg: Msg): void => {
      if (!test(msg.payload as T)) return;
      clearTimeout(timer);
      node.removeListener('input', on);
      resolve(msg.payload as T);
    };
    node.on('input', on);
  });
}

// The loop's nodes over SunSpec on Modbus TCP here; the same assertions over an RTU battery and
// through the Victron and Huawei profiles run end to end in test/integration/closed-loop.test.ts,
// with real processes (the Huawei device's own timer alone takes a minute).
const HERE = LOOP_VARIANTS.filter((v) => !v.profile && !v.batteryOnRtu);
for (const variant of HERE) describe(`the default edge flow (flows/edge.json) on the simulator, devices through ${variant.name}`, function () {
  tempUserDirPerTest();
  this.timeout(Math.max(60_000, variant.revertWithinMs + 30_000));
  let sim: RunningSimulator;
  let pty: PtyPair | undefined;
  before(function () {
    if (variant.batteryOnRtu) requireService(this, 'socat', socatAvailable(), 'apt-get install socat');
  });
  const { call: control, state, until } = simControl(() => sim.controlPort);
  const fault = (type: string): Promise<unknown> => control('POST', '/faults', { type });
  const request = (level: Request['level'], source: string, powerW: number): Request =>
    ({ level, source, powerW, ts: Date.now(), expiresAt: Date.now() + 600_000 });

  beforeEach(async () => {
    // Each test gets its own pair, as it gets its own simulator.
    pty = variant.batteryOnRtu ? await startPtyPair() : undefined;
    sim = await startSimulator({
      modbusPort: 0, controlPort: 0, ...(pty ? { rtu: { path: pty.device, baudRate: 115_200 } } : {}), ...(variant.profile ? { profile: variant.profile } : {}),
    });
    await helper.load(LOOP_NODES, edgeLoopFlow({
      modbusPort: sim.modbusPort, cycleMs: CYCLE_MS, profile: variant.profile, ...(pty ? { batteryRtuPath: pty.controller } : {}),
      taps: { decisions: ['edge-arbiter'], battery: ['edge-battery'], writes: ['edge-pcs-write'] },
    }));
  });
  afterEach(async () => {
    await helper.unload();
    await sim.close();
    await pty?.stop();
  });

  it('idles at 0 W with no request, in NORMAL mode', async () => {
    const d = await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.mode === 'NORMAL', 'a NORMAL decision');
    assert.equal(d.setpointW, 0);
    assert.equal(d.level, null);
  });

  it('follows an operator setpoint: the PCS reaches it through the ramp', async () => {
    helper.getNode('edge-operator').receive({ payload: { type: 'setpoint', powerW: 1500, durationS: 600, by: 'test' } });
    const s = await until((x) => Math.abs(x.pcs.power - 1500) < 50, 'PCS at 1500 W');
    assert.equal(s.pcs.wSet, 1500);
  });

  it('lets the highest level win among conflicting requests, and the next one take over when it goes', async () => {
    const arbiter = helper.getNode('edge-arbiter');
    arbiter.receive({ payload: [request(5, 'arbitrage', -2000), request(4, 'peak-shaving', 800), request(3, 'operator', 1200)] });
    await until((x) => x.pcs.wSet === 1200, 'WSet 1200 W (operator, level 3)');
    helper.getNode('edge-operator').receive({ payload: { type: 'clear', by: 'test' } });
    await until((x) => x.pcs.wSet === 800, 'WSet 800 W (peak shaving, level 4)');
  });

  it('brings the PCS to 0 W within 2 cycles of an over-temperature reading', async () => {
    helper.getNode('edge-operator').receive({ payload: { type: 'setpoint', powerW: 2000, durationS: 600, by: 'test' } });
    await until((x) => x.pcs.wSet === 2000, 'WSet 2000 W');
    await fault('over-temperature');
    // Count battery polls, not seconds: the first poll that sees the heat and the one after it.
    const hot = await nextWhere<Telemetry>(helper.getNode('battery'), (t) => (t.battery?.tempMax ?? 0) > 55, 'a hot battery reading');
    const d = await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.ts >= hot.ts, 'the decision on it');
    assert.equal(d.mode, 'SAFE_MODE');
    assert.equal(d.setpointW, 0);
    assert.match(d.reason, /OVER_TEMPERATURE/);
    await nextWhere<Telemetry>(helper.getNode('battery'), (t) => t.ts > hot.ts, 'the next battery poll');
    const s = await state();
    assert.equal(s.pcs.wSet, 0);
    assert.equal(s.pcs.power, 0);
  });

  it('goes to SAFE_MODE on a cell over-voltage and stays at 0 W while it lasts', async () => {
    helper.getNode('edge-operator').receive({ payload: { type: 'setpoint', powerW: -2000, durationS: 600, by: 'test' } });
    await until((x) => x.pcs.wSet === -2000, 'WSet -2000 W');
    await fault('cell-over-voltage');
    const d = await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.mode === 'SAFE_MODE', 'SAFE_MODE');
    assert.match(d.reason, /CELL_OVER_VOLTAGE/);
    await until((x) => x.pcs.wSet === 0 && x.pcs.power === 0, 'PCS at 0 W');
  });

  it('treats silent devices as stale telemetry: SAFE_MODE after 3 cycles, and the PCS reverts to 0 W by itself', async () => {
    helper.getNode('edge-operator').receive({ payload: { type: 'setpoint', powerW: 1000, durationS: 600, by: 'test' } });
    await until((x) => x.pcs.wSet === 1000, 'WSet 1000 W');
    await fault('modbus-silence');
    const d = await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.mode === 'SAFE_MODE', 'SAFE_MODE');
    assert.match(d.reason, /TELEMETRY_STALE/);
    assert.equal(d.setpointW, 0);
    // The 0 W cannot reach a silent PCS; its revert timer (5 s in the flow) brings it to 0 W.
    await until((x) => x.pcs.setpoint === 0 && Math.abs(x.pcs.power) < 1, 'the PCS reverted to 0 W', variant.revertWithinMs);
  });

  it('latches an e-stop until a technician resets it, and the reset moves nothing until a new setpoint', async () => {
    const op = helper.getNode('edge-operator');
    op.receive({ payload: { type: 'setpoint', powerW: 1000, durationS: 600, by: 'test' } });
    await until((x) => x.pcs.wSet === 1000, 'WSet 1000 W');
    op.receive({ payload: { type: 'estop', by: 'test' } });
    await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.mode === 'ESTOP', 'ESTOP');
    await until((x) => x.pcs.wSet === 0, 'WSet 0 W');
    op.receive({ payload: { type: 'reset', by: 'test' } }); // no role: refused
    await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.mode === 'ESTOP', 'still ESTOP');
    op.receive({ payload: { type: 'reset', by: 'test', role: 'TECHNICIAN' } });
    const released = await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.mode === 'NORMAL', 'released');
    assert.equal(released.setpointW, 0);
    await nextWhere<Decision>(helper.getNode('decisions'), (p) => p.ts > released.ts + 2 * CYCLE_MS, 'two cycles later');
    assert.equal((await state()).pcs.wSet, 0, 'the setpoint from before the e-stop stays dropped');
    op.receive({ payload: { type: 'setpoint', powerW: 1000, durationS: 600, by: 'test' } });
    await until((x) => x.pcs.wSet === 1000, 'WSet 1000 W from the new setpoint');
  });
});
