// `lifo4 cloud --database-url postgres://...` on a real PostgreSQL: a user added with `lifo4 user
// add --database-url` signs in over HTTP to a cloud process that keeps its state in that database,
// and neither the cloud's output nor the CLI's shows the database password.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquirePostgres, releasePostgres, requirePostgres } from '../cloud-db/targets';
import type { RunningPostgres } from '../services/postgres';
import { freePorts, Lifo4Process, runCliAsync } from './lifo4-process';

const EMAIL = 'viewer@pg.example';
const PASSWORD = 'a password of the postgres test';

describe('lifo4 cloud on PostgreSQL (--database-url)', function () {
  this.timeout(180_000);
  let server: RunningPostgres | null = null;
  let url = '';
  let dir = '';
  let cloud: Lifo4Process | undefined;
  let port = 0;

  before(async function () {
    requirePostgres(this);
    server = await acquirePostgres();
    url = await server.createDatabase();
    dir = mkdtempSync(join(tmpdir(), 'lifo4-cloud-pg-'));
    const added = await runCliAsync(['user', 'add', '--data-dir', dir, '--database-url', url, '--email', EMAIL, '--role', 'VIEWER', '--password', PASSWORD]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /created viewer@pg\.example \(VIEWER/);
    const [p, mqtt] = await freePorts(2);
    port = p!;
    // The URL through the environment, as the README advises (a flag shows in the process list).
    cloud = new Lifo4Process(['cloud', '--data-dir', dir, '--port', String(port), '--mqtt-port', String(mqtt), '--log-level', 'error'], { LIFO4_DATABASE_URL: url });
    await cloud.waitFor(/cloud ready/, 120_000);
  });

  after(async function () {
    this.timeout(30_000);
    await cloud?.stop();
    if (server) await releasePostgres();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in the user the CLI added to the same database', async () => {
    const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    const body = (await login.json()) as { accessToken?: string; user?: { email: string; role: string } };
    assert.equal(login.status, 200, JSON.stringify(body));
    assert.deepEqual([body.user?.email, body.user?.role], [EMAIL, 'VIEWER']);
    const me = await fetch(`http://127.0.0.1:${port}/api/v1/auth/me`, { headers: { authorization: `Bearer ${body.accessToken}` } });
    assert.equal(me.status, 200);
  });

  it('keeps its users in PostgreSQL, not in a cloud.db of its data dir, and made no first-start admin beside the existing user', async () => {
    assert.equal(existsSync(join(dir, 'cloud.db')), false);
    const listed = await runCliAsync(['user', 'list', '--data-dir', dir, '--json'], { LIFO4_DATABASE_URL: url });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { email: string }[]).map((u) => u.email), [EMAIL]);
  });

  it('names the database without its password', () => {
    const password = decodeURIComponent(new URL(url).password);
    assert.match(cloud?.output ?? '', /cloud: database postgres:\/\/lifo4:\*\*\*@127\.0\.0\.1:\d+\/\w+/);
    assert.ok(!(cloud?.output ?? '').includes(password), 'the password is not in the output');
  });

  it('refuses a malformed database URL without repeating it', async () => {
    const bad = await runCliAsync(['user', 'list', '--data-dir', dir, '--database-url', 'mysql://root:hunter2@db/x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--database-url: expected postgres:\/\//);
    assert.ok(!bad.stderr.includes('hunter2'));
  });
});
