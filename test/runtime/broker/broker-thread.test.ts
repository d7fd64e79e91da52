// The embedded broker on its own thread (runtime/broker/broker-thread.ts) keeps every rule of the
// in-thread one: the fleet ACL, passwords from secrets.json, mTLS identities and the MQTTS listener,
// the hold of sites' CONNACKs until the cloud's ingest subscribed, its counters, and revoked sites
// refused on the main thread's answer (and refused when no answer comes). A crashed thread is
// started again on the same port.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectingClient } from '../../../runtime/broker/broker';
import { healthBody } from '../../../runtime/api/health';
import { type BrokerThreadOptions, type RunningBrokerThread, brokerFailing, startBrokerThread } from '../../../runtime/broker/broker-thread';
import { hashSecret, mosquittoHash } from '../../../runtime/broker/credentials';
import { loadOrCreateSecrets, siteSecrets } from '../../../runtime/secrets';
import { type TestCerts, makeCerts, opensslAvailable } from '../../services/certs';
import { requireService } from '../../services/service';
import { type BrokerUnderTest, SITE_A, SITE_B, connectAs, connectError, describeAclCases } from './acl-cases';

const PASSWORDS: Record<string, string> = { cloud: 'cloud-secret-0123456789', [SITE_A]: 'a-secret', [SITE_B]: 'b-secret' };
const CREDENTIALS = new Map([
  ['cloud', hashSecret(PASSWORDS['cloud']!)],
  [SITE_A, mosquittoHash(PASSWORDS[SITE_A]!)],
  [SITE_B, hashSecret(PASSWORDS[SITE_B]!)],
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether anything accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

/** A thread for one test, closed afterwards whatever happens. */
async function withThread(opts: Partial<BrokerThreadOptions>, body: (broker: RunningBrokerThread, b: BrokerUnderTest) => Promise<void>): Promise<void> {
  const broker = await startBrokerThread({ port: 0, credentials: CREDENTIALS, ...opts });
  try {
    await body(broker, { url: broker.url, passwords: PASSWORDS, refusedPublishCloses: true });
  } finally {
    await broker.close();
  }
}

describe('embedded broker on its own thread', function () {
  let broker: RunningBrokerThread | null = null;
  const under = (): BrokerUnderTest => ({ url: broker!.url, passwords: PASSWORDS, refusedPublishCloses: true });
  before(async function () {
    broker = await startBrokerThread({ port: 0, credentials: CREDENTIALS });
  });
  after(async function () {
    await broker?.close();
  });

  describe('the fleet ACL', function () {
    describeAclCases(under);
  });

  it('reports what it refused and who is connected, as counted on its thread', async function () {
    const before = { ...broker!.stats };
    const clients = broker!.connectedClients;
    const a = await connectAs(under(), SITE_A);
    await until('the site counted as connected', () => broker!.connectedClients === clients + 1);
    assert.deepEqual(await a.subscribe(`lifo4/${SITE_B}/cmd`), [128]);
    assert.equal(await a.tryPublish(`lifo4/${SITE_B}/telemetry`, 'forged'), 'closed');
    await a.end();
    await connectError(under(), SITE_A, 'wrong');
    await until('the site counted as gone', () => broker!.connectedClients === clients);
    assert.deepEqual({ ...broker!.stats }, {
      ...before,
      rejectedSubscriptions: before.rejectedSubscriptions + 1,
      rejectedPublishes: before.rejectedPublishes + 1,
      refusedConnections: before.refusedConnections + 1,
    });
  });

  it("holds a site's CONNACK until the cloud's ingest has subscribed", async function () {
    await withThread({ holdSitesUntilSubscribed: { filter: 'lifo4/+/telemetry', maxMs: 60_000 } }, async (_held, b) => {
      let connected = false;
      const site = connectAs(b, SITE_A).then((p) => {
        connected = true;
        return p;
      });
      const cloud = await connectAs(b, 'cloud');
      await sleep(300);
      assert.equal(connected, false, 'the site waits (the cloud got in at once)');
      await cloud.client.subscribeAsync('lifo4/+/state', { qos: 1 });
      await sleep(300);
      assert.equal(connected, false, 'another subscription does not open the door');
      await cloud.client.subscribeAsync('$share/g/lifo4/+/telemetry', { qos: 1 });
      await (await site).end();
      await cloud.end();
    });
  });

  it('closes cleanly: nothing listens afterwards', async function () {
    const b = await startBrokerThread({ port: 0, credentials: CREDENTIALS });
    const a = await connectAs({ url: b.url, passwords: PASSWORDS, refusedPublishCloses: true }, SITE_A);
    await b.close();
    assert.equal(b.state, 'closed');
    assert.equal(await accepts(b.port), false);
    await a.end();
  });
});

describe('embedded broker thread: revoked sites, asked of the main thread', function () {
  it("refuses a site the main thread's check says is revoked, and admits the others", async function () {
    const asked: ConnectingClient[] = [];
    const isRevoked = (who: ConnectingClient) => {
      asked.push(who);
      return who.username === SITE_B;
    };
    await withThread({ isRevoked }, async (broker, b) => {
      assert.equal(await connectError(b, SITE_A), null);
      assert.match((await connectError(b, SITE_B)) ?? 'connected', /not authorized/i);
      assert.deepEqual(asked, [{ username: SITE_A, certificateSerial: undefined }, { username: SITE_B, certificateSerial: undefined }]);
      assert.equal(broker.stats.refusedConnections, 1);
    });
  });

  it('waits for an answer that comes later (cloud.db read asynchronously)', async function () {
    const isRevoked = async (who: ConnectingClient) => {
      await sleep(100);
      return who.username === SITE_B;
    };
    await withThread({ isRevoked }, async (_broker, b) => {
      assert.equal(await connectError(b, SITE_A), null);
      assert.notEqual(await connectError(b, SITE_B), null);
    });
  });

  it('refuses (fails closed) when the check fails or no answer comes within revocationTimeoutMs', async function () {
    const isRevoked = (who: ConnectingClient): boolean | Promise<boolean> => {
      if (who.username === SITE_A) return new Promise<boolean>(() => undefined); // never answers
      throw new Error('cloud.db is not readable');
    };
    const lines: string[] = [];
    await withThread({ isRevoked, revocationTimeoutMs: 300, log: (line) => lines.push(line) }, async (broker, b) => {
      const started = Date.now();
      assert.match((await connectError(b, SITE_A)) ?? 'connected', /not authorized/i);
      assert.ok(Date.now() - started >= 300, 'refused after the timeout, not before');
      assert.notEqual(await connectError(b, SITE_B), null);
      assert.equal(broker.stats.refusedConnections, 2);
      assert.match(lines.join('\n'), /no revocation answer within 300 ms: 1 client\(s\) refused \(site-a the latest\)/);
      assert.match(lines.join('\n'), /revocation check for site-b failed, refused: cloud\.db is not readable/);
    });
  });

  it('refuses when the main thread is too busy to answer in time, and admits once it answers again', async function () {
    let busy = true;
    const isRevoked = () => {
      // The main thread is stuck (a long synchronous job) when the question comes.
      const until = Date.now() + (busy ? 800 : 0);
      while (Date.now() < until) {
        /* busy */
      }
      busy = false;
      return false;
    };
    await withThread({ isRevoked, revocationTimeoutMs: 200 }, async (broker, b) => {
      assert.match((await connectError(b, SITE_A)) ?? 'connected', /not authorized/i);
      assert.equal(await connectError(b, SITE_A), null);
      assert.equal(broker.stats.refusedConnections, 1);
    });
  });
});

describe('embedded broker thread: accounts from secrets.json', function () {
  let dataDir = '';
  before(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'lifo4-broker-thread-'));
  });
  after(function () {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads the cloud account and the sites from the data dir on its thread, including a site added while it runs', async function () {
    const secrets = loadOrCreateSecrets(dataDir);
    await withThread({ credentials: { secretsOf: dataDir } }, async (_broker, b) => {
      const passwords = { cloud: secrets.mqttCloudPassword };
      assert.equal(await connectError({ ...b, passwords }, 'cloud'), null);
      assert.notEqual(await connectError({ ...b, passwords }, 'cloud', 'wrong'), null);
      assert.notEqual(await connectError({ ...b, passwords: { 'site-new': 'guess' } }, 'site-new'), null, 'no such site yet');
      const site = siteSecrets(dataDir, 'site-new');
      assert.equal(await connectError({ ...b, passwords: { 'site-new': site.mqttPassword } }, 'site-new'), null);
    });
  });
});

describe('embedded broker thread: a crash', function () {
  it("is logged, fails the cloud's health while restarting, and the thread runs again on the same port", async function () {
    const lines: string[] = [];
    await withThread({ log: (line) => lines.push(line), restartDelayMs: { first: 300, max: 1000 } }, async (broker, b) => {
      const health = { role: 'cloud' as const, version: 'test', nodeRed: 'test', startedAt: Date.now(), failing: brokerFailing(broker) };
      assert.equal(healthBody(health).status, 'ok');
      const port = broker.port;
      const site = await connectAs(b, SITE_A);
      await broker.thread!.terminate(); // as an uncaught error in aedes would end it
      await until('the crash noticed', () => broker.state === 'restarting');
      assert.equal(broker.connectedClients, 0);
      assert.deepEqual(
        { status: healthBody(health).status, failing: healthBody(health).failing },
        { status: 'failing', failing: 'the MQTT broker thread crashed and is starting again' },
      );
      assert.match(lines[0] ?? '', /MQTT broker thread crashed .* starting it again on port \d+ in 300 ms/);
      await until('running again', () => broker.state === 'running');
      assert.equal(broker.port, port);
      assert.equal(broker.restarts, 1);
      assert.equal(healthBody(health).status, 'ok');
      assert.equal(await connectError(b, SITE_A), null, 'sites connect again on the same port');
      assert.notEqual(await connectError(b, SITE_A, 'wrong'), null, 'with the same rules');
      await site.end();
    });
  });
});

describe('embedded broker thread over TLS', function () {
  let certs: TestCerts | null = null;
  before(async function () {
    requireService(this, 'openssl', opensslAvailable());
    certs = await makeCerts({ clients: [SITE_A, SITE_B] });
  });
  after(function () {
    certs?.remove();
  });

  it("with mTLS takes the site from the certificate's CN and asks the main thread about the certificate's serial", async function () {
    const c = certs!;
    const asked: ConnectingClient[] = [];
    const isRevoked = (who: ConnectingClient) => {
      asked.push(who);
      return who.username === SITE_B;
    };
    const tls = { cert: c.read(c.server.cert), key: c.read(c.server.key), ca: c.read(c.ca), requireCertificate: true, identityAsUsername: true };
    await withThread({ isRevoked, tls }, async (_broker, b) => {
      const as = (site: string) => ({ ...b, clientOptions: { ca: c.read(c.ca), cert: c.read(c.clients[site]!.cert), key: c.read(c.clients[site]!.key) } });
      assert.notEqual(await connectError({ ...b, clientOptions: { ca: c.read(c.ca) } }, SITE_A), null, 'no client certificate');
      const a = await connectAs(as(SITE_A), undefined, undefined, { clientId: `${SITE_A}:agent` });
      assert.deepEqual(await a.subscribe(`lifo4/${SITE_A}/cmd`, `lifo4/${SITE_B}/cmd`), [1, 128]);
      await a.end();
      assert.notEqual(await connectError(as(SITE_B), undefined, undefined, { clientId: `${SITE_B}:agent` }), null, 'revoked');
      assert.deepEqual(asked.map((who) => who.username), [SITE_A, SITE_B]);
      for (const who of asked) assert.match(who.certificateSerial ?? 'none', /^[0-9A-F]+$/);
    });
  });

  it('serves MQTTS on a second listener beside the plain one, with the same passwords', async function () {
    const c = certs!;
    await withThread({ mqtts: { port: 0, tls: { cert: c.read(c.server.cert), key: c.read(c.server.key) } } }, async (broker, plain) => {
      assert.equal(await connectError(plain, SITE_A), null);
      const secure = { ...plain, url: `mqtts://127.0.0.1:${broker.mqttsPort!}`, clientOptions: { ca: c.read(c.ca) } };
      assert.equal(await connectError(secure, SITE_A), null);
      assert.match((await connectError(secure, SITE_A, 'wrong')) ?? 'connected', /bad user ?name or password|not authorized/i);
    });
  });
});
