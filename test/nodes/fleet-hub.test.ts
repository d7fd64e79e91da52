// fleet-hub: the cloud flow's messages reach the API's hub, and the API's commands leave through the
// flow and come back answered.
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { Alarm, CommandAck, TelemetryRecord } from '../../domain/contracts';
import fleetHubNode from '../../nodes/fleet-hub/fleet-hub';
import { FleetHub } from '../../io/fleet-hub';
import { HOST_SETTING } from '../../io/host-resources';
import { statusesShown } from './harness';

helper.init(require.resolve('node-red'));

const flow = [
  { id: 'hub', type: 'fleet-hub', commandTimeoutS: 2, wires: [['commands']] },
  { id: 'commands', type: 'helper' },
];

describe('fleet-hub: the cloud flow and the API in one process', function () {
  this.timeout(20_000);
  // The host's hub, handed to the flow through Node-RED's settings as the lifo4 cloud runtime does.
  let fleetHub: FleetHub;
  beforeEach(() => {
    fleetHub = new FleetHub();
    helper.settings({ [HOST_SETTING]: { fleetHub } });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });

  it('without a host that provides a hub, shows an error and sends nothing', async () => {
    helper.settings({});
    await helper.load([fleetHubNode], flow);
    const hub = helper.getNode('hub');
    const out = helper.getNode('commands');
    let sent = 0;
    out.on('input', () => sent++);
    hub.receive({ topic: 'lifo4/s1/state', payload: { v: 1, siteId: 's1', state: 'offline', ts: 2 } });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sent, 0);
    assert.match(statusesShown(hub).at(-1)?.text ?? '', /no fleet hub/);
  });

  it('publishes records, alarms and site states from telemetry-in on the hub', async () => {
    await helper.load([fleetHubNode], flow);
    const seen: string[] = [];
    fleetHub.on('record', (r) => seen.push(`record ${r.siteId}:${r.seq}`));
    fleetHub.on('alarm', (a) => seen.push(`alarm ${a.siteId}:${a.code}`));
    fleetHub.on('state', (s) => seen.push(`state ${s.siteId}:${s.state}`));
    const hub = helper.getNode('hub');
    const records = [1, 2].map((seq) => ({ siteId: 's1', seq, ts: 1_700_000_000_000 + seq })) as TelemetryRecord[];
    hub.receive({ topic: 'lifo4/s1/telemetry', payload: records });
    const alarm: Alarm = { code: 'CELL_OVER_VOLTAGE', severity: 'critical', message: 'x', source: 'safety', ts: 1, active: true, siteId: 's1' };
    hub.receive({ topic: 'lifo4/s1/alarm', payload: alarm });
    hub.receive({ topic: 'lifo4/s1/state', payload: { v: 1, siteId: 's1', state: 'offline', ts: 2 } });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, ['record s1:1', 'record s1:2', 'alarm s1:CELL_OVER_VOLTAGE', 'state s1:offline']);
  });

  it("publishes a batch of many sites' records and alarms, as telemetry-in sends them, one by one", async () => {
    await helper.load([fleetHubNode], flow);
    const seen: string[] = [];
    fleetHub.on('record', (r) => seen.push(`record ${r.siteId}:${r.seq}`));
    fleetHub.on('alarm', (a) => seen.push(`alarm ${a.siteId}:${a.code}`));
    const hub = helper.getNode('hub');
    const records = [['s1', 1], ['s2', 7]].map(([siteId, seq]) => ({ siteId, seq, ts: 1_700_000_000_000 })) as TelemetryRecord[];
    hub.receive({ topic: 'lifo4/+/telemetry', payload: records });
    const alarm = (siteId: string): Alarm => ({ code: 'CELL_OVER_VOLTAGE', severity: 'critical', message: 'x', source: 'safety', ts: 1, active: true, siteId });
    hub.receive({ topic: 'lifo4/+/alarm', payload: [alarm('s1'), alarm('s2')] });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, ['record s1:1', 'record s2:7', 'alarm s1:CELL_OVER_VOLTAGE', 'alarm s2:CELL_OVER_VOLTAGE']);
  });

  it('refuses what it does not know, and publishes none of it', async () => {
    await helper.load([fleetHubNode], flow);
    let events = 0;
    for (const e of ['record', 'alarm', 'state', 'ack'] as const) fleetHub.on(e, () => events++);
    const hub = helper.getNode('hub');
    const errors: string[] = [];
    hub.on('call:error', (call) => errors.push(String(call.args[0])));
    hub.receive({ topic: 'lifo4/s1/telemetry', payload: { not: 'records' } });
    hub.receive({ topic: 'lifo4/s1/alarm', payload: { code: 'X' } });
    hub.receive({ topic: 'lifo4/s1/cmd/ack', payload: { v: 1, id: 'x' } });
    hub.receive({ topic: 'something/else', payload: 1 });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events, 0);
    assert.equal(errors.length, 4, errors.join('\n'));
  });

  it("sends the API's command out and settles it with the final ack that comes back", async () => {
    await helper.load([fleetHubNode], flow);
    const out = helper.getNode('commands');
    const sent = new Promise<{ id: string; siteId: string }>((resolve) => out.once('input', (msg) => resolve(msg.payload as { id: string; siteId: string })));
    const answer = fleetHub.sendCommand({ siteId: 's1', body: { type: 'estop' }, by: 'op@example.com', role: 'OPERATOR', expiresInS: 30 });
    const command = await sent;
    assert.equal(command.siteId, 's1');
    const hub = helper.getNode('hub');
    const ack = (outcome: CommandAck['outcome']): CommandAck => ({ v: 1, id: command.id, siteId: 's1', outcome, ts: Date.now() });
    hub.receive({ topic: 'lifo4/s1/cmd/ack', payload: ack('accepted') });
    hub.receive({ topic: 'lifo4/s1/cmd/ack', payload: ack('executed') });
    assert.equal((await answer).outcome, 'executed');
  });

  it('answers timeout when no final ack comes, and has no command path once stopped', async () => {
    await helper.load([fleetHubNode], flow);
    const answer = await fleetHub.sendCommand({ siteId: 's1', body: { type: 'reset' }, by: 'op', role: 'OPERATOR', expiresInS: 30 });
    assert.equal(answer.outcome, 'timeout');
    await helper.unload();
    assert.equal(fleetHub.canSendCommands, false);
    await assert.rejects(fleetHub.sendCommand({ siteId: 's1', body: { type: 'reset' }, by: 'op', role: 'OPERATOR', expiresInS: 30 }), /no command path/);
  });
});
