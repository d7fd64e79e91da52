// The mqtt-link connection against a real aedes broker: subscriptions shared by several nodes,
// made again after a broker restart, the site's retained state and its last will.
import assert from 'node:assert/strict';
import { connect, type MqttClient } from 'mqtt';
import { MAX_MQTT_PAYLOAD_BYTES, SiteStateSchema, type SiteState } from '../../../domain/contracts';
import { topics } from '../../../domain/topics';
import { MqttLinkConfigSchema } from '../../../nodes/mqtt-link/config';
import { MqttLinkConnection } from '../../../nodes/mqtt-link/link';
import { topicMatches } from '../../../nodes/mqtt-link/topic-filter';
import { startAedes, type RunningAedes } from '../../services/aedes';
import { waitUntil } from '../../services/service';

function link(url: string, siteId = ''): MqttLinkConnection {
  return new MqttLinkConnection({ config: MqttLinkConfigSchema.parse({ url, siteId }), reconnectMs: 100, maxReconnectMs: 400 });
}

function observer(url: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = connect(url, { reconnectPeriod: 100 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

const connected = (l: { connected: boolean }) => waitUntil('link connected', async () => l.connected, { timeoutMs: 10_000 });

describe('mqtt-link: one MQTT connection shared by the MQTT nodes', () => {
  let aedes: RunningAedes;
  const closers: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    aedes = await startAedes();
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await aedes.stop();
  });

  it('matches MQTT topic filters, including shared subscriptions', () => {
    assert.ok(topicMatches('lifo4/+/telemetry', 'lifo4/site-1/telemetry'));
    assert.ok(!topicMatches('lifo4/+/telemetry', 'lifo4/site-1/telemetry/ack'));
    assert.ok(topicMatches('lifo4/#', 'lifo4/site-1/cmd/ack'));
    assert.ok(topicMatches('lifo4/site-1/#', 'lifo4/site-1'));
    assert.ok(topicMatches('$share/cloud/lifo4/+/telemetry', 'lifo4/s/telemetry'));
    assert.ok(!topicMatches('#', '$SYS/broker/uptime'));
  });

  it('hands each message to every node subscribed to a matching filter, and stops after unsubscribe', async () => {
    const l = link(aedes.url);
    closers.push(() => l.close());
    const a: string[] = [];
    const b: string[] = [];
    const unA = l.subscribe('lifo4/+/cmd', 1, (_t, p) => a.push(p.toString()));
    l.subscribe('lifo4/s1/cmd', 1, (_t, p) => b.push(p.toString()));
    await connected(l);
    await waitUntil('subscribed', async () => {
      await l.publish('lifo4/s1/cmd', 'ping');
      return a.length > 0 && b.length > 0;
    });
    unA();
    const before = a.length;
    await l.publish('lifo4/s1/cmd', 'after');
    await waitUntil('b got it', async () => b.includes('after'));
    assert.equal(a.length, before);
  });

  it('subscribes again after the broker restarts without persistence', async () => {
    const l = link(aedes.url);
    closers.push(() => l.close());
    const got: string[] = [];
    l.subscribe('lifo4/s1/cmd', 1, (_t, p) => got.push(p.toString()));
    await connected(l);
    await aedes.restart();
    await waitUntil('reconnected', async () => l.connected && l.stats.connects >= 2, { timeoutMs: 15_000 });
    const pub = await observer(aedes.url);
    closers.push(() => pub.endAsync());
    await waitUntil('message after restart', async () => {
      await pub.publishAsync('lifo4/s1/cmd', 'again', { qos: 1 });
      return got.includes('again');
    });
  });

  it('drops messages above the payload limit unread and counts them', async () => {
    const l = link(aedes.url);
    closers.push(() => l.close());
    const got: number[] = [];
    l.subscribe('big/#', 1, (_t, p) => got.push(p.length));
    await connected(l);
    await waitUntil('subscribed', async () => {
      await l.publish('big/ok', 'x');
      return got.length > 0;
    });
    await l.publish('big/huge', Buffer.alloc(MAX_MQTT_PAYLOAD_BYTES + 1));
    await l.publish('big/ok', 'y');
    await waitUntil('second small one', async () => got.length >= 2);
    assert.ok(got.every((n) => n <= MAX_MQTT_PAYLOAD_BYTES));
    assert.equal(l.stats.oversized, 1);
  });

  it('keeps the site online state retained, and the broker publishes the offline will when the site vanishes', async () => {
    const l = link(aedes.url, 'site-7');
    await connected(l);
    const watch = await observer(aedes.url);
    closers.push(() => watch.endAsync());
    const states: SiteState[] = [];
    watch.on('message', (_t, p) => states.push(SiteStateSchema.parse(JSON.parse(p.toString()))));
    await watch.subscribeAsync(topics.state('site-7'), { qos: 1 });
    await waitUntil('retained online', async () => states.some((s) => s.state === 'online'));
    // An abrupt loss (no DISCONNECT): the broker fires the will.
    l.client.options.reconnectPeriod = 0;
    l.client.stream.destroy();
    await waitUntil('offline will', async () => states.at(-1)?.state === 'offline');
    assert.equal(states.at(-1)?.siteId, 'site-7');
    await l.close();
  });

  it('publishes the offline state itself on a clean close', async () => {
    const l = link(aedes.url, 'site-8');
    await connected(l);
    await l.close();
    const watch = await observer(aedes.url);
    closers.push(() => watch.endAsync());
    const states: SiteState[] = [];
    watch.on('message', (_t, p) => states.push(SiteStateSchema.parse(JSON.parse(p.toString()))));
    await watch.subscribeAsync(topics.state('site-8'), { qos: 1 });
    await waitUntil('retained offline', async () => states.length > 0);
    assert.equal(states[0]?.state, 'offline');
  });
});
