// command-out against a real aedes broker: signed commands out, acks matched back to the message
// that asked, and a timeout when the site does not answer. The site is plain mqtt.js.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import helper, { type TestFlowNode } from 'node-red-node-test-helper';
import { SignedCommandSchema, type CommandAck, type SignedCommand } from '../../domain/contracts';
import { verifyCommand } from '../../io/command-signature';
import { topics } from '../../domain/topics';
import commandOutNode from '../../nodes/command-out/command-out';
import { loadCommandKeys } from '../../nodes/command-out/config';
import mqttLinkNode from '../../nodes/mqtt-link/mqtt-link';
import { startAedes, type RunningAedes } from '../services/aedes';
import { makeTempDir } from '../services/service';
import { EdgeClient, eventually } from './mqtt/edge-client';

helper.init(require.resolve('node-red'));

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);

interface AckMsg {
  payload: CommandAck;
  command: SignedCommand;
  topic: string;
  [key: string]: unknown;
}

describe('command-out: signed commands to sites, acks matched to them', function () {
  this.timeout(30_000);
  let aedes: RunningAedes;
  let tmp: ReturnType<typeof makeTempDir>;
  let site: EdgeClient;
  let acks: AckMsg[];
  let errors: string[];

  /** The commands the site received, parsed. */
  const received = (): SignedCommand[] =>
    site.messages.filter((m) => m.topic === topics.cmd('site-a')).map((m) => SignedCommandSchema.parse(JSON.parse(m.payload.toString('utf8'))));

  async function load(extra: Record<string, unknown> = {}, credentials: Record<string, unknown> = { cmd: { keys: JSON.stringify({ 'site-a': KEY_A.toString('hex') }) } }): Promise<void> {
    const flow: TestFlowNode[] = [
      { id: 'link', type: 'mqtt-link', url: aedes.url },
      { id: 'cmd', type: 'command-out', link: 'link', ackTimeoutS: 1, ...extra, wires: [['acks']] },
      { id: 'acks', type: 'helper' },
    ];
    await helper.load([mqttLinkNode, commandOutNode], flow, credentials);
    acks = [];
    errors = [];
    helper.getNode('acks').on('input', (msg) => acks.push(msg as unknown as AckMsg));
    helper.getNode('cmd').on('call:error', (call) => errors.push(String(call.args[0])));
    await eventually('link connected', () => (helper.getNode('link') as unknown as { connected: boolean }).connected);
    // Give the ack subscription its SUBACK: an ack from an unknown command passes through it.
    await eventually('subscribed', async () => {
      await site.client.publishAsync(topics.cmdAck('site-a'), JSON.stringify({ v: 1, id: 'probe-000', siteId: 'site-a', outcome: 'accepted', ts: Date.now() }), { qos: 1 });
      return (helper.getNode('cmd') as unknown as { stats: { unmatched: number } }).stats.unmatched > 0;
    });
  }

  /** The site's answer to a command. */
  function answer(cmd: SignedCommand, outcome: CommandAck['outcome'], reason?: string, siteId = 'site-a'): Promise<unknown> {
    const ack: CommandAck = { v: 1, id: cmd.id, siteId, outcome, ts: Date.now(), ...(reason ? { reason } : {}) };
    return site.client.publishAsync(topics.cmdAck(siteId), JSON.stringify(ack), { qos: 1 });
  }

  beforeEach(async () => {
    aedes = await startAedes();
    tmp = makeTempDir('command-out');
    site = await EdgeClient.connect(aedes.url, 'site-a');
  });
  afterEach(async () => {
    await site.close();
    await helper.unload();
    await aedes.stop();
    tmp.remove();
  });

  it('publishes a command signed with the site\'s key and sends on each ack with the original message', async () => {
    await load();
    helper.getNode('cmd').receive({
      payload: { siteId: 'site-a', body: { type: 'setpoint', powerW: 2500, durationS: 600 }, by: 'ops@example.com', role: 'OPERATOR', id: 'cmd-0001' },
      correlation: 'http-42',
    });
    await eventually('command at the site', () => received().length === 1);
    const cmd = received()[0]!;
    assert.equal(cmd.id, 'cmd-0001');
    assert.deepEqual(cmd.body, { type: 'setpoint', powerW: 2500, durationS: 600 });
    assert.equal(cmd.expiresAt - cmd.issuedAt, 60_000, 'the default expiry');
    assert.ok(verifyCommand(cmd, KEY_A), 'signed with site-a\'s key');
    assert.ok(!verifyCommand(cmd, KEY_B));
    assert.ok(!verifyCommand({ ...cmd, body: { type: 'setpoint', powerW: 9000, durationS: 600 } }, KEY_A), 'a tampered command fails');

    await answer(cmd, 'accepted');
    await answer(cmd, 'executed');
    await eventually('two acks', () => acks.length === 2);
    assert.deepEqual(acks.map((a) => a.payload.outcome), ['accepted', 'executed']);
    for (const a of acks) {
      assert.equal(a.correlation, 'http-42');
      assert.equal(a.topic, 'lifo4/site-a/cmd/ack');
      assert.deepEqual(a.command, cmd);
    }
    // Settled: a late repeat of the ack is not sent on, and no timeout follows.
    await answer(cmd, 'executed');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(acks.length, 2);
  });

  it('sends a rejection as it comes, and ignores acks from another site or for unknown ids', async () => {
    await load({ expiresInS: 5 });
    helper.getNode('cmd').receive({ payload: { siteId: 'site-a', body: { type: 'estop' }, by: 'ops', role: 'ADMIN' } });
    await eventually('command at the site', () => received().length === 1);
    const cmd = received()[0]!;
    assert.match(cmd.id, /^[A-Za-z0-9_-]{8,}$/, 'an id was generated');
    assert.equal(cmd.expiresAt - cmd.issuedAt, 5000);
    await answer({ ...cmd, id: 'someone-elses' }, 'executed');
    await answer(cmd, 'executed', undefined, 'site-b');
    await answer(cmd, 'rejected', 'replayed command');
    await eventually('one ack', () => acks.length === 1);
    assert.equal(acks[0]!.payload.outcome, 'rejected');
    assert.equal(acks[0]!.payload.reason, 'replayed command');
  });

  it('answers with a timeout when the site says nothing, or accepts and never executes', async () => {
    await load();
    helper.getNode('cmd').receive({ payload: { siteId: 'site-a', body: { type: 'mode', mode: 'standby' }, by: 'ops', role: 'OPERATOR', id: 'silent-01' }, n: 1 });
    helper.getNode('cmd').receive({ payload: { siteId: 'site-a', body: { type: 'reset' }, by: 'ops', role: 'OPERATOR', id: 'halfway-01' }, n: 2 });
    await eventually('commands at the site', () => received().length === 2);
    await answer(received().find((c) => c.id === 'halfway-01')!, 'accepted');
    await eventually('three acks', () => acks.length === 3, 10_000);
    const byId = (id: string) => acks.filter((a) => a.payload.id === id).map((a) => [a.payload.outcome, a.payload.reason ?? '', a['n']]);
    assert.deepEqual(byId('silent-01'), [['timeout', 'no ack within 1 s', 1]]);
    assert.deepEqual(byId('halfway-01'), [['accepted', '', 2], ['timeout', 'accepted, but not executed within 1 s', 2]]);
  });

  it('refuses what it cannot send: a bad command, a site without a key, an id still waiting', async () => {
    const keysFile = join(tmp.dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ 'site-a': KEY_A.toString('base64') }));
    await load({ keysFile }, {});
    const cmd = helper.getNode('cmd');
    cmd.receive({ payload: { siteId: 'site-a', body: { type: 'setpoint', powerW: 1000 }, by: 'ops', role: 'OPERATOR' } });
    cmd.receive({ payload: { siteId: 'site-a', body: { type: 'estop' }, by: 'ops', role: 'NOBODY' } });
    cmd.receive({ payload: { siteId: 'site-z', body: { type: 'estop' }, by: 'ops', role: 'ADMIN' } });
    cmd.receive({ payload: { siteId: 'site-a', body: { type: 'estop' }, by: 'ops', role: 'ADMIN', id: 'twice-0001' } });
    cmd.receive({ payload: { siteId: 'site-a', body: { type: 'estop' }, by: 'ops', role: 'ADMIN', id: 'twice-0001' } });
    await eventually('four errors', () => errors.length === 4);
    assert.match(errors[0]!, /durationS/);
    assert.match(errors[1]!, /role/);
    assert.match(errors[2]!, /no key for site site-z/);
    assert.match(errors[3]!, /twice-0001 is already waiting/);
    await eventually('the one good command arrives, signed with the key from the file', () => received().length === 1);
    assert.ok(verifyCommand(received()[0]!, KEY_A));
  });

  it('reports a bad keys configuration on the node instead of sending unsigned', async () => {
    const flow: TestFlowNode[] = [
      { id: 'link', type: 'mqtt-link', url: aedes.url },
      { id: 'cmd', type: 'command-out', link: 'link', wires: [[]] },
    ];
    assert.throws(() => loadCommandKeys('', JSON.stringify({ 'site-a': 'abcd' })), /site site-a: command key: 2 bytes, at least 16/);
    assert.throws(() => loadCommandKeys('', '{"site a": "00112233445566778899aabbccddeeff"}'), /expected \{"<siteId>"/);
    assert.throws(() => loadCommandKeys(join(tmp.dir, 'missing.json'), undefined), /ENOENT/);
    await helper.load([mqttLinkNode, commandOutNode], flow, { cmd: { keys: JSON.stringify({ 'site-a': 'abcd' }) } });
    helper.getNode('cmd').receive({ payload: { siteId: 'site-a', body: { type: 'estop' }, by: 'ops', role: 'ADMIN' } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received().length, 0);
  });
});
