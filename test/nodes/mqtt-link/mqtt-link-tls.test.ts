// The mqtt-link as a site uses it in production: TLS to Mosquitto with the broker's CA, and mutual
// TLS where the client certificate's CN is the site (use_identity_as_username) and the shipped ACL
// applies to it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { MqttLinkConfigSchema } from '../../../nodes/mqtt-link/config';
import { MqttLinkConnection } from '../../../nodes/mqtt-link/link';
import { topics } from '../../../domain/topics';
import { packageRoot } from '../../../io/package-root';
import { makeCerts, opensslAvailable, type TestCerts } from '../../services/certs';
import { mosquittoAvailable, startMosquitto, type RunningMosquitto } from '../../services/mosquitto';
import { requireService, waitUntil } from '../../services/service';

const SITE = 'site-tls';

describe('mqtt-link over TLS and mutual TLS (real Mosquitto, shipped ACL)', function () {
  this.timeout(60_000);
  let certs: TestCerts;
  let broker: RunningMosquitto;
  const links: MqttLinkConnection[] = [];

  before(async function () {
    requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
    requireService(this, 'openssl', opensslAvailable(), 'apt-get install openssl');
    certs = await makeCerts({ clients: [SITE, 'cloud'] });
    broker = await startMosquitto({
      allowAnonymous: false,
      aclFile: join(packageRoot, 'deploy', 'mosquitto', 'acl'),
      tls: { ca: certs.ca, server: certs.server, requireCertificate: true, useIdentityAsUsername: true },
    });
  });
  after(async () => {
    for (const l of links) await l.close();
    await broker?.stop();
    certs?.remove();
  });

  const link = (cert?: { cert: string; key: string }) => {
    const l = new MqttLinkConnection({
      config: MqttLinkConfigSchema.parse({ url: broker.tlsUrl!, siteId: SITE, ca: certs.ca, ...(cert ? { cert: cert.cert, key: cert.key } : {}) }),
      reconnectMs: 200,
      maxReconnectMs: 400,
    });
    links.push(l);
    return l;
  };

  it("connects with the site's certificate and publishes its telemetry, which the cloud receives", async () => {
    const cloud = await mqtt.connectAsync(broker.tlsUrl!, { ca: certs.read(certs.ca), cert: certs.read(certs.clients.cloud!.cert), key: certs.read(certs.clients.cloud!.key) });
    try {
      const got: string[] = [];
      cloud.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
      await cloud.subscribeAsync(`lifo4/+/telemetry`, { qos: 1 });
      const site = link(certs.clients[SITE]);
      await waitUntil('the link connected', async () => site.connected);
      await site.publish(topics.telemetry(SITE), 'hello', { qos: 1 });
      await waitUntil('the cloud got it', async () => got.includes(`lifo4/${SITE}/telemetry hello`));
    } finally {
      await cloud.endAsync();
    }
  });

  it('is refused without a client certificate, or with one the CA did not sign', async () => {
    const bare = link();
    const foreign = link(certs.untrusted);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(bare.connected, false);
    assert.equal(foreign.connected, false);
  });
});
