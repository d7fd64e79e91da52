// Provisioned identities work with Mosquitto too: the device certificate the provisioning service
// signs (CN = site id) logs in to Mosquitto with require_certificate + use_identity_as_username and
// the shipped ACL (deploy/mosquitto/acl), and an agent updates over it. A site cannot report for
// another site.
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { openCloudDb, type CloudDb } from '../../../runtime/cloud-db/cloud-db';
import { EdgeAgent } from '../../../runtime/ota/edge-agent';
import { OTA_STATUS_FILTER, OtaStatusSchema, otaStatusTopic, type OtaStatus } from '../../../runtime/ota/messages';
import { issueCertificate, loadOrCreateFleetCa, ProvisioningError, ProvisioningService } from '../../../runtime/ota/provisioning';
import { makeCsr } from '../../../runtime/ota/provisioning-client';
import { readPublicKey } from '../../../runtime/ota/signing-key';
import { eventually } from '../../integration/lifo4-process';
import { mosquittoAvailable, startMosquitto, type RunningMosquitto } from '../../services/mosquitto';
import { requireService } from '../../services/service';
import { BundleServer, buildTestBundle, currentRelease, ed25519, killLeftRuntime, ReleaseSource, removeDir, tempDir } from './ota-fixtures';
import { packageRoot } from '../../../io/package-root';

describe('OTA over Mosquitto with mTLS and provisioned certificates', function () {
  this.timeout(120_000);
  let root: string;
  let db: CloudDb;
  let mosquitto: RunningMosquitto | null = null;
  let cloud: MqttClient | null = null;
  let agent: EdgeAgent | null = null;
  let server: BundleServer | null = null;
  const fleet = ed25519();
  const statuses: OtaStatus[] = [];
  let caPem: string;
  let device: { cert: string; key: string };

  before(async function () {
    requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
    root = tempDir('mosquitto');
    db = await openCloudDb(':memory:');
    const ca = await loadOrCreateFleetCa(join(root, 'cloud'));
    caPem = ca.certPem;
    const pemPair = async (cn: string, usage: 'client' | 'server') => {
      const { csrPem, keyPem } = await makeCsr(cn);
      const cert = await issueCertificate(ca, new x509.Pkcs10CertificateRequest(csrPem).publicKey, cn, usage, 2, usage === 'server' ? ['127.0.0.1', 'localhost'] : []);
      return { cert: cert.toString('pem'), key: keyPem };
    };
    // The device gets its certificate the zero-touch way.
    const provisioning = new ProvisioningService({ db, ca, fleetKeyPem: fleet.publicPem, mqttUrl: 'mqtts://127.0.0.1', currentBundle: () => null });
    await provisioning.allowSerials(['SN-MQ-1']);
    const claim = await provisioning.createClaim('site-mq', 3_600_000, 'test');
    const { csrPem, keyPem } = await makeCsr('SN-MQ-1');
    const answer = await provisioning.provision({ claimToken: claim.token, serial: 'SN-MQ-1', csr: csrPem });
    assert.equal(answer.siteId, 'site-mq');
    device = { cert: answer.certificate, key: keyPem };
    await assert.rejects(provisioning.provision({ claimToken: claim.token, serial: 'SN-MQ-1', csr: csrPem }), (e: unknown) => e instanceof ProvisioningError && e.code === 'claim_used');

    const files = join(root, 'tls');
    mkdirSync(files, { recursive: true });
    const srv = await pemPair('127.0.0.1', 'server');
    writeFileSync(join(files, 'ca.crt'), caPem);
    writeFileSync(join(files, 'server.crt'), srv.cert);
    writeFileSync(join(files, 'server.key'), srv.key, { mode: 0o600 });
    mosquitto = await startMosquitto({
      aclFile: join(packageRoot, 'deploy', 'mosquitto', 'acl'),
      allowAnonymous: false,
      tls: { ca: join(files, 'ca.crt'), server: { cert: join(files, 'server.crt'), key: join(files, 'server.key') }, requireCertificate: true, useIdentityAsUsername: true },
    });
    cloud = await connectAsync(mosquitto.tlsUrl!, { ca: caPem, ...(await pemPair('cloud', 'client')), clientId: 'ota-mq-cloud', reconnectPeriod: 200 });
    cloud.on('message', (_t, p) => {
      const r = OtaStatusSchema.safeParse(JSON.parse(p.toString('utf8')));
      if (r.success) statuses.push(r.data);
    });
    await cloud.subscribeAsync(OTA_STATUS_FILTER, { qos: 1 });
  });

  after(async () => {
    await agent?.stop();
    if (root) killLeftRuntime(join(root, 'edge'));
    await cloud?.endAsync();
    await server?.stop();
    await mosquitto?.stop();
    await db?.close();
    if (root) removeDir(root);
  });

  it('an agent with its provisioned certificate takes a notice through Mosquitto and reports the commit', async () => {
    const source = new ReleaseSource(root);
    const b = await buildTestBundle({ root, source, key: fleet.privateKey, version: '1.0.0', sequence: 1 });
    server = new BundleServer(root);
    await server.start();
    agent = new EdgeAgent({
      dir: join(root, 'edge'), siteId: 'site-mq', fleetKey: readPublicKey(fleet.publicPem), healthWindowMs: 1500, log: () => undefined,
      mqtt: { url: mosquitto!.tlsUrl!, options: { ca: caPem, cert: device.cert, key: device.key } },
    });
    await agent.start();
    await eventually(async () => (statuses.some((s) => s.siteId === 'site-mq' && s.phase === 'running') ? true : undefined), 30_000, 'agent connected');
    await cloud!.publishAsync('lifo4/site-mq/ota', JSON.stringify(server.notice('site-mq', 'mq-1', b.manifest)), { qos: 1 });
    const out = await eventually(async () => statuses.find((s) => s.deploymentId === 'mq-1' && s.phase === 'committed'), 60_000, 'committed over Mosquitto');
    assert.equal(out.running, '1.0.0');
    assert.equal(currentRelease(join(root, 'edge')), '1.0.0');
  });

  it('the ACL drops a report a site publishes for another site', async () => {
    const dev = await connectAsync(mosquitto!.tlsUrl!, { ca: caPem, cert: device.cert, key: device.key, clientId: 'site-mq-probe', reconnectPeriod: 0 });
    const forged: OtaStatus = { v: 1, siteId: 'site-other', deploymentId: 'forged', phase: 'committed', running: '9.9.9', ts: Date.now() };
    await dev.publishAsync(otaStatusTopic('site-other'), JSON.stringify(forged), { qos: 1 }).catch(() => undefined);
    const own: OtaStatus = { ...forged, siteId: 'site-mq', deploymentId: 'own-probe' };
    await dev.publishAsync(otaStatusTopic('site-mq'), JSON.stringify(own), { qos: 1 });
    await eventually(async () => (statuses.some((s) => s.deploymentId === 'own-probe') ? true : undefined), 10_000, 'own report delivered');
    assert.equal(statuses.some((s) => s.deploymentId === 'forged'), false);
    await dev.endAsync();
  });
});
