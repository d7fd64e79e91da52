// Leader leases (runtime/cloud-db/lease.ts) on a real PostgreSQL: of two processes asking for one
// lease, exactly one holds it; when the holder's session ends (the server ends it, or the holder
// process is killed with SIGKILL) the other takes the lease within a few seconds; on SQLite the
// single process always holds it.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { openCloudDb, type CloudDb } from '../../runtime/cloud-db/cloud-db';
import { LEASE_NAMES, PgLease, leaseKey, openLease, type Lease } from '../../runtime/cloud-db/lease';
import { acquirePostgres, releasePostgres, requirePostgres } from './targets';
import { sleep } from '../services/service';

const RETRY_MS = 100;

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** The server process id of the session holding lease `name`'s lock. */
async function holderPid(pool: pg.Pool, name: string): Promise<number | undefined> {
  const key = BigInt(leaseKey(name));
  const classid = Number((key >> 32n) & 0xffffffffn);
  const objid = Number(key & 0xffffffffn);
  const r = await pool.query<{ pid: number }>(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1",
    [classid, objid],
  );
  return r.rows[0]?.pid;
}

describe('leader leases', () => {
  it('are held, always, by the single process of a SQLite store', async () => {
    const db = await openCloudDb(':memory:');
    const leases = LEASE_NAMES.map((n) => openLease(db, n));
    await Promise.all(leases.map((l) => l.settled));
    assert.deepEqual(leases.map((l) => l.isHolder()), LEASE_NAMES.map(() => true));
    await Promise.all(leases.map((l) => l.close()));
    await db.close();
  });

  it('hash each name to its own advisory-lock key', () => {
    assert.equal(new Set(LEASE_NAMES.map(leaseKey)).size, LEASE_NAMES.length);
    for (const n of LEASE_NAMES) assert.match(leaseKey(n), /^-?\d+$/);
  });

  describe('on PostgreSQL', function () {
    this.timeout(30_000);
    let url = '';
    let db: CloudDb | null = null;
    let admin: pg.Pool | null = null;
    const open: Lease[] = [];
    const lease = (name: (typeof LEASE_NAMES)[number] = 'alarms'): Lease => {
      const l = new PgLease(name, { connectionString: url }, { retryMs: RETRY_MS });
      open.push(l);
      return l;
    };

    before(async function () {
      this.timeout(90_000);
      requirePostgres(this);
      url = await (await acquirePostgres()).createDatabase();
      db = await openCloudDb(url);
      admin = new pg.Pool({ connectionString: url, max: 2 });
      // The server's shutdown at the end ends idle connections: not an error of the test.
      admin.on('error', () => undefined);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((l) => l.close()));
    });
    after(async () => {
      await admin?.end();
      await db?.close();
      if (db) await releasePostgres();
    });

    it('goes to exactly one of two processes, and each name is a lease of its own', async () => {
      const a = lease();
      const b = lease();
      const other = lease('retrain');
      await Promise.all([a.settled, b.settled, other.settled]);
      await sleep(RETRY_MS * 3);
      assert.equal(Number(a.isHolder()) + Number(b.isHolder()), 1);
      assert.equal(other.isHolder(), true);
    });

    it('opens from the cloud database as an advisory lock', async () => {
      if (!db) throw new Error('no database');
      const l = openLease(db, 'ota-rollout', { retryMs: RETRY_MS });
      open.push(l);
      await l.settled;
      assert.equal(l.isHolder(), true);
      assert.ok(await holderPid(admin as pg.Pool, 'ota-rollout'), 'no session holds the advisory lock');
    });

    it('moves to the other process when the server ends the holder\'s session, and the old holder says it lost it', async () => {
      const a = lease();
      await a.settled;
      const b = lease();
      await b.settled;
      assert.equal(a.isHolder(), true);
      assert.equal(b.isHolder(), false);
      const changes: boolean[] = [];
      a.onChange((held) => changes.push(held));
      const pid = await holderPid(admin as pg.Pool, 'alarms');
      assert.ok(pid);
      await (admin as pg.Pool).query('SELECT pg_terminate_backend($1)', [pid]);
      await until('the other process holds the lease', () => b.isHolder());
      await until('the old holder lets go', () => !a.isHolder());
      assert.deepEqual(changes.slice(0, 1), [false]);
      // The old holder keeps trying; it does not take the lease back while the new holder lives.
      await sleep(RETRY_MS * 5);
      assert.equal(a.isHolder(), false);
      assert.equal(b.isHolder(), true);
    });

    it('moves to the other process when the holder process is killed with SIGKILL', async () => {
      const script = `
        const { PgLease } = require(${JSON.stringify(join(__dirname, '../../runtime/cloud-db/lease.js'))});
        const l = new PgLease('alarms', { connectionString: process.env.URL }, { retryMs: 100 });
        l.onChange((held) => { if (held) console.log('held'); });
        setInterval(() => undefined, 1000);`;
      const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, URL: url }, stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => (d.toString().includes('held') ? resolve() : undefined));
          child.once('exit', (code) => reject(new Error(`the holder process exited (${code}) before it held the lease`)));
        });
        const b = lease();
        await b.settled;
        assert.equal(b.isHolder(), false, 'the lease was held twice');
        const t0 = Date.now();
        child.kill('SIGKILL');
        await until('the surviving process holds the lease', () => b.isHolder(), 10_000);
        console.log(`      (lease moved ${Date.now() - t0} ms after the kill)`);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });

    it('is given up by close(), and the other process takes it', async () => {
      const a = lease();
      await a.settled;
      const b = lease();
      await b.settled;
      assert.equal(b.isHolder(), false);
      await a.close();
      assert.equal(a.isHolder(), false);
      await until('the other process holds the lease', () => b.isHolder());
    });
  });
});
