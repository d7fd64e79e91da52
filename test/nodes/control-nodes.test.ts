// The control nodes wired as in the edge flow: operator-command -> arbiter <- safety-limits.
import assert from 'node:assert/strict';
import helper, { type TestNode } from 'node-red-node-test-helper';
import { HTTP_PRINCIPAL_KEY, type Decision, type Envelope, type Telemetry } from '../../domain/contracts';
import arbiterNode from '../../nodes/arbiter/arbiter';
import operatorNode from '../../nodes/operator-command/operator-command';
import safetyNode from '../../nodes/safety-limits/safety-limits';
import { tempUserDirPerTest } from '../user-dir';

helper.init(require.resolve('node-red'));

function telemetry(over: Partial<NonNullable<Telemetry['battery']>> = {}): Telemetry {
  const ts = Date.now();
  return {
    siteId: 'site-1', ts,
    battery: {
      ts, soc: 50, soh: 99, voltage: 52, current: 0, power: 0, capacityWh: 10_000, energyAvailableWh: 5000,
      cellVmax: 3.3, cellVmin: 3.29, cellVavg: 3.295, cellVoltages: [], tempMax: 25, tempMin: 24, cellTemps: [],
      chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: null, dischargePowerMax: null, cycles: 1,
      state: 'CONNECTED', alarms: [], ...over,
    },
  };
}

const flow = [
  { id: 'op', type: 'operator-command', source: 'operator', durationS: '60', wires: [['arb'], ['safe'], ['acks']] },
  { id: 'safe', type: 'safety-limits', siteId: 'site-1', cycleMs: '100', staleCycles: '3', capacityWh: '', profile: '', wires: [['arb', 'envs']] },
  { id: 'arb', type: 'arbiter', rampWPerS: '1000000', wires: [['out']] },
  { id: 'out', type: 'helper' },
  { id: 'envs', type: 'helper' },
  { id: 'acks', type: 'helper' },
];

/** The next message on `node` whose payload passes `test`. */
function next<T>(node: TestNode, test: (p: T) => boolean, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching message')), ms);
    const on = (msg: { payload?: unknown }): void => {
      if (test(msg.payload as T)) {
        clearTimeout(timer);
        node.removeListener('input', on);
        resolve(msg.payload as T);
      }
    };
    node.on('input', on);
  });
}

describe('control nodes (safety-limits, arbiter, operator-command)', () => {
  tempUserDirPerTest();
  afterEach(() => helper.unload());

  it('follows an operator setpoint inside the envelope', async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    helper.getNode('op').receive({ payload: { type: 'setpoint', powerW: 2000, by: 'ops@example.com', id: 'c1' } });
    helper.getNode('safe').receive({ payload: telemetry() });
    const d = await next<Decision>(helper.getNode('out'), (p) => p.level === 3);
    assert.equal(d.setpointW, 2000);
    assert.equal(d.requestId, 'c1');
  });

  it('clamps a setpoint to the battery limits and says why', async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    helper.getNode('op').receive({ payload: { type: 'setpoint', powerW: -9000, by: 'ops' } });
    helper.getNode('safe').receive({ payload: telemetry({ cellVmax: 3.55 }) });
    const d = await next<Decision>(helper.getNode('out'), (p) => p.level === 3);
    assert.ok(d.setpointW > -5200 / 2 - 1 && d.setpointW < 0, `setpoint ${d.setpointW}`);
    assert.match(d.reason, /Limited to [\d.]+ kW by the cell voltage taper\./);
  });

  it('falls to SAFE_MODE and 0 W when telemetry stops for three cycles', async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    helper.getNode('op').receive({ payload: { type: 'setpoint', powerW: 2000, by: 'ops' } });
    helper.getNode('safe').receive({ payload: telemetry() });
    await next<Decision>(helper.getNode('out'), (p) => p.setpointW === 2000);
    const d = await next<Decision>(helper.getNode('out'), (p) => p.mode === 'SAFE_MODE');
    assert.equal(d.setpointW, 0);
    assert.match(d.reason, /TELEMETRY_STALE/);
  });

  it('latches the e-stop until a TECHNICIAN resets it, refuses a reset without a role or by an OPERATOR, and holds 0 W after the reset', async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    const op = helper.getNode('op');
    op.receive({ payload: { type: 'setpoint', powerW: 1500, by: 'ops' } });
    op.receive({ payload: { type: 'estop', by: 'ops' } });
    helper.getNode('safe').receive({ payload: telemetry() });
    const stopped = await next<Decision>(helper.getNode('out'), (p) => p.mode === 'ESTOP');
    assert.equal(stopped.setpointW, 0);

    const refused = next<{ status: string; reason: string }>(helper.getNode('acks'), (p) => p.status === 'rejected');
    op.receive({ payload: { type: 'reset', by: 'intruder' } });
    assert.match((await refused).reason, /reset needs one of the roles/);
    helper.getNode('safe').receive({ payload: telemetry() });
    assert.equal((await next<Decision>(helper.getNode('out'), () => true)).mode, 'ESTOP');

    // The cloud's rule (commands:reset): an OPERATOR stops, a TECHNICIAN decides to release.
    const operator = next<{ status: string; reason: string }>(helper.getNode('acks'), (p) => p.status === 'rejected');
    op.receive({ payload: { type: 'reset', by: 'ops', role: 'OPERATOR' } });
    assert.match((await operator).reason, /TECHNICIAN.*ops has OPERATOR/);

    op.receive({ payload: { type: 'reset', by: 'tech', role: 'TECHNICIAN' } });
    helper.getNode('safe').receive({ payload: telemetry() });
    // The reset restarts nothing: the request from before the e-stop is dropped, the battery holds 0 W.
    const released = await next<Decision>(helper.getNode('out'), (p) => p.mode === 'NORMAL');
    assert.equal(released.setpointW, 0);
    assert.equal(released.hold?.automatic, false);
    assert.deepEqual(released.ignored.map((i) => [i.source, i.why]), [['operator', 'reset']]);
    // A new setpoint after the reset moves it.
    op.receive({ payload: { type: 'setpoint', powerW: 1200, by: 'ops' } });
    helper.getNode('safe').receive({ payload: telemetry() });
    assert.equal((await next<Decision>(helper.getNode('out'), (p) => p.level === 3)).setpointW, 1200);
  });

  it("takes who sends from the host's authenticated principal on msg.req, not from the payload", async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    const op = helper.getNode('op');
    const req = Object.defineProperty({}, HTTP_PRINCIPAL_KEY, { value: { by: 'op@site.example', role: 'OPERATOR' } });
    const refused = next<{ status: string; by: string }>(helper.getNode('acks'), (p) => p.status === 'rejected');
    op.receive({ payload: { type: 'reset', by: 'boss', role: 'SUPER_ADMIN' }, req });
    assert.equal((await refused).by, 'op@site.example');
    const accepted = next<{ status: string; by: string }>(helper.getNode('acks'), (p) => p.status === 'accepted');
    op.receive({ payload: { type: 'estop', by: 'someone else' }, req });
    assert.equal((await accepted).by, 'op@site.example');
  });

  it('rejects a malformed command with an ack and moves nothing', async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    const errors: unknown[] = [];
    helper.getNode('op').on('call:error', (call) => errors.push(call.args[0]));
    const ack = next<{ status: string; reason: string }>(helper.getNode('acks'), () => true);
    helper.getNode('op').receive({ payload: { type: 'setpoint', powerW: 'max', by: 'ops' } });
    assert.equal((await ack).status, 'rejected');
    helper.getNode('safe').receive({ payload: telemetry() });
    const d = await next<Decision>(helper.getNode('out'), () => true);
    assert.equal(d.setpointW, 0);
    assert.equal(errors.length, 1);
  });

  it('reports telemetry for another site as an error and ignores it', async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    const errors: unknown[] = [];
    helper.getNode('safe').on('call:error', (call) => errors.push(call.args[0]));
    helper.getNode('safe').receive({ payload: { ...telemetry(), siteId: 'elsewhere' } });
    await new Promise((r) => setTimeout(r, 50));
    assert.match(String(errors[0]), /site elsewhere/);
  });

  it('refuses bad profile overrides and emits no envelope at all (the PCS then reverts by itself)', async () => {
    const bad = flow.map((n) => (n.id === 'safe' ? { ...n, profile: '{"socMaxPct": 150}' } : n));
    await helper.load([operatorNode, safetyNode, arbiterNode], bad);
    let envelopes = 0;
    helper.getNode('envs').on('input', () => { envelopes++; });
    helper.getNode('safe').receive({ payload: telemetry() });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(envelopes, 0);
  });

  it('emits envelopes on its own cycle even without input', async () => {
    await helper.load([operatorNode, safetyNode, arbiterNode], flow);
    const e = await next<Envelope>(helper.getNode('envs'), (p) => p.mode === 'SAFE_MODE');
    assert.ok(e.alarms.some((a) => a.code === 'TELEMETRY_MISSING'));
  });
});
