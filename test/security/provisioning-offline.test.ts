// The fleet signing key and the CA key off the runtime host: real `lifo4 image build`, `image
// verify` and `cert sign` processes sign with key files given by path, and a cloud that holds only
// the public halves neither signs nor quietly makes new keys.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { loadOrCreateFleetCa } from '../../runtime/ota/provisioning';
import { makeCsr } from '../../runtime/ota/provisioning-client';
import { otaDir, SIGNING_PUB_FILE } from '../../runtime/ota/signing-key';
import { call, createUser, login, startHarness, type Harness } from '../runtime/api/harness';
import { runCli } from '../integration/lifo4-process';
import { ed25519, flowsFor, removeDir, tempDir } from '../runtime/ota/ota-fixtures';

describe('security: offline signing (keys given by path; a cloud without private keys)', function () {
  this.timeout(120_000);
  let root: string;
  let cloudDir: string;
  let keyFile: string;
  let flows: string;
  let payload: string;

  before(() => {
    root = tempDir('sec-offline');
    cloudDir = join(root, 'cloud');
    mkdirSync(otaDir(cloudDir), { recursive: true });
    const k = ed25519();
    keyFile = join(root, 'signer', 'fleet-signing.key');
    mkdirSync(join(root, 'signer'));
    writeFileSync(keyFile, k.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(otaDir(cloudDir), SIGNING_PUB_FILE), k.publicPem);
    flows = join(root, 'flows.json');
    writeFileSync(flows, JSON.stringify(flowsFor('healthy', '1.0.0')));
    payload = join(root, 'runtime.js');
    writeFileSync(payload, '// payload\n');
  });
  after(() => removeDir(root));

  it('builds a bundle with --signing-key that the cloud verifies with the public key alone', () => {
    const out = join(root, 'bundle-1.0.0');
    const build = runCli(['image', 'build', '--flows', flows, '--data-dir', cloudDir, '--signing-key', keyFile, '--release', '1.0.0', '--sequence', '1', '--include', payload, '--entry', '["runtime.js"]', '--out', out]);
    assert.equal(build.code, 0, build.stderr);
    const verify = runCli(['image', 'verify', out, '--data-dir', cloudDir]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^ok 1\.0\.0/);
  });

  it('refuses to build on a host that holds only the public key, and makes no new key', () => {
    const pub = readFileSync(join(otaDir(cloudDir), SIGNING_PUB_FILE), 'utf8');
    const build = runCli(['image', 'build', '--flows', flows, '--data-dir', cloudDir, '--release', '1.0.1', '--sequence', '2', '--include', payload, '--entry', '["runtime.js"]', '--out', join(root, 'b2')]);
    assert.notEqual(build.code, 0);
    assert.match(build.stderr, /--signing-key/);
    assert.equal(existsSync(join(otaDir(cloudDir), 'fleet-signing.key')), false);
    assert.equal(readFileSync(join(otaDir(cloudDir), SIGNING_PUB_FILE), 'utf8'), pub, 'the public key every device trusts is unchanged');
  });

  describe('a cloud whose CA key is off the host', () => {
    let h: Harness;
    let caKey: string;
    before(async () => {
      h = await startHarness({ ota: { transport: null, mqttUrl: 'mqtts://127.0.0.1:8883' } });
      await loadOrCreateFleetCa(h.dir);
      writeFileSync(join(otaDir(h.dir), SIGNING_PUB_FILE), ed25519().publicPem);
      caKey = join(root, 'signer', 'fleet-ca.key');
      renameSync(join(otaDir(h.dir), 'fleet-ca.key'), caKey);
    });
    after(async () => h?.close());

    it('answers provisioning with 503 ca_offline and does not make a new CA', async () => {
      const root0 = (await login(h, await createUser(h, 'root@offline.example', 'SUPER_ADMIN'))).accessToken;
      await call(h, 'post', '/ota/serials', { token: root0, body: { serials: ['SN-OFF'] } });
      const claim = await call<{ token: string }>(h, 'post', '/ota/claims', { token: root0, body: { siteId: 'site-off' } });
      const caBefore = readFileSync(join(otaDir(h.dir), 'fleet-ca.crt'), 'utf8');
      const r = await call(h, 'post', '/ota/provision', { body: { claimToken: claim.body.token, serial: 'SN-OFF', csr: (await makeCsr('SN-OFF')).csrPem } });
      assert.equal(r.status, 503);
      assert.equal(r.body.error, 'ca_offline');
      assert.equal(readFileSync(join(otaDir(h.dir), 'fleet-ca.crt'), 'utf8'), caBefore);
      assert.equal(existsSync(join(otaDir(h.dir), 'fleet-ca.key')), false);
    });

    it('signs a device certificate offline with `lifo4 cert sign --ca-key`, and refuses a reserved CN', async () => {
      const { csrPem } = await makeCsr('SN-OFF');
      const csr = join(root, 'device.csr');
      writeFileSync(csr, csrPem);
      const caCert = join(otaDir(h.dir), 'fleet-ca.crt');
      const out = join(root, 'device.crt');
      const r = runCli(['cert', 'sign', '--csr', csr, '--cn', 'site-off', '--ca-key', caKey, '--ca-cert', caCert, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      const cert = new x509.X509Certificate(readFileSync(out, 'utf8'));
      assert.equal(cert.subjectName.getField('CN')[0], 'site-off');
      assert.ok(await cert.verify({ publicKey: new x509.X509Certificate(readFileSync(caCert, 'utf8')).publicKey, signatureOnly: true }));
      const reserved = runCli(['cert', 'sign', '--csr', csr, '--cn', 'cloud', '--ca-key', caKey, '--ca-cert', caCert, '--out', join(root, 'cloud.crt')]);
      assert.equal(reserved.code, 2);
      assert.match(reserved.stderr, /reserved/);
    });
  });
});
