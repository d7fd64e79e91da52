// The cloud's identity and fleet stores on both database back ends: what the API relies on, and
// the races that a synchronous SQLite could not have and a shared PostgreSQL can (two requests or
// two cloud processes doing the same at once) decided by the database.
import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { AuditLog } from '../../../runtime/api/audit';
import { ApiError } from '../../../runtime/api/errors';
import { PlanStore } from '../../../runtime/api/plans';
import { SiteStore } from '../../../runtime/api/sites';
import { TokenService } from '../../../runtime/api/tokens';
import { UserStore } from '../../../runtime/api/users';
import { DEFAULT_ORG_ID, type CloudDb } from '../../../runtime/cloud-db/cloud-db';
import { forEachDb } from '../../cloud-db/targets';
import { plan } from './fleet-fixture';

const PASSWORD = 'correct horse battery staple';

const status = (code: number) => (err: unknown) => err instanceof ApiError && err.status === code;

forEachDb('identity and fleet stores', (open) => {
  let db: CloudDb;
  let users: UserStore;
  let sites: SiteStore;
  beforeEach(async () => {
    db = await open();
    users = new UserStore(db, 4);
    sites = new SiteStore(db);
  });
  afterEach(() => db.close());

  it('finds a user by e-mail in any case, and refuses the same address in another case', async () => {
    const u = await users.create({ email: 'Ada@Example.com', password: PASSWORD, role: 'VIEWER' });
    assert.equal((await users.byEmail('ada@example.COM'))?.id, u.id);
    await assert.rejects(users.create({ email: 'ADA@example.com', password: PASSWORD, role: 'VIEWER' }), status(409));
    assert.equal(await users.count(), 1);
  });

  it('creates one user when two requests create the same address at once; the other gets a conflict', async () => {
    const results = await Promise.allSettled([
      users.create({ email: 'race@example.com', password: PASSWORD, role: 'VIEWER' }),
      users.create({ email: 'race@example.com', password: PASSWORD, role: 'OPERATOR' }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const refused = results.find((r) => r.status === 'rejected');
    assert.ok(refused && status(409)(refused.reason), String(refused && refused.reason));
    assert.equal(await users.count(), 1);
  });

  it('creates an organisation once: a second with the same id is a conflict', async () => {
    const results = await Promise.allSettled([users.createOrg('org-r', 'R'), users.createOrg('org-r', 'R again')]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.deepEqual((await users.listOrgs()).map((o) => [o.id, o.name]), [[DEFAULT_ORG_ID, 'Default organisation'], ['org-r', 'R']]);
  });

  it('assigns sites of the user\'s organisation only, and a role change ends every session', async () => {
    await sites.create({ id: 'site-a', orgId: DEFAULT_ORG_ID });
    await users.createOrg('org-b', 'B');
    await sites.create({ id: 'site-b', orgId: 'org-b' });
    await assert.rejects(users.create({ email: 'u@a.example', password: PASSWORD, role: 'USER', siteIds: ['site-b'] }), status(404));
    const u = await users.create({ email: 'u@a.example', password: PASSWORD, role: 'USER', siteIds: ['site-a'] });
    assert.deepEqual((await users.view(u)).siteIds, ['site-a']);
    assert.deepEqual((await sites.visible({ userId: u.id, role: 'USER', orgId: DEFAULT_ORG_ID })).map((s) => s.id), ['site-a']);
    assert.equal(await sites.canSee({ userId: u.id, role: 'USER', orgId: DEFAULT_ORG_ID }, 'site-b'), false);
    const tokens = new TokenService(db, users, 'a test secret of enough length for HS256');
    const refresh = await tokens.issueRefresh(u.id);
    await users.setRole(u.id, 'VIEWER');
    const after = (await users.byId(u.id))!;
    assert.equal(after.token_version, u.token_version + 1);
    await assert.rejects(tokens.rotate(refresh), status(401));
  });

  it('rotates a refresh token once: the same token twice at once gives one new token and revokes the family', async () => {
    const u = await users.create({ email: 'r@a.example', password: PASSWORD, role: 'VIEWER' });
    const tokens = new TokenService(db, users, 'a test secret of enough length for HS256');
    const first = await tokens.issueRefresh(u.id);
    const [a, b] = await Promise.all([tokens.rotate(first), tokens.rotate(first)]);
    assert.deepEqual([a.reused, b.reused].sort(), [false, true]);
    const next = a.reused ? (b as { refreshToken: string }).refreshToken : a.refreshToken;
    await assert.rejects(tokens.rotate(next), status(401), 'the reuse revoked the whole family, the new token too');
  });

  it('registers a site heard of once, and never moves last_seen backwards', async () => {
    assert.equal(await sites.ensure('site-x'), true);
    assert.equal(await sites.ensure('site-x'), false);
    assert.equal(await new SiteStore(db).ensure('site-x'), false, 'another process finds it registered');
    await sites.seen('site-x', 1_000);
    await sites.seen('site-x', 2_000);
    assert.equal((await sites.get('site-x'))?.last_seen, 1_000, 'written at most every 30 s');
    await sites.flush();
    assert.equal((await sites.get('site-x'))?.last_seen, 2_000);
    const other = new SiteStore(db);
    await other.seen('site-x', 1_500);
    assert.equal((await sites.get('site-x'))?.last_seen, 2_000, 'an older time from another process does not win');
    await sites.setState('site-x', 'offline', 5_000);
    await sites.setState('site-x', 'online', 4_000);
    assert.deepEqual(await sites.countByState(), { online: 0, offline: 1, unknown: 0 });
  });

  it('refuses a site id that exists, also when two requests create it at once', async () => {
    const results = await Promise.allSettled([sites.create({ id: 'site-r', orgId: DEFAULT_ORG_ID }), sites.create({ id: 'site-r', orgId: DEFAULT_ORG_ID, name: 'R' })]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.deepEqual(await sites.ids(), ['site-r']);
  });

  it('keeps the latest plan and every price step, the newest price of a step winning', async () => {
    const plans = new PlanStore(db);
    const t0 = Date.UTC(2026, 11, 1);
    await plans.save('site-p', plan('site-p', t0, [40, 60]));
    await plans.save('site-p', { ...plan('site-p', t0 + 3_600_000, [70, 80]), ts: t0 + 3_600_000 });
    await plans.save('site-p', { ...plan('site-p', t0, [10]), ts: t0 - 1 });
    assert.equal((await plans.latest('site-p'))?.ts, t0 + 3_600_000, 'an older plan does not replace a newer one');
    assert.deepEqual((await plans.prices('site-p', t0, t0 + 3 * 3_600_000)).map((p) => p.eurPerMWh), [10, 70, 80]);
  });

  it('filters the audit log by time, user, action and organisation, newest first', async () => {
    const audit = new AuditLog(db);
    await audit.write({ userId: 'u1', orgId: 'o1', action: 'login', outcome: 'success', details: { a: 1 } });
    await audit.write({ userId: 'u2', orgId: 'o2', action: 'login', outcome: 'failure' });
    await audit.write({ userId: 'u1', orgId: 'o1', action: 'createUser', outcome: 'success', status: 201 });
    assert.deepEqual((await audit.query({ orgId: null, limit: 10 })).map((e) => e.action), ['createUser', 'login', 'login']);
    assert.deepEqual((await audit.query({ orgId: 'o1', action: 'login', limit: 10 })).map((e) => [e.userId, e.details]), [['u1', { a: 1 }]]);
    assert.equal((await audit.query({ orgId: null, userId: 'u2', limit: 10 }))[0]?.outcome, 'failure');
    assert.equal((await db.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM audit`))?.n, 3);
  });
});
