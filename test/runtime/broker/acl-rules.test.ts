// The ACL and password formats as plain functions, and the shipped files generated from them.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../io/package-root';
import { mayPublish, maySubscribe, principalOf } from '../../../runtime/broker/acl';
import { hashSecret, mosquittoHash, parsePasswordFile, verifyPassword } from '../../../runtime/broker/credentials';
import { MqttFrameInspector } from '../../../runtime/broker/frame-limit';
import { mosquittoAclFile, mosquittoPasswordFile } from '../../../runtime/broker/mosquitto-files';
import { MOSQUITTO_PASSWD, mosquittoPasswdAvailable } from '../../services/mosquitto';
import { requireService } from '../../services/service';

const site = { kind: 'site', siteId: 'site-a' } as const;
const cloud = { kind: 'cloud' } as const;

describe('broker ACL rules', function () {
  it('knows sites by their site id and the cloud by its account; anything else is nobody', function () {
    assert.deepEqual(principalOf('site-a'), site);
    assert.deepEqual(principalOf('cloud'), cloud);
    assert.equal(principalOf(undefined), null);
    assert.equal(principalOf('a/b'), null);
    assert.equal(principalOf('#'), null);
    assert.equal(principalOf(''), null);
  });

  it('lets a site publish only its telemetry, state, alarm and cmd/ack', function () {
    for (const t of ['telemetry', 'state', 'alarm', 'cmd/ack']) assert.ok(mayPublish(site, `lifo4/site-a/${t}`), t);
    for (const t of ['lifo4/site-b/telemetry', 'lifo4/site-a/cmd', 'lifo4/site-a/telemetry/ack', 'lifo4/site-a/ota', 'lifo4/site-a', 'lifo4/site-a/telemetry/x', 'other/site-a/telemetry']) {
      assert.ok(!mayPublish(site, t), t);
    }
  });

  it('lets a site subscribe only to its cmd, telemetry/ack and ota, by exact name', function () {
    for (const t of ['cmd', 'telemetry/ack', 'ota']) assert.ok(maySubscribe(site, `lifo4/site-a/${t}`), t);
    for (const f of ['lifo4/#', '#', 'lifo4/+/cmd', 'lifo4/site-a/#', 'lifo4/site-a/+', 'lifo4/site-b/cmd', '$share/g/lifo4/site-a/cmd', '$SYS/#']) {
      assert.ok(!maySubscribe(site, f), f);
    }
  });

  it('lets the cloud publish and subscribe under lifo4/, shared subscriptions included, and nowhere else', function () {
    assert.ok(mayPublish(cloud, 'lifo4/site-a/cmd'));
    assert.ok(!mayPublish(cloud, 'lifo4/+/cmd'));
    assert.ok(!mayPublish(cloud, 'other/topic'));
    for (const f of ['lifo4/#', 'lifo4/+/telemetry', '$share/ingest/lifo4/+/telemetry']) assert.ok(maySubscribe(cloud, f), f);
    for (const f of ['#', '$SYS/#', '$share/ingest/#', '$share/a/b/other/x']) assert.ok(!maySubscribe(cloud, f), f);
  });

  it('ships deploy/mosquitto/acl exactly as the generator writes it', function () {
    assert.equal(readFileSync(join(packageRoot, 'deploy', 'mosquitto', 'acl'), 'utf8'), mosquittoAclFile());
  });
});

describe('broker passwords', function () {
  it('checks generated secrets (sha256) and Mosquitto $7$ hashes, and nothing else', function () {
    assert.ok(verifyPassword('s3cret', hashSecret('s3cret')));
    assert.ok(!verifyPassword('s3cret!', hashSecret('s3cret')));
    assert.ok(verifyPassword('s3cret', mosquittoHash('s3cret')));
    assert.ok(!verifyPassword('S3cret', mosquittoHash('s3cret')));
    assert.ok(!verifyPassword('s3cret', 's3cret'), 'a plain-text "hash" never matches');
  });

  it('writes password files that parse back, and refuses usernames that are neither a site id nor cloud', function () {
    const text = mosquittoPasswordFile([{ username: 'cloud', password: 'c' }, { username: 'site-a', password: 'a' }]);
    const parsed = parsePasswordFile(`# comment\n${text}`);
    assert.deepEqual(parsed.map((c) => c.username), ['cloud', 'site-a']);
    assert.ok(verifyPassword('a', parsed[1]!.passwordHash));
    assert.throws(() => mosquittoPasswordFile([{ username: 'a/b', password: 'x' }]), /site id/);
    assert.throws(() => mosquittoPasswordFile([{ username: 'site-a', password: 'x' }, { username: 'site-a', password: 'y' }]), /twice/);
  });

  it('verifies a password file written by mosquitto_passwd', function () {
    requireService(this, 'mosquitto_passwd', mosquittoPasswdAvailable(), 'apt-get install mosquitto');
    const dir = mkdtempSync(join(tmpdir(), 'lifo4-passwd-'));
    try {
      const file = join(dir, 'passwd');
      execFileSync(MOSQUITTO_PASSWD, ['-b', '-c', file, 'site-a', 'from-mosquitto']);
      const [entry] = parsePasswordFile(readFileSync(file, 'utf8'));
      assert.equal(entry?.username, 'site-a');
      assert.ok(verifyPassword('from-mosquitto', entry.passwordHash));
      assert.ok(!verifyPassword('other', entry.passwordHash));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MQTT frame inspector', function () {
  const publish = (bodyBytes: number): Buffer => {
    const len: number[] = [];
    let n = bodyBytes;
    do {
      let byte = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      len.push(byte);
    } while (n > 0);
    return Buffer.concat([Buffer.from([0x32, ...len]), Buffer.alloc(bodyBytes)]);
  };

  it('follows packets split anywhere across chunks and refuses the first one over the limit', function () {
    const inspector = new MqttFrameInspector(1000);
    const stream = Buffer.concat([publish(0), publish(127), publish(128), publish(1000)]);
    for (let i = 0; i < stream.length; i += 7) assert.ok(inspector.feed(stream.subarray(i, i + 7)));
    assert.equal(inspector.largest, 1000);
    assert.ok(!inspector.feed(publish(1001).subarray(0, 3)), 'refused from its header alone');
  });

  it('refuses a remaining length of more than four bytes', function () {
    assert.ok(!new MqttFrameInspector(Number.MAX_SAFE_INTEGER).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])));
  });
});
