// The shipped Mosquitto configuration (deploy/mosquitto/mosquitto.conf and acl, with a password file
// from runtime/broker/mosquitto-files.ts) run by a real mosquitto: per-site credentials and ACL,
// TLS verified against the CA, mTLS, and what a restart without persistence does to queued messages.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../io/package-root';
import { mosquittoPasswordFile } from '../../../runtime/broker/mosquitto-files';
import { type TestCerts, makeCerts, opensslAvailable } from '../../services/certs';
import { type RunningMosquitto, mosquittoAvailable, startMosquitto } from '../../services/mosquitto';
import { requireService } from '../../services/service';
import { type BrokerUnderTest, Party, SITE_A, SITE_B, connectAs, connectError, describeAclCases, uniq } from './acl-cases';

const DEPLOY = join(packageRoot, 'deploy', 'mosquitto');
const PASSWORDS: Record<string, string> = { cloud: 'cloud-secret', [SITE_A]: 'a-secret', [SITE_B]: 'b-secret' };

/** deploy/mosquitto/mosquitto.conf with its paths in `dir`, its listeners on the test's ports, logging to stdout. */
function shippedConf(at: { dir: string; port: number; tlsPort: number | null; passwordFile: string | null; aclFile: string | null; persistence: boolean }, certs: TestCerts, requireCertificate: boolean): string {
  const text = readFileSync(join(DEPLOY, 'mosquitto.conf'), 'utf8');
  const replaced = text
    .replace('password_file /etc/mosquitto/lifo4/passwd', `password_file ${at.passwordFile}`)
    .replace('acl_file /etc/mosquitto/lifo4/acl', `acl_file ${at.aclFile}`)
    .replace('persistence true', `persistence ${at.persistence}`)
    .replace('persistence_location /var/lib/mosquitto/', `persistence_location ${at.dir}/`)
    .replace('log_dest syslog', 'log_dest stdout')
    .replace('listener 1883 127.0.0.1', `listener ${at.port} 127.0.0.1`)
    .replace(/^listener 8883$/m, `listener ${at.tlsPort} 127.0.0.1`)
    .replace('cafile /etc/mosquitto/lifo4/ca.crt', `cafile ${certs.ca}`)
    .replace('certfile /etc/mosquitto/lifo4/server.crt', `certfile ${certs.server.cert}`)
    .replace('keyfile /etc/mosquitto/lifo4/server.key', `keyfile ${certs.server.key}`)
    .replace('require_certificate false', `require_certificate ${requireCertificate}`);
  // Every line that names a deployment path or port must have been rewritten.
  assert.doesNotMatch(replaced, /\/etc\/mosquitto|\/var\/lib|syslog|listener (1883|8883)\b/);
  return replaced;
}

async function startShipped(certs: TestCerts, requireCertificate: boolean): Promise<RunningMosquitto> {
  const passwordFile = join(certs.dir, `passwd-${uniq('m')}`);
  writeFileSync(passwordFile, mosquittoPasswordFile(Object.entries(PASSWORDS).map(([username, password]) => ({ username, password }))));
  return startMosquitto({
    passwordFile,
    aclFile: join(DEPLOY, 'acl'),
    tls: { ca: certs.ca, server: certs.server, requireCertificate },
    confText: (at) => shippedConf(at, certs, requireCertificate),
  });
}

describe('Mosquitto with the shipped deploy/mosquitto configuration', function () {
  let certs: TestCerts | null = null;
  before(async function () {
    requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
    requireService(this, 'openssl', opensslAvailable());
    certs = await makeCerts({ clients: [SITE_A, 'cloud'] });
  });
  after(function () {
    certs?.remove();
  });

  describe('per-site credentials and the ACL, on the sites\' TLS listener', function () {
    let m: RunningMosquitto | null = null;
    before(async function () {
      m = await startShipped(certs!, false);
    });
    after(async function () {
      await m?.stop();
    });
    describeAclCases(() => ({ url: m!.tlsUrl!, clientOptions: { ca: certs!.read(certs!.ca) }, passwords: PASSWORDS, refusedPublishCloses: false }));

    it('serves the cloud runtimes on the loopback listener with the same credentials', async function () {
      const plain: BrokerUnderTest = { url: m!.url, passwords: PASSWORDS, refusedPublishCloses: false };
      const cloud = await connectAs(plain, 'cloud');
      await cloud.end();
      assert.match((await connectError(plain, undefined)) ?? 'connected', /not authorized/i);
    });

    it('verifies the server against the CA: a client that does not trust the CA is refused by its own TLS check', async function () {
      const err = await connectError({ url: m!.tlsUrl!, passwords: PASSWORDS, refusedPublishCloses: false }, SITE_A);
      assert.match(err ?? 'connected', /self[- ]signed|unable to (get|verify)|certificate/i);
    });
  });

  describe('mTLS (require_certificate true)', function () {
    let m: RunningMosquitto | null = null;
    before(async function () {
      m = await startShipped(certs!, true);
    });
    after(async function () {
      await m?.stop();
    });

    it('refuses a site without a client certificate', async function () {
      const err = await connectError({ url: m!.tlsUrl!, clientOptions: { ca: certs!.read(certs!.ca) }, passwords: PASSWORDS, refusedPublishCloses: false }, SITE_A);
      assert.notEqual(err, null, 'a client without certificate must not connect');
    });

    it('refuses a client certificate from another CA', async function () {
      const c = certs!;
      const err = await connectError(
        { url: m!.tlsUrl!, clientOptions: { ca: c.read(c.ca), cert: c.read(c.untrusted.cert), key: c.read(c.untrusted.key) }, passwords: PASSWORDS, refusedPublishCloses: false },
        SITE_A,
      );
      assert.notEqual(err, null, 'a certificate the broker CA did not sign must not connect');
    });

    it('accepts a site with a certificate signed by the CA and its password, still held to the ACL', async function () {
      const c = certs!;
      const site: BrokerUnderTest = {
        url: m!.tlsUrl!,
        clientOptions: { ca: c.read(c.ca), cert: c.read(c.clients[SITE_A]!.cert), key: c.read(c.clients[SITE_A]!.key) },
        passwords: PASSWORDS,
        refusedPublishCloses: false,
      };
      const cloud = await connectAs({ url: m!.url, passwords: PASSWORDS, refusedPublishCloses: false }, 'cloud');
      const a = await connectAs(site, SITE_A);
      try {
        await cloud.subscribe('lifo4/+/telemetry');
        await a.tryPublish(`lifo4/${SITE_B}/telemetry`, 'forged');
        await a.publish(`lifo4/${SITE_A}/telemetry`, 'over-mtls');
        await cloud.received('over-mtls');
        assert.deepEqual(cloud.payloads(), ['over-mtls']);
      } finally {
        await Promise.all([a.end(), cloud.end()]);
      }
    });
  });
});

describe('Mosquitto restarts and persistent sessions: why the cloud acknowledges telemetry itself', function () {
  before(function () {
    requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
  });

  /**
   * A cloud subscriber with a persistent session (clean: false) goes offline, a site publishes three
   * QoS 1 records (each PUBACKed by the broker), the broker restarts, the subscriber comes back.
   * Returns what the subscriber received before a marker published after its return.
   */
  async function queuedAcrossRestart(persistence: boolean): Promise<string[]> {
    const m = await startMosquitto({ persistence });
    const parties: Party[] = [];
    try {
      const clientId = uniq('cloud-ingest');
      const b: BrokerUnderTest = { url: m.url, passwords: {}, refusedPublishCloses: false };
      const subscriber = await connectAs(b, undefined, undefined, { clientId, clean: false });
      await subscriber.subscribe(`lifo4/${SITE_A}/telemetry`);
      await subscriber.end();

      const site = await connectAs(b, undefined);
      parties.push(site);
      for (const seq of [1, 2, 3]) await site.publish(`lifo4/${SITE_A}/telemetry`, `record-${seq}`);
      await site.end();

      await m.restart();

      const back = await connectAs(b, undefined, undefined, { clientId, clean: false });
      parties.push(back);
      // Subscribing again is harmless when the session survived and needed when it did not.
      await back.subscribe(`lifo4/${SITE_A}/telemetry`);
      const after = await connectAs(b, undefined);
      parties.push(after);
      await after.publish(`lifo4/${SITE_A}/telemetry`, 'marker');
      await back.received('marker');
      return back.payloads().filter((p) => p !== 'marker');
    } finally {
      await Promise.all(parties.map((p) => p.end()));
      await m.stop();
    }
  }

  it('delivers QoS 1 messages queued for an offline clean:false client after a restart WITH persistence', async function () {
    assert.deepEqual(await queuedAcrossRestart(true), ['record-1', 'record-2', 'record-3']);
  });

  it('LOSES them after a restart WITHOUT persistence, although the broker acknowledged each one: so the edge keeps every record until the cloud acks it from its store', async function () {
    assert.deepEqual(await queuedAcrossRestart(false), []);
  });
});
