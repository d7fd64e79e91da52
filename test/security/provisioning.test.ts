// Provisioning trust, site ids and device certificates, attacked as an outsider would: the real
// cloud API over HTTP (and over HTTPS with a certificate from the fleet CA) and real `lifo4 agent`
// processes that hold the fleet's signing key and CA before they are provisioned.
import { sql } from 'kysely';
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { issueCertificate, loadOrCreateFleetCa } from '../../runtime/ota/provisioning';
import { makeCsr, renewCertificate } from '../../runtime/ota/provisioning-client';
import { loadOrCreateSigningKey, otaDir } from '../../runtime/ota/signing-key';
import { call, createUser, login, startHarness, type Harness } from '../runtime/api/harness';
import { Lifo4Process } from '../integration/lifo4-process';
import { buildTestBundle, ed25519, ReleaseSource, removeDir, tempDir } from '../runtime/ota/ota-fixtures';

describe('security: provisioning trust, site ids and device certificates (cloud API + lifo4 agent processes)', function () {
  this.timeout(120_000);
  let h: Harness;
  let root: string;
  let superToken: string;
  let https: Server;
  let httpsUrl: string;
  const trustKey = () => join(otaDir(h.dir), 'fleet-signing.pub');
  const trustCa = () => join(otaDir(h.dir), 'fleet-ca.crt');
  const processes: Lifo4Process[] = [];
  let n = 0;

  const claim = async (siteId: string, serial: string): Promise<string> => {
    assert.equal((await call(h, 'post', '/ota/serials', { token: superToken, body: { serials: [serial] } })).status, 200);
    const c = await call<{ token: string }>(h, 'post', '/ota/claims', { token: superToken, body: { siteId, ttlHours: 1 } });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    return c.body.token;
  };

  /** Runs `lifo4 agent` until it exits or says it is provisioned. */
  const agent = async (args: string[]): Promise<{ dir: string; proc: Lifo4Process; provisioned: boolean }> => {
    const dir = join(root, `edge-${++n}`);
    const proc = new Lifo4Process(['agent', '--dir', dir, '--health-window-s', '1', ...args], { LIFO4_OTA_KILL_AT: '' });
    processes.push(proc);
    const provisioned = await Promise.race([proc.waitFor(/provisioned as site/, 60_000).then(() => true), proc.exited.then(() => false)]);
    return { dir, proc, provisioned };
  };
  const identityWritten = (dir: string) => existsSync(join(dir, 'data', 'identity', 'identity.json'));

  before(async () => {
    root = tempDir('sec-provision');
    h = await startHarness({ ota: { transport: null, mqttUrl: 'mqtts://127.0.0.1:8883' } });
    h.api.ota.publicUrl = `${h.url}/api/v1`;
    const key = loadOrCreateSigningKey(h.dir).privateKey;
    await buildTestBundle({ root, source: new ReleaseSource(root), key, version: '1.0.0', sequence: 1, outDir: join(otaDir(h.dir), 'bundles', '1.0.0') });
    superToken = (await login(h, await createUser(h, 'root@sec.example', 'SUPER_ADMIN'))).accessToken;
    // The same API over HTTPS, with a server certificate from the fleet CA the devices trust.
    const ca = await loadOrCreateFleetCa(h.dir);
    const { csrPem, keyPem } = await makeCsr('127.0.0.1');
    const cert = await issueCertificate(ca, new x509.Pkcs10CertificateRequest(csrPem).publicKey, '127.0.0.1', 'server', 30, ['127.0.0.1']);
    const app = express();
    app.use('/api/v1', h.api.router);
    https = createHttpsServer({ cert: cert.toString('pem'), key: keyPem }, app);
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}/api/v1`;
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    https?.closeAllConnections();
    await new Promise((resolve) => (https ? https.close(resolve) : resolve(undefined)));
    await h?.close();
    removeDir(root);
  });

  it('refuses to provision over plain http without the lab flag, before sending the claim', async () => {
    const token = await claim('site-http', 'SN-HTTP');
    const a = await agent(['--provision-url', `${h.url}/api/v1`, '--trust-key', trustKey(), '--ca', trustCa(), '--claim-token', token, '--serial', 'SN-HTTP']);
    assert.equal(a.provisioned, false);
    assert.notEqual(a.proc.exit?.code, 0);
    assert.match(a.proc.output, /must be https/);
    assert.equal(identityWritten(a.dir), false);
    const used = (await h.api.db.one(sql<{ used_at: number | null }>`SELECT used_at FROM ota_claims WHERE site_id = ${'site-http'}`))!;
    assert.equal(used.used_at, null, 'the claim token never left the device');
  });

  it('provisions over https with the trusted CA reaching the TLS handshake, and fails without it', async () => {
    const token = await claim('site-tls', 'SN-TLS');
    const untrusting = await agent(['--provision-url', httpsUrl, '--trust-key', trustKey(), '--ca', join(root, 'other-ca.crt'), '--claim-token', token, '--serial', 'SN-TLS']);
    assert.equal(untrusting.provisioned, false, 'a missing CA file is an error, not a silent default');
    // A CA the server's certificate does not chain to: the TLS handshake fails.
    const otherCa = await loadOrCreateFleetCa(join(root, 'other-cloud'));
    writeFileSync(join(root, 'other-ca.crt'), otherCa.certPem);
    const wrongCa = await agent(['--provision-url', httpsUrl, '--trust-key', trustKey(), '--ca', join(root, 'other-ca.crt'), '--claim-token', token, '--serial', 'SN-TLS']);
    assert.equal(wrongCa.provisioned, false);
    assert.match(wrongCa.proc.output, /certificate|self[- ]signed|unable to verify/i);
    const ok = await agent(['--provision-url', httpsUrl, '--trust-key', trustKey(), '--ca', trustCa(), '--claim-token', token, '--serial', 'SN-TLS']);
    assert.equal(ok.provisioned, true, ok.proc.output);
    assert.equal(identityWritten(ok.dir), true);
    // The device renews over the same https channel, checked against the same CA.
    await ok.proc.stop('SIGKILL');
    const crt = join(ok.dir, 'data', 'identity', 'client.crt');
    const before = readFileSync(crt, 'utf8');
    assert.equal(await renewCertificate({ dir: ok.dir, apiUrl: httpsUrl, insecure: false }), false, 'not yet: 180 days left');
    assert.equal(await renewCertificate({ dir: ok.dir, apiUrl: httpsUrl, insecure: false, now: Date.now() + 160 * 86_400_000 }), true);
    const renewed = new x509.X509Certificate(readFileSync(crt, 'utf8'));
    assert.notEqual(renewed.serialNumber, new x509.X509Certificate(before).serialNumber);
    assert.equal(renewed.subjectName.getField('CN')[0], 'site-tls');
    await assert.rejects(renewCertificate({ dir: ok.dir, apiUrl: `${h.url}/api/v1`, insecure: false, force: true }), /must be https/);
  });

  it('refuses a provisioning answer whose signing key differs from the trusted one, and adopts nothing', async () => {
    const token = await claim('site-key', 'SN-KEY');
    const other = join(root, 'other-signing.pub');
    writeFileSync(other, ed25519().publicPem);
    const a = await agent(['--provision-url', httpsUrl, '--trust-key', other, '--ca', trustCa(), '--claim-token', token, '--serial', 'SN-KEY']);
    assert.equal(a.provisioned, false);
    assert.match(a.proc.output, /fleet signing key other than the trusted one: refused/);
    assert.equal(identityWritten(a.dir), false);
    assert.equal(existsSync(join(a.dir, 'data', 'identity', 'fleet-signing.pub')), false);
  });

  it('refuses a claim, a site and a settings value for the reserved ids "cloud" and "lifo4..."', async () => {
    for (const siteId of ['cloud', 'Cloud', 'lifo4-cloud-ota-1']) {
      const c = await call(h, 'post', '/ota/claims', { token: superToken, body: { siteId } });
      assert.equal(c.status, 400, `claim for ${siteId}`);
      const s = await call(h, 'post', '/sites', { token: superToken, body: { id: siteId } });
      assert.equal(s.status, 400, `site ${siteId}`);
    }
    const run = new Lifo4Process(['edge', '--site-id', 'cloud', '--data-dir', join(root, 'edge-cloud')]);
    processes.push(run);
    const exit = await run.exited;
    assert.equal(exit.code, 2, run.output);
    assert.match(run.output, /--site-id/);
  });

  it("answers another organisation's site id exactly like one of its own, and hides it on reads", async () => {
    await call(h, 'post', '/orgs', { token: superToken, body: { id: 'org-a', name: 'A' } });
    await call(h, 'post', '/orgs', { token: superToken, body: { id: 'org-b', name: 'B' } });
    assert.equal((await call(h, 'post', '/sites', { token: superToken, body: { id: 'acme-1', orgId: 'org-a' } })).status, 201);
    const adminB = (await login(h, await createUser(h, 'admin@b.example', 'ADMIN', 'org-b'))).accessToken;
    assert.equal((await call(h, 'post', '/sites', { token: adminB, body: { id: 'b-own' } })).status, 201);
    const theirs = await call(h, 'post', '/sites', { token: adminB, body: { id: 'acme-1' } });
    const mine = await call(h, 'post', '/sites', { token: adminB, body: { id: 'b-own' } });
    assert.equal(theirs.status, mine.status);
    assert.deepEqual(theirs.body, JSON.parse(JSON.stringify(mine.body).replaceAll('b-own', 'acme-1')));
    const read = await call(h, 'get', '/sites/acme-1', { token: adminB });
    const unknown = await call(h, 'get', '/sites/no-such-site', { token: adminB });
    assert.equal(read.status, 404);
    assert.deepEqual(read.body, JSON.parse(JSON.stringify(unknown.body).replaceAll('no-such-site', 'acme-1')));
  });

  it('gives a site to the organisation its claim names, not to whoever registered the id first', async () => {
    const adminB = (await login(h, await createUser(h, 'squatter@b.example', 'ADMIN', 'org-b'))).accessToken;
    assert.equal((await call(h, 'post', '/sites', { token: adminB, body: { id: 'acme-2' } })).status, 201, 'org B registers the id first');
    await call(h, 'post', '/ota/serials', { token: superToken, body: { serials: ['SN-ACME2'] } });
    const c = await call<{ token: string }>(h, 'post', '/ota/claims', { token: superToken, body: { siteId: 'acme-2', orgId: 'org-a' } });
    const { csrPem } = await makeCsr('SN-ACME2');
    assert.equal((await call(h, 'post', '/ota/provision', { body: { claimToken: c.body.token, serial: 'SN-ACME2', csr: csrPem } })).status, 200);
    assert.equal((await call(h, 'get', '/sites/acme-2', { token: adminB })).status, 404, 'org B no longer sees it');
    const adminA = (await login(h, await createUser(h, 'admin@a.example', 'ADMIN', 'org-a'))).accessToken;
    assert.equal((await call(h, 'get', '/sites/acme-2', { token: adminA })).status, 200);
  });

  it('answers an unknown serial and a wrong claim token alike', async () => {
    const token = await claim('site-probe', 'SN-PROBE');
    const { csrPem } = await makeCsr('SN-X');
    const unknownSerial = await call(h, 'post', '/ota/provision', { body: { claimToken: token, serial: 'SN-NOT-LISTED', csr: csrPem } });
    const wrongToken = await call(h, 'post', '/ota/provision', { body: { claimToken: 'w'.repeat(32), serial: 'SN-PROBE', csr: csrPem } });
    assert.equal(unknownSerial.status, 403);
    assert.deepEqual(wrongToken.body, unknownSerial.body);
    assert.equal(wrongToken.status, unknownSerial.status);
  });

  it('renews a device certificate for the same key only, for 180 days, and never a revoked one', async () => {
    const token = await claim('site-renew', 'SN-RENEW');
    const { csrPem, keyPem } = await makeCsr('SN-RENEW');
    const p = await call<{ certificate: string }>(h, 'post', '/ota/provision', { body: { claimToken: token, serial: 'SN-RENEW', csr: csrPem } });
    assert.equal(p.status, 200);
    const first = new x509.X509Certificate(p.body.certificate);
    const days = (first.notAfter.getTime() - first.notBefore.getTime()) / 86_400_000;
    assert.ok(days > 179 && days < 181, `lifetime ${days} days`);
    const again = await makeCsr('SN-RENEW', keyPem);
    const renewed = await call<{ certificate: string }>(h, 'post', '/ota/renew', { body: { certificate: p.body.certificate, csr: again.csrPem } });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.notEqual(new x509.X509Certificate(renewed.body.certificate).serialNumber, first.serialNumber);
    // Someone holding the certificate (it is not secret) but another key gets nothing.
    const thief = await makeCsr('SN-RENEW');
    const stolen = await call(h, 'post', '/ota/renew', { body: { certificate: p.body.certificate, csr: thief.csrPem } });
    assert.equal(stolen.status, 403);
    const adminDefault = (await login(h, await createUser(h, 'admin@default.example', 'ADMIN'))).accessToken;
    const revoked = await call<{ revokedCertificates: number }>(h, 'post', '/sites/site-renew/revoke', { token: adminDefault, body: { reason: 'stolen' } });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.revokedCertificates, 2);
    const after = await call(h, 'post', '/ota/renew', { body: { certificate: renewed.body.certificate, csr: again.csrPem } });
    assert.equal(after.status, 403);
    const operator = (await login(h, await createUser(h, 'op@default.example', 'OPERATOR'))).accessToken;
    assert.equal((await call(h, 'post', '/sites/site-renew/revoke', { token: operator, body: {} })).status, 403, 'an OPERATOR cannot revoke');
  });

  it('serves bundle files only under the signed URL of a notice, and limits the rate', async () => {
    const bare = await fetch(`${h.url}/api/v1/ota/bundles/1.0.0/manifest.json`);
    assert.equal(bare.status, 401);
    const notice = h.api.ota.signedNotice({ v: 1, deploymentId: 'd-1', siteId: 'site-dl', version: '1.0.0', sequence: 1, url: h.api.ota.bundleUrl('1.0.0'), issuedAt: Date.now() });
    const ok = await fetch(`${notice.url}/manifest.json`);
    assert.equal(ok.status, 200);
    const forged = notice.url.replace(/\.([A-Za-z0-9_-]{43})$/, (_m, mac: string) => `.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`);
    assert.equal((await fetch(`${forged}/manifest.json`)).status, 401);
    const otherSite = notice.url.replace('/site-dl.', '/site-xx.');
    assert.equal((await fetch(`${otherSite}/manifest.json`)).status, 401, 'a token names its site');
    const statuses: number[] = [];
    for (let i = 0; i < 130; i++) statuses.push((await fetch(`${h.url}/api/v1/ota/bundles/1.0.0/manifest.json`)).status);
    assert.ok(statuses.includes(429), 'rate limited');
  });
});
