// site-settings wired as in the edge flow (command-in -> site-settings -> strategies, its acks back
// into command-in), documents sent as signed 'settings' commands by a plain MQTT client over aedes:
// applied and kept, refused with the reasons while the settings in force stay, found again after
// the flow is loaded anew (a restart), and published retained on lifo4/<site>/settings.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import helper from 'node-red-node-test-helper';
import { CommandAckSchema, EffectiveSettingsSchema, type CommandAck, type EffectiveSettings, type SiteSettings } from '../../domain/contracts';
import { DEFAULT_SETTINGS_FIELDS } from '../../domain/site-settings/settings';
import { parseKey, signCommand } from '../../io/command-signature';
import { topics } from '../../domain/topics';
import commandInNode from '../../nodes/command-in/command-in';
import mqttLinkNode from '../../nodes/mqtt-link/mqtt-link';
import siteSettingsNode from '../../nodes/site-settings/site-settings';
import { startAedes, type RunningAedes } from '../services/aedes';
import { makeTempDir, waitUntil } from '../services/service';
import { tempUserDirPerTest } from '../user-dir';

helper.init(require.resolve('node-red'));

const SITE = 'site-1';
const KEY_HEX = '5a'.repeat(32);
const key = parseKey(KEY_HEX);
let counter = 0;

function doc(version: number, over: Partial<SiteSettings> = {}): SiteSettings {
  return { ...DEFAULT_SETTINGS_FIELDS, v: 1, version, ...over };
}

describe('site-settings: the strategy settings document at the edge', function () {
  const userDir = tempUserDirPerTest();
  this.timeout(60_000);
  let aedes: RunningAedes;
  let tmp: ReturnType<typeof makeTempDir>;
  let cloud: MqttClient;
  let acks: CommandAck[];
  let published: EffectiveSettings[];

  const flow = () => [
    { id: 'link', type: 'mqtt-link', url: aedes.url, siteId: SITE },
    { id: 'cin', type: 'command-in', link: 'link', dir: tmp.dir, wires: [[], [], ['ss']] },
    { id: 'ss', type: 'site-settings', link: 'link', siteId: '', socMinPct: '5', socMaxPct: '95', minWindowPct: '10', gridConnectionKw: '40', wires: [[], ['cin']] },
  ];

  async function load(): Promise<void> {
    await helper.load([mqttLinkNode, commandInNode, siteSettingsNode], flow(), { cin: { key: KEY_HEX } });
    await waitUntil('link connected', async () => (helper.getNode('link') as unknown as { connected: boolean }).connected);
    const probe = `probe-${++counter}-xxxx`;
    await waitUntil('command-in listening', async () => {
      await cloud.publishAsync(topics.cmd(SITE), JSON.stringify({ id: probe }), { qos: 1 });
      return acks.some((a) => a.id === probe);
    });
  }

  async function sendSettings(settings: unknown): Promise<CommandAck> {
    const now = Date.now();
    const c = signCommand({ v: 1, id: `set-${process.pid}-${++counter}`, siteId: SITE, issuedAt: now, expiresAt: now + 60_000, by: 'manager@example.com', role: 'MANAGER', body: { type: 'settings', settings: settings as SiteSettings } }, key);
    await cloud.publishAsync(topics.cmd(SITE), JSON.stringify(c), { qos: 1 });
    await waitUntil(`final ack of ${c.id}`, async () => acks.some((a) => a.id === c.id && a.outcome !== 'accepted'));
    return acks.find((a) => a.id === c.id && a.outcome !== 'accepted')!;
  }

  beforeEach(async () => {
    aedes = await startAedes();
    tmp = makeTempDir('site-settings');
    acks = [];
    published = [];
    cloud = connect(aedes.url, { reconnectPeriod: 100 });
    cloud.on('message', (topic, p) => {
      if (topic === topics.cmdAck(SITE)) acks.push(CommandAckSchema.parse(JSON.parse(p.toString())));
      else published.push(EffectiveSettingsSchema.parse(JSON.parse(p.toString())));
    });
    await new Promise((resolve) => cloud.once('connect', resolve));
    await cloud.subscribeAsync([topics.cmdAck(SITE), topics.settings(SITE)], { qos: 1 });
  });
  afterEach(async () => {
    await helper.unload();
    await cloud.endAsync(true);
    await aedes.stop();
    tmp.remove();
  });

  it('applies a document that fits, keeps it in the user directory and publishes it retained', async () => {
    await load();
    const ack = await sendSettings(doc(1, { reserveSocPct: 40, arbitrageEnabled: false }));
    assert.equal(ack.outcome, 'executed', JSON.stringify(ack));
    assert.match(ack.reason ?? '', /settings version 1 applied/);
    assert.ok(existsSync(join(userDir(), 'lifo4', 'site-settings', `${SITE}.json`)));
    await waitUntil('published settings', async () => published.some((e) => e.settings?.version === 1));
    const e = published.find((x) => x.settings?.version === 1)!;
    assert.equal(e.source, 'document');
    assert.equal(e.appliedBy, 'manager@example.com');
    assert.equal(e.settings?.reserveSocPct, 40);
  });

  it('refuses a document outside the site limits with the reasons; the settings in force stay', async () => {
    await load();
    assert.equal((await sendSettings(doc(1))).outcome, 'executed');
    const ack = await sendSettings(doc(2, { socMinPct: 2, reserveSocPct: 1, peakShavingMode: 'fixed', peakShavingThresholdKw: 60 }));
    assert.equal(ack.outcome, 'rejected');
    assert.match(ack.reason ?? '', /site-settings: refused, the settings in force stay/);
    assert.match(ack.reason ?? '', /SoC window minimum 2 % is below the battery's lowest SoC of 5 %/);
    assert.match(ack.reason ?? '', /peak-shaving threshold 60 kW is above the grid connection of 40 kW/);
    await waitUntil('the refusal published', async () => published.some((e) => e.lastRefusal !== null));
    const last = published.at(-1)!;
    assert.equal(last.settings?.version, 1, 'version 1 stays in force');
    assert.ok(last.lastRefusal?.reasons.some((r) => /reserve SoC 1 %/.test(r)));
  });

  it('refuses a malformed document with the schema issue', async () => {
    await load();
    const ack = await sendSettings({ ...doc(1), reserveSocPct: 'lots' });
    // The command's own schema check refuses it before site-settings sees it.
    assert.equal(ack.outcome, 'rejected');
    assert.match(ack.reason ?? '', /schema/);
  });

  it('finds the kept document again when the flow is loaded anew (a restart)', async () => {
    await load();
    assert.equal((await sendSettings(doc(1, { reserveSocPct: 55 }))).outcome, 'executed');
    await helper.unload();
    published = [];
    await load();
    // A refused document after the restart shows which document is in force: the kept one.
    assert.equal((await sendSettings(doc(2, { socMaxPct: 99 }))).outcome, 'rejected');
    await waitUntil('the effective settings after the restart', async () => published.some((e) => e.lastRefusal !== null));
    const e = published.find((x) => x.lastRefusal !== null)!;
    assert.equal(e.source, 'document');
    assert.equal(e.settings?.version, 1);
    assert.equal(e.settings?.reserveSocPct, 55);
  });
});
