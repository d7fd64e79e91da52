// command-in wired as in the edge flow (command-in -> operator-command -> arbiter / safety-limits,
// acks and decisions back into command-in), commands sent by a plain MQTT client over aedes.
import assert from 'node:assert/strict';
import { connect, type MqttClient } from 'mqtt';
import helper from 'node-red-node-test-helper';
import { CommandAckSchema, MAX_MQTT_PAYLOAD_BYTES, type CommandAck, type CommandBody, type OperatorCommand, type Role, type Telemetry } from '../../domain/contracts';
import { parseKey, signCommand, type UnsignedCommand } from '../../io/command-signature';
import { topics } from '../../domain/topics';
import arbiterNode from '../../nodes/arbiter/arbiter';
import commandInNode from '../../nodes/command-in/command-in';
import mqttLinkNode from '../../nodes/mqtt-link/mqtt-link';
import operatorNode from '../../nodes/operator-command/operator-command';
import safetyNode from '../../nodes/safety-limits/safety-limits';
import { startAedes, type RunningAedes } from '../services/aedes';
import { makeTempDir, sleep, waitUntil } from '../services/service';
import { tempUserDirPerTest } from '../user-dir';

helper.init(require.resolve('node-red'));

const SITE = 'site-1';
const KEY_HEX = '8f'.repeat(32);
const key = parseKey(KEY_HEX);

let counter = 0;
function command(body: CommandBody, over: Partial<UnsignedCommand> = {}, role: Role = 'OPERATOR'): UnsignedCommand {
  const now = Date.now();
  return { v: 1, id: `cmd-${process.pid}-${++counter}`, siteId: SITE, issuedAt: now, expiresAt: now + 60_000, by: 'ops@example.com', role, body, ...over };
}

function telemetry(): Telemetry {
  const ts = Date.now();
  return {
    siteId: SITE, ts,
    battery: {
      ts, soc: 50, soh: 99, voltage: 52, current: 0, power: 0, capacityWh: 10_000, energyAvailableWh: 5000,
      cellVmax: 3.3, cellVmin: 3.29, cellVavg: 3.295, cellVoltages: [], tempMax: 25, tempMin: 24, cellTemps: [],
      chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: null, dischargePowerMax: null, cycles: 1,
      state: 'CONNECTED', alarms: [],
    },
  };
}

describe('command-in: signed remote commands for the site', function () {
  tempUserDirPerTest();
  this.timeout(60_000);
  let aedes: RunningAedes;
  let tmp: ReturnType<typeof makeTempDir>;
  let cloud: MqttClient;
  let acks: CommandAck[];
  let ops: OperatorCommand[];
  let feeder: NodeJS.Timeout | null = null;

  const flow = () => [
    { id: 'link', type: 'mqtt-link', url: aedes.url, siteId: SITE },
    { id: 'cin', type: 'command-in', link: 'link', dir: tmp.dir, wires: [['op', 'ops'], []] },
    { id: 'op', type: 'operator-command', source: 'operator', durationS: '60', wires: [['arb'], ['safe'], ['cin']] },
    { id: 'safe', type: 'safety-limits', siteId: SITE, cycleMs: '100', staleCycles: '3', capacityWh: '', profile: '', wires: [['arb']] },
    { id: 'arb', type: 'arbiter', rampWPerS: '1000000', wires: [['cin']] },
    { id: 'ops', type: 'helper' },
  ];

  async function load(): Promise<void> {
    await helper.load([mqttLinkNode, commandInNode, operatorNode, safetyNode, arbiterNode], flow(), { cin: { key: KEY_HEX } });
    ops = [];
    helper.getNode('ops').on('input', (msg) => ops.push(msg.payload as OperatorCommand));
    await waitUntil('link connected', async () => (helper.getNode('link') as unknown as { connected: boolean }).connected);
    // The command subscription is made once connected: wait until a probe gets its (rejected) ack.
    const probe = `probe-${++counter}-xxxx`;
    await waitUntil('command-in listening', async () => {
      await cloud.publishAsync(topics.cmd(SITE), JSON.stringify({ id: probe }), { qos: 1 });
      return acks.some((a) => a.id === probe);
    });
  }

  const send = (payload: unknown): Promise<unknown> =>
    cloud.publishAsync(topics.cmd(SITE), typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), { qos: 1 });
  const ackOf = (id: string, outcome: CommandAck['outcome']): Promise<CommandAck> =>
    waitUntil(`${outcome} ack for ${id}`, async () => acks.some((a) => a.id === id && a.outcome === outcome)).then(() => acks.find((a) => a.id === id && a.outcome === outcome)!);

  beforeEach(async () => {
    aedes = await startAedes();
    tmp = makeTempDir('command-in');
    acks = [];
    cloud = connect(aedes.url, { reconnectPeriod: 100 });
    cloud.on('message', (_t, p) => acks.push(CommandAckSchema.parse(JSON.parse(p.toString()))));
    await new Promise((resolve) => cloud.once('connect', resolve));
    await cloud.subscribeAsync(topics.cmdAck(SITE), { qos: 1 });
    feeder = setInterval(() => helper.getNode('safe')?.receive({ payload: telemetry() }), 50);
  });
  afterEach(async () => {
    if (feeder) clearInterval(feeder);
    await helper.unload();
    await cloud.endAsync(true);
    await aedes.stop();
    tmp.remove();
  });

  it('accepts a signed setpoint, hands it to operator-command, and reports it executed when the arbiter follows it', async () => {
    await load();
    const c = signCommand(command({ type: 'setpoint', powerW: 1500, durationS: 120 }), key);
    await send(c);
    await ackOf(c.id, 'accepted');
    await ackOf(c.id, 'executed');
    assert.deepEqual(ops.at(-1), { type: 'setpoint', powerW: 1500, durationS: 120, id: c.id, by: 'ops@example.com', role: 'OPERATOR' });
    const order = acks.filter((a) => a.id === c.id).map((a) => a.outcome);
    assert.deepEqual(order, ['accepted', 'executed']);
  });

  it('turns mode standby into 0 W for an hour and mode auto into clear', async () => {
    await load();
    const standby = signCommand(command({ type: 'mode', mode: 'standby' }), key);
    await send(standby);
    await ackOf(standby.id, 'executed');
    assert.deepEqual(ops.at(-1), { type: 'setpoint', powerW: 0, durationS: 3600, id: standby.id, by: 'ops@example.com', role: 'OPERATOR' });
    const auto = signCommand(command({ type: 'mode', mode: 'auto' }), key);
    await send(auto);
    await ackOf(auto.id, 'executed');
    assert.equal(ops.at(-1)?.type, 'clear');
  });

  it('executes an e-stop, and reports a reset operator-command refuses as rejected', async () => {
    await load();
    const estop = signCommand(command({ type: 'estop' }), key);
    await send(estop);
    await ackOf(estop.id, 'executed');
    const reset = signCommand(command({ type: 'reset' }, {}, 'VIEWER'), key);
    await send(reset);
    await ackOf(reset.id, 'accepted');
    const refused = await ackOf(reset.id, 'rejected');
    assert.match(refused.reason ?? '', /reset needs one of the roles/);
  });

  it('rejects forged, foreign, expired, future, replayed, malformed and oversized commands, and executes none of them', async () => {
    await load();
    const good = signCommand(command({ type: 'setpoint', powerW: 800, durationS: 60 }), key);
    await send(good);
    await ackOf(good.id, 'accepted');
    const opsBefore = ops.length;

    const forged = { ...signCommand(command({ type: 'setpoint', powerW: 800, durationS: 60 }), key), body: { type: 'setpoint', powerW: -5000, durationS: 60 } };
    const wrongKey = signCommand(command({ type: 'estop' }), parseKey('11'.repeat(32)));
    const foreign = signCommand(command({ type: 'estop' }, { siteId: 'site-2' }), key);
    const expired = signCommand(command({ type: 'estop' }, { issuedAt: Date.now() - 120_000, expiresAt: Date.now() - 60_000 }), key);
    const future = signCommand(command({ type: 'estop' }, { issuedAt: Date.now() + 600_000, expiresAt: Date.now() + 660_000 }), key);
    const schemaBad = { ...signCommand(command({ type: 'estop' }), key), body: { type: 'explode' } };
    const cases: Array<[unknown, string | null, RegExp]> = [
      [forged, forged.id, /^signature/],
      [wrongKey, wrongKey.id, /^signature/],
      [foreign, foreign.id, /^site/],
      [expired, expired.id, /^expired/],
      [future, future.id, /^not-yet-valid/],
      [good, good.id, /^replay/],
      [schemaBad, schemaBad.id, /^schema/],
    ];
    for (const [payload, id, reason] of cases) {
      await send(payload);
      if (id) assert.match((await ackOf(id, 'rejected')).reason ?? '', reason);
    }
    await send('{"not json');
    await send(Buffer.alloc(MAX_MQTT_PAYLOAD_BYTES + 10, 0x20));
    const link = helper.getNode('link') as unknown as { stats: { oversized: number } };
    await waitUntil('oversized counted', async () => link.stats.oversized === 1);
    await sleep(300);
    assert.equal(ops.length, opsBefore, 'no rejected command reached operator-command');
    assert.equal(acks.filter((a) => a.id === good.id && a.outcome === 'accepted').length, 1);
  });

  it('remembers accepted command ids across a restart, so a replay is still refused', async () => {
    await load();
    const c = signCommand(command({ type: 'estop' }), key);
    await send(c);
    await ackOf(c.id, 'executed');
    await helper.unload();
    await load();
    const before = ops.length;
    await send(c);
    assert.match((await ackOf(c.id, 'rejected')).reason ?? '', /^replay/);
    assert.equal(ops.length, before);
  });
});
