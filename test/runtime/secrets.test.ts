import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsError, loadOrCreateSecrets, secretsPath, siteSecrets } from '../../runtime/secrets';

describe('secrets', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-secrets-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are generated on the first start into <dataDir>/secrets.json, readable by the owner only', () => {
    const dataDir = join(dir, 'data');
    const secrets = loadOrCreateSecrets(dataDir);
    assert.equal(statSync(secretsPath(dataDir)).mode & 0o777, 0o600);
    assert.match(secrets.credentialSecret, /^[0-9a-f]{64}$/);
    assert.ok(secrets.jwtSecret.length >= 32);
    assert.notEqual(secrets.credentialSecret, secrets.jwtSecret);
  });

  it('are reused on later starts', () => {
    const first = loadOrCreateSecrets(dir);
    const second = loadOrCreateSecrets(dir);
    assert.deepEqual(second, first);
  });

  it('differ between installations', () => {
    const other = mkdtempSync(join(tmpdir(), 'lifo4-secrets-'));
    try {
      assert.notEqual(loadOrCreateSecrets(dir).credentialSecret, loadOrCreateSecrets(other).credentialSecret);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('leave no temporary files behind', () => {
    loadOrCreateSecrets(dir);
    loadOrCreateSecrets(dir);
    assert.deepEqual(readdirSync(dir), ['secrets.json']);
  });

  it('gain a secret a newer version introduced, keeping the existing ones', () => {
    const credentialSecret = 'c'.repeat(64);
    writeFileSync(secretsPath(dir), JSON.stringify({ credentialSecret, futureSecret: 'x' }), { mode: 0o600 });
    const secrets = loadOrCreateSecrets(dir);
    assert.equal(secrets.credentialSecret, credentialSecret);
    assert.ok(secrets.jwtSecret.length >= 32);
    const stored = JSON.parse(readFileSync(secretsPath(dir), 'utf8')) as Record<string, unknown>;
    assert.equal(stored.futureSecret, 'x');
    assert.equal(stored.jwtSecret, secrets.jwtSecret);
    assert.equal(statSync(secretsPath(dir)).mode & 0o777, 0o600);
  });

  it('are made private again when the file became readable by others', () => {
    loadOrCreateSecrets(dir);
    chmodSync(secretsPath(dir), 0o644);
    loadOrCreateSecrets(dir);
    assert.equal(statSync(secretsPath(dir)).mode & 0o777, 0o600);
  });

  it('stop start-up when the file is unreadable instead of replacing it (credentials would be lost)', () => {
    writeFileSync(secretsPath(dir), '{ broken', { mode: 0o600 });
    assert.throws(() => loadOrCreateSecrets(dir), (err: unknown) => err instanceof SecretsError && /secrets\.json is unreadable/.test(err.message));
    assert.equal(readFileSync(secretsPath(dir), 'utf8'), '{ broken');
  });

  it('reject a secret that is too short to be a secret', () => {
    writeFileSync(secretsPath(dir), JSON.stringify({ credentialSecret: 'short', jwtSecret: 'j'.repeat(40) }), { mode: 0o600 });
    assert.throws(() => loadOrCreateSecrets(dir), SecretsError);
  });

  it("give each site its own MQTT password and command key, generated once and kept", () => {
    const a = siteSecrets(dir, 'site-a');
    const b = siteSecrets(dir, 'site-b');
    assert.notEqual(a.mqttPassword, b.mqttPassword);
    assert.notEqual(a.commandKey, b.commandKey);
    assert.deepEqual(siteSecrets(dir, 'site-a'), a);
    const secrets = loadOrCreateSecrets(dir);
    assert.deepEqual(Object.keys(secrets.sites).sort(), ['site-a', 'site-b']);
    assert.ok(secrets.mqttCloudPassword.length >= 32);
    assert.equal(statSync(secretsPath(dir)).mode & 0o777, 0o600);
  });
});
