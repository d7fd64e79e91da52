// The fleet broker attacked by a site: a real `lifo4 cloud` process with its embedded broker, sites
// with their own broker passwords, and `lifo4 site revoke` run against the same data directory; and
// the embedded broker with mTLS, where a device's certificate from provisioning is revoked through
// the API.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { startBroker, type RunningBroker } from '../../runtime/broker/broker';
import { issueCertificate, loadOrCreateFleetCa } from '../../runtime/ota/provisioning';
import { makeCsr } from '../../runtime/ota/provisioning-client';
import { revocationCheck } from '../../runtime/ota/revocations';
import { loadOrCreateSigningKey } from '../../runtime/ota/signing-key';
import { loadOrCreateSecrets, siteSecrets } from '../../runtime/secrets';
import { call, createUser, login, startHarness, type Harness } from '../runtime/api/harness';
import { eventually, freePorts, Lifo4Process, runCli } from '../integration/lifo4-process';

/** Connects, or resolves with the broker's refusal. */
// 30 s for the CONNACK: the broker checks each password with bcrypt, slower while the suite runs beside it.
async function tryConnect(url: string, o: IClientOptions): Promise<{ client: MqttClient } | { refused: string }> {
  try {
    return { client: await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 30_000, protocolVersion: 4, ...o }) };
  } catch (err) {
    return { refused: err instanceof Error ? err.message : String(err) };
  }
}

function connected(r: { client: MqttClient } | { refused: string }): MqttClient {
  if ('refused' in r) assert.fail(`refused: ${r.refused}`);
  return r.client;
}

describe('security: the broker binds client ids to their account and refuses revoked sites (lifo4 cloud process)', function () {
  this.timeout(120_000);
  let dir: string;
  let cloud: Lifo4Process;
  let url: string;
  let cloudPassword: string;
  const open: MqttClient[] = [];
  const site = 'site-sec';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-sec-broker-'));
    const [port, mqttPort] = (await freePorts(2)) as [number, number];
    cloudPassword = loadOrCreateSecrets(dir).mqttCloudPassword;
    siteSecrets(dir, site);
    siteSecrets(dir, 'site-other');
    cloud = new Lifo4Process(['cloud', '--port', String(port), '--mqtt-port', String(mqttPort), '--data-dir', dir]);
    url = `mqtt://127.0.0.1:${mqttPort}`;
    const probe = await eventually(async () => {
      const r = await tryConnect(url, { username: 'cloud', password: cloudPassword, clientId: 'cloud-probe' });
      return 'client' in r ? r.client : undefined;
    }, 60_000, `the cloud's broker answers:\n${cloud.output}`);
    await probe.endAsync();
  });

  after(async () => {
    await Promise.all(open.map((c) => c.endAsync(true).catch(() => undefined)));
    await cloud?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a site that connects with the cloud's OTA or ingest client id; the cloud's connection stays", async () => {
    const ingest = connected(await tryConnect(url, { username: 'cloud', password: cloudPassword, clientId: 'lifo4-cloud-ingest-sec', clean: true }));
    open.push(ingest);
    let kicked = false;
    ingest.on('close', () => (kicked = true));
    const password = siteSecrets(dir, site).mqttPassword;
    for (const clientId of ['lifo4-cloud-ingest-sec', `lifo4-cloud-ota-${cloud.proc.pid!}`, 'lifo4-edge-site-other', 'site-other', 'site-other:ota-agent']) {
      const r = await tryConnect(url, { username: site, password, clientId, clean: true });
      assert.ok('refused' in r, `${clientId} was accepted`);
      assert.match(r.refused, /identifier rejected/i);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(kicked, false, "the cloud's client was not taken over");
    assert.equal(ingest.connected, true);
    // Its own ids are fine.
    for (const clientId of [site, `${site}:ota-agent`, `lifo4-edge-${site}`]) {
      const own = connected(await tryConnect(url, { username: site, password, clientId }));
      await own.endAsync();
    }
  });

  it('refuses a site revoked with `lifo4 site revoke` from its next connection', async () => {
    const password = siteSecrets(dir, site).mqttPassword;
    const before = connected(await tryConnect(url, { username: site, password, clientId: site }));
    await before.endAsync();
    const r = runCli(['site', 'revoke', site, '--data-dir', dir, '--reason', 'device stolen']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /revoked site site-sec/);
    const after = await tryConnect(url, { username: site, password, clientId: site });
    assert.ok('refused' in after, 'a revoked site connected');
    assert.match(after.refused, /not authorized/i);
    // Another site is not affected.
    const other = connected(await tryConnect(url, { username: 'site-other', password: siteSecrets(dir, 'site-other').mqttPassword, clientId: 'site-other' }));
    await other.endAsync();
  });
});

describe('security: a revoked device certificate is refused by the broker (mTLS, identity from the certificate)', function () {
  this.timeout(60_000);
  let h: Harness;
  let broker: RunningBroker;

  before(async () => {
    h = await startHarness({ ota: { transport: null, mqttUrl: 'mqtts://127.0.0.1:8883' } });
    loadOrCreateSigningKey(h.dir);
    const ca = await loadOrCreateFleetCa(h.dir);
    const server = await makeCsr('127.0.0.1');
    const serverCert = await issueCertificate(ca, new x509.Pkcs10CertificateRequest(server.csrPem).publicKey, '127.0.0.1', 'server', 30, ['127.0.0.1']);
    const [port] = await freePorts(1);
    broker = await startBroker({
      port: port!, credentials: new Map(), isRevoked: revocationCheck(() => h.api.db),
      tls: { cert: serverCert.toString('pem'), key: server.keyPem, ca: ca.certPem, requireCertificate: true, identityAsUsername: true },
    });
  });

  after(async () => {
    await broker?.close();
    await h?.close();
  });

  it('connects with the certificate from provisioning, and not after an ADMIN revoked the site', async () => {
    const root = (await login(h, await createUser(h, 'root@mtls.example', 'SUPER_ADMIN'))).accessToken;
    await call(h, 'post', '/ota/serials', { token: root, body: { serials: ['SN-MTLS'] } });
    const claim = await call<{ token: string }>(h, 'post', '/ota/claims', { token: root, body: { siteId: 'site-mtls' } });
    const { csrPem, keyPem } = await makeCsr('SN-MTLS');
    const p = await call<{ certificate: string; caChain: string }>(h, 'post', '/ota/provision', { body: { claimToken: claim.body.token, serial: 'SN-MTLS', csr: csrPem } });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    const device: IClientOptions = { ca: p.body.caChain, cert: p.body.certificate, key: keyPem, clientId: 'site-mtls:ota-agent', rejectUnauthorized: true };
    const first = connected(await tryConnect(broker.url, device));
    await first.endAsync();
    const admin = (await login(h, await createUser(h, 'admin@mtls.example', 'ADMIN'))).accessToken;
    assert.equal((await call(h, 'post', '/sites/site-mtls/revoke', { token: admin, body: { reason: 'lost' } })).status, 200);
    const after = await tryConnect(broker.url, device);
    assert.ok('refused' in after, 'a revoked certificate connected');
    assert.match(after.refused, /not authorized/i);
  });
});
