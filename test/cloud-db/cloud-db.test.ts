import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { DEFAULT_ORG_ID, isPgCloudDb, maskDatabaseUrl, openCloudDb, rowCounts, type CloudDb } from '../../runtime/cloud-db/cloud-db';
import { MIGRATIONS } from '../../runtime/cloud-db/migrations';
import { forEachDb, usePostgres } from './targets';

forEachDb('the cloud database layer', (open) => {
  let db: CloudDb;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  const addSite = (d: CloudDb, id: string): Promise<number> =>
    d.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${id}, ${DEFAULT_ORG_ID}, ${id}, ${Date.now()})`);

  it('creates the schema with the default organisation', async () => {
    const org = await db.one<{ id: string; name: string }>(sql`SELECT id, name FROM orgs`);
    assert.deepEqual(org, { id: DEFAULT_ORG_ID, name: 'Default organisation' });
  });

  it('one() gives the first row or undefined, all() every row, run() the rows it changed', async () => {
    assert.equal(await addSite(db, 'a'), 1);
    await addSite(db, 'b');
    assert.equal((await db.one<{ id: string }>(sql`SELECT id FROM sites WHERE id = ${'b'}`))?.id, 'b');
    assert.equal(await db.one(sql`SELECT id FROM sites WHERE id = ${'nope'}`), undefined);
    assert.deepEqual((await db.all<{ id: string }>(sql`SELECT id FROM sites ORDER BY id`)).map((r) => r.id), ['a', 'b']);
    assert.equal(await db.run(sql`UPDATE sites SET state = ${'online'}`), 2);
    assert.equal(await db.run(sql`UPDATE sites SET state = ${'online'} WHERE id = ${'nope'}`), 0);
  });

  it('counts, sums and big millisecond times are JS numbers', async () => {
    await addSite(db, 'a');
    await addSite(db, 'b');
    const far = Date.UTC(2100, 0, 1);
    await db.run(sql`UPDATE sites SET last_seen = ${far}`);
    const row = await db.one<{ n: number; total: number; latest: number }>(sql`SELECT COUNT(*) AS n, SUM(last_seen) AS total, MAX(last_seen) AS latest FROM sites`);
    assert.deepEqual(row, { n: 2, total: 2 * far, latest: far });
    assert.deepEqual(await rowCounts(db).then((c) => [c['sites'], c['orgs'], c['users']]), [2, 1, 0]);
  });

  it('RETURNING gives a generated id', async () => {
    const first = await db.one<{ id: number }>(sql`INSERT INTO audit (ts, action, outcome) VALUES (${1}, ${'x'}, ${'ok'}) RETURNING id`);
    const second = await db.one<{ id: number }>(sql`INSERT INTO audit (ts, action, outcome) VALUES (${2}, ${'y'}, ${'ok'}) RETURNING id`);
    assert.equal(typeof first?.id, 'number');
    assert.equal(second?.id, (first?.id ?? 0) + 1);
  });

  it('ON CONFLICT DO NOTHING and DO UPDATE behave alike', async () => {
    await addSite(db, 'a');
    assert.equal(await db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${'a'}, ${DEFAULT_ORG_ID}, ${'again'}, ${1}) ON CONFLICT (id) DO NOTHING`), 0);
    await db.run(sql`INSERT INTO plans (site_id, ts, plan) VALUES (${'a'}, ${1}, ${'p1'}) ON CONFLICT (site_id) DO UPDATE SET ts = excluded.ts, plan = excluded.plan`);
    await db.run(sql`INSERT INTO plans (site_id, ts, plan) VALUES (${'a'}, ${2}, ${'p2'}) ON CONFLICT (site_id) DO UPDATE SET ts = excluded.ts, plan = excluded.plan`);
    assert.deepEqual(await db.all(sql`SELECT site_id, ts, plan FROM plans`), [{ site_id: 'a', ts: 2, plan: 'p2' }]);
  });

  it('e-mail addresses are unique regardless of case', async () => {
    const add = (id: string, email: string): Promise<number> =>
      db.run(sql`INSERT INTO users (id, email, password_hash, role, org_id, created_at, updated_at) VALUES (${id}, ${email}, ${'h'}, ${'viewer'}, ${DEFAULT_ORG_ID}, ${1}, ${1})`);
    await add('u1', 'Ada@Example.com');
    await assert.rejects(add('u2', 'ada@example.COM'));
    assert.equal((await db.one<{ id: string }>(sql`SELECT id FROM users WHERE lower(email) = lower(${'ADA@example.com'})`))?.id, 'u1');
  });

  it('tx() commits all of fn, or on an error nothing, and passes the error on', async () => {
    await db.tx(async (t) => {
      await addSite(t, 'a');
      await addSite(t, 'b');
    });
    await assert.rejects(
      db.tx(async (t) => {
        await addSite(t, 'c');
        await t.run(sql`UPDATE sites SET name = ${'renamed'} WHERE id = ${'a'}`);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual((await db.all<{ id: string; name: string }>(sql`SELECT id, name FROM sites ORDER BY id`)).map((r) => `${r.id}:${r.name}`), ['a:a', 'b:b']);
  });

  it('a tx() inside a tx() joins it: an error in the outer one undoes the inner one too', async () => {
    await assert.rejects(
      db.tx(async (t) => {
        const inner = await t.tx(async (u) => {
          await addSite(u, 'inner');
          return 'done';
        });
        assert.equal(inner, 'done');
        await addSite(t, 'inner'); // primary key conflict
      }),
    );
    assert.equal((await db.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM sites`))?.n, 0);
  });

  it('a failed statement rejects with the engine error and leaves the database usable', async () => {
    await assert.rejects(db.run(sql`INSERT INTO sites (id) VALUES (${'x'})`));
    assert.equal(await addSite(db, 'x'), 1);
  });
});

describe('the SQLite cloud database file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-clouddb-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is owner-only, in WAL mode, and migrated once however often it is opened', async () => {
    const path = join(dir, 'sub', 'cloud.db');
    const a = await openCloudDb(path);
    const b = await openCloudDb(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const mode = await a.one<{ journal_mode: string }>(sql`PRAGMA journal_mode`);
    assert.equal(mode?.journal_mode, 'wal');
    assert.equal((await a.one<{ user_version: number }>(sql`PRAGMA user_version`))?.user_version, MIGRATIONS.length);
    assert.equal((await b.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM orgs`))?.n, 1);
    assert.equal(a.dialect, 'sqlite');
    assert.equal(isPgCloudDb(a), false);
    await a.close();
    await b.close();
  });
});

describe('the PostgreSQL cloud database', () => {
  const server = usePostgres();

  it('migrates once when two processes open a new database at the same time', async () => {
    const url = await server().createDatabase();
    const [a, b, c] = await Promise.all([openCloudDb(url), openCloudDb(url), openCloudDb(url)]);
    for (const db of [a, b, c]) {
      assert.equal(db.dialect, 'postgres');
      assert.equal(isPgCloudDb(db), true);
    }
    assert.deepEqual(await a.all(sql`SELECT version FROM schema_version`), [{ version: MIGRATIONS.length }]);
    assert.equal((await b.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM orgs`))?.n, 1);
    await Promise.all([a.close(), b.close(), c.close()]);
    const again = await openCloudDb(url);
    assert.deepEqual(await again.all(sql`SELECT version FROM schema_version`), [{ version: MIGRATIONS.length }]);
    await again.close();
  });

  it('refuses a database migrated by a newer build, without the password in the message', async () => {
    const url = await server().createDatabase();
    const db = await openCloudDb(url);
    await db.run(sql`UPDATE schema_version SET version = ${MIGRATIONS.length + 1}`);
    await db.close();
    const password = new URL(url).password;
    await assert.rejects(openCloudDb(url), (err: Error) => /newer than this build/.test(err.message) && !err.message.includes(password));
  });

  it('masks the password of a database URL for logs', () => {
    assert.equal(maskDatabaseUrl('postgres://ems:s3cret@db.example:5432/lifo4'), 'postgres://ems:***@db.example:5432/lifo4');
    assert.equal(maskDatabaseUrl('/var/lib/lifo4/cloud.db'), '/var/lib/lifo4/cloud.db');
  });
});
