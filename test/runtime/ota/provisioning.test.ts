// Zero-touch provisioning and a canary roll-out end to end: the real cloud API, the embedded broker
// with mTLS (client certificates signed by the fleet CA, CN = identity, the broker's ACL), and a
// real `lifo4 agent` process that starts with nothing but a claim token.
import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { io as connectRealtime } from 'socket.io-client';
import type { CloudApi } from '../../../runtime/app/cloud-api';
import { startBroker, type RunningBroker } from '../../../runtime/broker/broker';
import type { OtaTransport } from '../../../runtime/ota/ota-cloud';
import { mqttOtaTransport } from '../../../runtime/ota/mqtt-transport';
import { issueCertificate, loadOrCreateFleetCa } from '../../../runtime/ota/provisioning';
import { makeCsr } from '../../../runtime/ota/provisioning-client';
import { loadOrCreateSigningKey, otaDir } from '../../../runtime/ota/signing-key';
import { call, createUser, login, startHarness, type Harness } from '../api/harness';
import { eventually, freePorts, Lifo4Process } from '../../integration/lifo4-process';
import { buildTestBundle, currentRelease, readState, ReleaseSource, removeDir, tempDir } from './ota-fixtures';
import { stopAgentProcess } from './agent-harness';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/** A key + certificate for `cn` signed by the fleet CA (the broker's and the cloud account's). */
async function certFor(dataDir: string, cn: string, usage: 'client' | 'server'): Promise<{ cert: string; key: string }> {
  const ca = await loadOrCreateFleetCa(dataDir);
  const { csrPem, keyPem } = await makeCsr(cn);
  const cert = await issueCertificate(ca, new x509.Pkcs10CertificateRequest(csrPem).publicKey, cn, usage, 30, usage === 'server' ? ['127.0.0.1', 'localhost'] : []);
  return { cert: cert.toString('pem'), key: keyPem };
}

describe('OTA provisioning and roll-out end to end (API + embedded broker with mTLS + agent process)', function () {
  this.timeout(180_000);
  let h: Harness;
  let api: CloudApi;
  let broker: RunningBroker;
  let cloudClient: MqttClient;
  let root: string;
  let token: string;
  let agent: Lifo4Process | null = null;
  const agentDir = () => join(root, 'edge');
  const pending: [string, (topic: string, payload: Buffer) => void][] = [];
  const lazy: { transport: OtaTransport | null } = { transport: null };

  before(async () => {
    root = tempDir('provision');
    const [mqttPort] = await freePorts(1);
    // The cloud API, its OTA side reaching the broker through a transport connected below.
    h = await startHarness({
      ota: {
        transport: {
          publish: (t, p) => (lazy.transport ? lazy.transport.publish(t, p) : Promise.reject(new Error('not connected'))),
          subscribe: (f, handler) => {
            pending.push([f, handler]);
            return () => undefined;
          },
        },
        mqttUrl: `mqtts://127.0.0.1:${mqttPort!}`,
        tickMs: 200,
      },
    });
    api = h.api;
    api.ota.publicUrl = `${h.url}/api/v1`;
    const server = await certFor(h.dir, '127.0.0.1', 'server');
    const ca = (await loadOrCreateFleetCa(h.dir)).certPem;
    broker = await startBroker({ port: mqttPort!, credentials: new Map(), tls: { ...server, ca, requireCertificate: true, identityAsUsername: true } });
    const cloudCert = await certFor(h.dir, 'cloud', 'client');
    cloudClient = await connectAsync(broker.url, { ca, ...cloudCert, clientId: 'ota-test-cloud', reconnectPeriod: 200 });
    const transport = mqttOtaTransport(cloudClient);
    for (const [f, handler] of pending) transport.subscribe(f, handler);
    lazy.transport = transport;

    // Bundles signed with the cloud's own fleet key, in its bundle store.
    const source = new ReleaseSource(root);
    const key = loadOrCreateSigningKey(h.dir).privateKey;
    await buildTestBundle({ root, source, key, version: '1.0.0', sequence: 1, outDir: join(otaDir(h.dir), 'bundles', '1.0.0') });

    const root0 = await createUser(h, 'root@ota.example', 'SUPER_ADMIN');
    token = (await login(h, root0)).accessToken;
  });

  after(async () => {
    await stopAgentProcess(agent, agentDir());
    await cloudClient?.endAsync();
    await broker?.close();
    await h?.close();
    removeDir(root);
  });

  it('provisions a fresh edge holding only a claim token: identity, certificate, first bundle committed', async () => {
    const allow = await call(h, 'post', '/ota/serials', { token, body: { serials: ['SN-0001', 'SN-0002'] } });
    assert.equal(allow.status, 200, JSON.stringify(allow.body));
    const claim = await call<{ token: string }>(h, 'post', '/ota/claims', { token, body: { siteId: 'site-zt', ttlHours: 1 } });
    assert.equal(claim.status, 201);
    // The device ships with the fleet's signing key and CA; the lab cloud speaks plain http.
    const trust = join(otaDir(h.dir), 'fleet-signing.pub');
    const ca = join(otaDir(h.dir), 'fleet-ca.crt');
    agent = new Lifo4Process(['agent', '--dir', agentDir(), '--provision-url', `${h.url}/api/v1`, '--insecure-provisioning', '--trust-key', trust, '--ca', ca, '--claim-token', claim.body.token, '--serial', 'SN-0001', '--health-window-s', '1.5'], { LIFO4_OTA_KILL_AT: '' });
    await agent.waitFor(/provisioned as site site-zt/, 60_000);
    const state = await eventually(async () => (readState(agentDir()).committed?.version === '1.0.0' ? readState(agentDir()) : undefined), 60_000, 'first bundle committed');
    assert.equal(state.trial, null);
    assert.equal(currentRelease(agentDir()), '1.0.0');
    await eventually(async () => ((await api.db.one(sql`SELECT 1 AS n FROM audit WHERE action = 'otaProvision' AND outcome = 'success' AND target = 'site-zt'`)) ? true : undefined), 5000, 'audit of the provisioning');

    // The same claim again, by another allowed device: refused.
    const again = await call(h, 'post', '/ota/provision', { body: { claimToken: claim.body.token, serial: 'SN-0002', csr: (await makeCsr('SN-0002')).csrPem } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'claim_used');
  });

  it('refuses a serial that is not on the allow-list and an unknown claim with one answer', async () => {
    const claim = await call<{ token: string }>(h, 'post', '/ota/claims', { token, body: { siteId: 'site-zt2' } });
    const r = await call(h, 'post', '/ota/provision', { body: { claimToken: claim.body.token, serial: 'SN-STOLEN', csr: (await makeCsr('SN-STOLEN')).csrPem } });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'provisioning_refused');
    const r2 = await call(h, 'post', '/ota/provision', { body: { claimToken: 'x'.repeat(32), serial: 'SN-0002', csr: (await makeCsr('SN-0002')).csrPem } });
    assert.equal(r2.status, 403);
    assert.deepEqual(r2.body, r.body, 'an unknown serial and an unknown claim answer alike');
  });

  it('a SUPER_ADMIN rolls a new bundle out through the API; the site commits it; the roll-out completes and is audited', async () => {
    // Every change of the roll-out is pushed over the realtime channel to those who may steer it.
    // Each socket's `hello` is awaited from the moment it connects: it may come before the next login ends.
    const socket = (t: string) => {
      const s = connectRealtime(h.url, { path: '/api/v1/realtime', auth: { token: t }, transports: ['websocket'], reconnection: false, forceNew: true });
      return { s, hello: new Promise((r) => s.once('hello', r)) };
    };
    const rootLive = socket(token);
    const operatorLive = socket((await login(h, await createUser(h, 'operator@ota.example', 'OPERATOR'))).accessToken);
    const [rootSocket, operatorSocket] = [rootLive.s, operatorLive.s];
    const pushed: { root: string[]; operator: string[] } = { root: [], operator: [] };
    rootSocket.on('ota', (p: { deploymentId: string }) => pushed.root.push(p.deploymentId));
    operatorSocket.on('ota', (p: { deploymentId: string }) => pushed.operator.push(p.deploymentId));
    await Promise.all([rootLive.hello, operatorLive.hello]);
    const source = new ReleaseSource(join(root, 'v2'));
    await buildTestBundle({ root: join(root, 'v2'), source, key: loadOrCreateSigningKey(h.dir).privateKey, version: '2.0.0', sequence: 2, outDir: join(otaDir(h.dir), 'bundles', '2.0.0') });
    const bundles = await call<{ bundles: { version: string }[] }>(h, 'get', '/ota/bundles', { token });
    assert.deepEqual(bundles.body.bundles.map((b) => b.version), ['2.0.0', '1.0.0']);
    const created = await call<{ id: string; state: string }>(h, 'post', '/ota/deployments', { token, body: { version: '2.0.0', siteIds: ['site-zt'], stages: [100], stageHours: 0, minSites: 1 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await eventually(async () => {
      const d = await call<{ state: string; targets: { siteId: string; phase: string }[] }>(h, 'get', `/ota/deployments/${created.body.id}`, { token });
      return d.body.state === 'completed' ? d.body : undefined;
    }, 60_000, 'roll-out completed');
    // The notice and the reports went over mTLS with the certificate the device got at provisioning.
    assert.deepEqual(done.targets.map((t) => [t.siteId, t.phase]), [['site-zt', 'committed']]);
    assert.equal(currentRelease(agentDir()), '2.0.0');
    const audit = await api.db.all(sql<{ outcome: string; target: string }>`SELECT outcome, target FROM audit WHERE action = 'otaCreateDeployment'`);
    assert.deepEqual(audit, [{ outcome: 'success', target: created.body.id }]);
    const resume = await call(h, 'post', `/ota/deployments/${created.body.id}/resume`, { token, body: {} });
    assert.equal(resume.status, 409, 'a completed roll-out cannot be resumed');
    assert.ok(pushed.root.includes(created.body.id), 'the SUPER_ADMIN heard of the roll-out');
    assert.deepEqual(pushed.operator, [], 'an OPERATOR, who may not deploy, heard nothing');
    rootSocket.disconnect();
    operatorSocket.disconnect();
  });
});
