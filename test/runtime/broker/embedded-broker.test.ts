// The embedded aedes broker (runtime/broker/broker.ts) holds sites to the same ACL as Mosquitto,
// counts what it refuses, bounds packet sizes, and speaks TLS and mTLS.
import { strict as assert } from 'node:assert';
import { MAX_MQTT_PAYLOAD_BYTES } from '../../../domain/contracts';
import { type RunningBroker, startBroker } from '../../../runtime/broker/broker';
import { hashSecret, mosquittoHash } from '../../../runtime/broker/credentials';
import { type TestCerts, makeCerts, opensslAvailable } from '../../services/certs';
import { requireService } from '../../services/service';
import { type BrokerUnderTest, SITE_A, SITE_B, connectAs, connectError, describeAclCases, uniq } from './acl-cases';

const PASSWORDS: Record<string, string> = { cloud: 'cloud-secret-0123456789', [SITE_A]: 'a-secret', [SITE_B]: 'b-secret' };
// Both stored forms: generated secrets (sha256) and Mosquitto password-file hashes.
const CREDENTIALS = new Map([
  ['cloud', hashSecret(PASSWORDS['cloud']!)],
  [SITE_A, mosquittoHash(PASSWORDS[SITE_A]!)],
  [SITE_B, mosquittoHash(PASSWORDS[SITE_B]!)],
]);

describe('embedded broker (aedes)', function () {
  let broker: RunningBroker | null = null;
  const under = (): BrokerUnderTest => ({ url: broker!.url, passwords: PASSWORDS, refusedPublishCloses: true });
  before(async function () {
    broker = await startBroker({ port: 0, credentials: CREDENTIALS });
  });
  after(async function () {
    await broker?.close();
  });

  it('listens on 127.0.0.1 by default', function () {
    assert.equal(broker!.host, '127.0.0.1');
    assert.match(broker!.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
  });

  describe('the fleet ACL', function () {
    describeAclCases(under);
  });

  it("lets a site in only once the cloud's ingest has subscribed, so nothing a site sends goes to no one", async function () {
    const held = await startBroker({ port: 0, credentials: CREDENTIALS, holdSitesUntilSubscribed: { filter: 'lifo4/+/telemetry', maxMs: 60_000 } });
    try {
      const b = (): BrokerUnderTest => ({ url: held.url, passwords: PASSWORDS, refusedPublishCloses: true });
      let connected = false;
      const site = connectAs(b(), SITE_A).then((p) => { connected = true; return p; });
      const cloud = await connectAs(b(), 'cloud');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(connected, false, 'the site waits for its CONNACK (the cloud got in at once)');
      await cloud.client.subscribeAsync('lifo4/+/state', { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(connected, false, 'another subscription does not open the door');
      await cloud.client.subscribeAsync('$share/g/lifo4/+/telemetry', { qos: 1 });
      await (await site).end();
      assert.equal(await connectError(b(), SITE_B), null, 'and every site after it');
      assert.notEqual(await connectError(b(), SITE_B, 'wrong'), null, 'still with its password');
      await cloud.end();
    } finally {
      await held.close();
    }
  });

  it('admits sites after maxMs even when no ingest subscribes', async function () {
    const held = await startBroker({ port: 0, credentials: CREDENTIALS, holdSitesUntilSubscribed: { filter: 'lifo4/+/telemetry', maxMs: 300 } });
    try {
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await connectError({ url: held.url, passwords: PASSWORDS, refusedPublishCloses: true }, SITE_A), null);
    } finally {
      await held.close();
    }
  });

  it('counts refused publishes, subscriptions and connections', async function () {
    const before = { ...broker!.stats };
    const a = await connectAs(under(), SITE_A);
    assert.deepEqual(await a.subscribe(`lifo4/${SITE_B}/cmd`), [128]);
    assert.equal(await a.tryPublish(`lifo4/${SITE_B}/telemetry`, 'forged'), 'closed');
    await a.end();
    await connectError(under(), SITE_A, 'wrong');
    assert.equal(broker!.stats.rejectedSubscriptions, before.rejectedSubscriptions + 1);
    assert.equal(broker!.stats.rejectedPublishes, before.rejectedPublishes + 1);
    assert.equal(broker!.stats.refusedConnections, before.refusedConnections + 1);
  });

  it('refuses a payload over MAX_MQTT_PAYLOAD_BYTES and keeps serving others', async function () {
    const cloud = await connectAs(under(), 'cloud');
    await cloud.subscribe('lifo4/+/telemetry');
    const rejected = broker!.stats.rejectedPublishes;
    const a = await connectAs(under(), SITE_A);
    assert.equal(await a.tryPublish(`lifo4/${SITE_A}/telemetry`, 'x'.repeat(MAX_MQTT_PAYLOAD_BYTES + 1)), 'closed');
    assert.equal(broker!.stats.rejectedPublishes, rejected + 1);
    const again = await connectAs(under(), SITE_A);
    await again.publish(`lifo4/${SITE_A}/telemetry`, 'x'.repeat(MAX_MQTT_PAYLOAD_BYTES));
    await again.publish(`lifo4/${SITE_A}/telemetry`, 'small');
    await cloud.received('small');
    assert.deepEqual(cloud.inbox.map((m) => m.payload.length), [MAX_MQTT_PAYLOAD_BYTES, 5]);
    await Promise.all([again.end(), cloud.end()]);
  });

  it('drops a connection whose packet announces more than the packet limit, before buffering it', async function () {
    const oversized = broker!.stats.oversizedPackets;
    const a = await connectAs(under(), SITE_A);
    assert.equal(await a.tryPublish(`lifo4/${SITE_A}/telemetry`, 'x'.repeat(4 * 1024 * 1024)), 'closed');
    assert.equal(broker!.stats.oversizedPackets, oversized + 1);
    const again = await connectAs(under(), SITE_A);
    await again.end();
  });

  it("refuses a site that reuses another site's persistent client id (its queued commands stay its own)", async function () {
    const clientId = `${SITE_A}:${uniq('edge')}`;
    const a = await connectAs(under(), SITE_A, undefined, { clientId, clean: false });
    await a.end();
    const err = await connectError(under(), SITE_B, undefined, { clientId, clean: false });
    assert.match(err ?? 'connected', /identifier rejected|not authorized/i);
    const back = await connectAs(under(), SITE_A, undefined, { clientId, clean: false });
    await back.end();
  });
});

describe('embedded broker over TLS', function () {
  let certs: TestCerts | null = null;
  before(async function () {
    requireService(this, 'openssl', opensslAvailable());
    certs = await makeCerts({ clients: [SITE_A] });
  });
  after(function () {
    certs?.remove();
  });

  it('serves TLS that clients verify against the CA, and still asks for the password', async function () {
    const c = certs!;
    const broker = await startBroker({ port: 0, credentials: CREDENTIALS, tls: { cert: c.read(c.server.cert), key: c.read(c.server.key) } });
    try {
      assert.match(broker.url, /^mqtts:/);
      const b: BrokerUnderTest = { url: broker.url, clientOptions: { ca: c.read(c.ca) }, passwords: PASSWORDS, refusedPublishCloses: true };
      const a = await connectAs(b, SITE_A);
      await a.end();
      assert.match((await connectError(b, SITE_A, 'wrong')) ?? 'connected', /bad user ?name or password|not authorized/i);
      assert.match((await connectError({ ...b, clientOptions: {} }, SITE_A)) ?? 'connected', /self[- ]signed|unable to (get|verify)|certificate/i);
    } finally {
      await broker.close();
    }
  });

  it('with mTLS refuses clients without a certificate from the CA and takes the site id from the certificate CN', async function () {
    const c = certs!;
    const broker = await startBroker({
      port: 0,
      credentials: CREDENTIALS,
      tls: { cert: c.read(c.server.cert), key: c.read(c.server.key), ca: c.read(c.ca), requireCertificate: true, identityAsUsername: true },
    });
    try {
      const base = { url: broker.url, passwords: PASSWORDS, refusedPublishCloses: true };
      assert.notEqual(await connectError({ ...base, clientOptions: { ca: c.read(c.ca) } }, SITE_A), null, 'no client certificate');
      assert.notEqual(
        await connectError({ ...base, clientOptions: { ca: c.read(c.ca), cert: c.read(c.untrusted.cert), key: c.read(c.untrusted.key) } }, SITE_A),
        null,
        'certificate from another CA',
      );
      const siteA = { ...base, clientOptions: { ca: c.read(c.ca), cert: c.read(c.clients[SITE_A]!.cert), key: c.read(c.clients[SITE_A]!.key) } };
      // No password: the certificate is the credential, and its CN says which site this is.
      const a = await connectAs(siteA, undefined, undefined, { clientId: `${SITE_A}:agent` });
      assert.deepEqual(await a.subscribe(`lifo4/${SITE_A}/cmd`, `lifo4/${SITE_B}/cmd`), [1, 128]);
      await a.publish(`lifo4/${SITE_A}/telemetry`, 'over-mtls');
      assert.equal(await a.tryPublish(`lifo4/${SITE_B}/telemetry`, 'forged'), 'closed');
      assert.equal(broker.stats.rejectedPublishes, 1);
    } finally {
      await broker.close();
    }
  });
});
