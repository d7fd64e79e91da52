// The strategy settings routes against the running API with the test harness's command sender in
// place of a site: each PUT numbers the site's next version and travels as a 'settings' command;
// only a document the site applied is stored and read back; a refusal answers 409 with the site's
// reason and leaves the stored document as it was; a selection answers with each site's outcome;
// who sent what is in the audit log.
import { sql } from 'kysely';
import { strict as assert } from 'node:assert';
import { DEFAULT_SETTINGS_FIELDS } from '../../../domain/site-settings/settings';
import { DEFAULT_ORG_ID } from '../../../runtime/cloud-db/cloud-db';
import { call, createUser, login, record, startHarness, type Harness, type Session } from './harness';

describe('API strategy settings', function () {
  this.timeout(60_000);
  let h: Harness;
  let manager: Session;
  let viewer: Session;
  let operator: Session;

  before(async () => {
    h = await startHarness();
    await h.users.createOrg('org-b', 'B');
    for (const siteId of ['site-a', 'site-c']) h.hub.emit('record', record(siteId, 1, Date.now() - 1000));
    await h.api.settled();
    await h.api.db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${'site-b'}, ${'org-b'}, ${'B'}, ${Date.now()})`);
    manager = await login(h, await createUser(h, 'manager@a.example', 'MANAGER', DEFAULT_ORG_ID));
    viewer = await login(h, await createUser(h, 'viewer@a.example', 'VIEWER', DEFAULT_ORG_ID));
    operator = await login(h, await createUser(h, 'operator@a.example', 'OPERATOR', DEFAULT_ORG_ID));
  });
  after(() => h?.close());
  afterEach(() => { h.answer = () => 'executed'; });

  it('has no document for a new site, and offers the shipped defaults', async () => {
    const r = await call(h, 'get', '/sites/site-a/settings', { token: viewer.accessToken });
    assert.equal(r.status, 200);
    assert.equal(r.body.settings, null);
    assert.equal(r.body.source, 'node-config');
    assert.deepEqual(r.body.defaults, DEFAULT_SETTINGS_FIELDS);
  });

  it('sends the next version as a signed settings command and stores what the site applied', async () => {
    const sent = h.sent.length;
    const r = await call(h, 'put', '/sites/site-a/settings', { token: manager.accessToken, body: { ...DEFAULT_SETTINGS_FIELDS, reserveSocPct: 35 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.outcome, 'applied');
    const c = h.sent[sent];
    assert.equal(c?.body.type, 'settings');
    assert.equal(c?.by, 'manager@a.example');
    assert.deepEqual(c?.body.type === 'settings' ? [c.body.settings.version, c.body.settings.reserveSocPct] : null, [1, 35]);
    const again = await call(h, 'put', '/sites/site-a/settings', { token: manager.accessToken, body: { ...DEFAULT_SETTINGS_FIELDS, reserveSocPct: 40 } });
    assert.equal((again.body.settings as { version: number }).version, 2);
    const got = await call(h, 'get', '/sites/site-a/settings', { token: viewer.accessToken });
    assert.equal(got.body.source, 'document');
    assert.equal(got.body.appliedBy, 'manager@a.example');
    assert.deepEqual([(got.body.settings as { version: number }).version, (got.body.settings as { reserveSocPct: number }).reserveSocPct], [2, 40]);
  });

  it("answers a refusal with 409 and the site's reason, and keeps the stored document", async () => {
    h.answer = () => 'rejected';
    const r = await call(h, 'put', '/sites/site-a/settings', { token: manager.accessToken, body: { ...DEFAULT_SETTINGS_FIELDS, reserveSocPct: 50 } });
    assert.equal(r.status, 409);
    assert.equal(r.body.error, 'settings_rejected');
    assert.match(r.body.message as string, /the site refused the settings: e-stop latched/);
    const got = await call(h, 'get', '/sites/site-a/settings', { token: viewer.accessToken });
    assert.equal((got.body.settings as { reserveSocPct: number }).reserveSocPct, 40);
  });

  it('refuses a body outside the schema and a role below MANAGER, sending nothing', async () => {
    const sent = h.sent.length;
    const bad = await call(h, 'put', '/sites/site-a/settings', { token: manager.accessToken, body: { ...DEFAULT_SETTINGS_FIELDS, socMaxPct: 120 } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message as string, /socMaxPct/);
    assert.equal((await call(h, 'put', '/sites/site-a/settings', { token: operator.accessToken, body: DEFAULT_SETTINGS_FIELDS })).status, 403);
    assert.equal((await call(h, 'put', '/sites/site-a/settings', { token: viewer.accessToken, body: DEFAULT_SETTINGS_FIELDS })).status, 403);
    assert.equal(h.sent.length, sent);
  });

  it("sends one document to a selection of sites and answers each site's outcome; another organisation's site gets nothing", async () => {
    h.answer = (c) => (c.siteId === 'site-c' ? 'rejected' : 'executed');
    const sent = h.sent.length;
    const r = await call(h, 'put', '/settings', { token: manager.accessToken, body: { siteIds: ['site-a', 'site-c', 'site-b'], settings: { ...DEFAULT_SETTINGS_FIELDS, arbitrageEnabled: false } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const results = r.body.results as { siteId: string; outcome: string; reason?: string; settings?: { version: number } }[];
    assert.deepEqual(results.map((x) => [x.siteId, x.outcome]), [['site-a', 'applied'], ['site-c', 'rejected'], ['site-b', 'error']]);
    assert.equal(results[0]?.settings?.version, 3);
    assert.equal(results[2]?.reason, 'no site site-b');
    assert.deepEqual(h.sent.slice(sent).map((c) => c.siteId).sort(), ['site-a', 'site-c']);
    assert.equal(r.body.applied, 1);
  });

  it('writes who sent what, and what came of it, to the audit log', async () => {
    const rows = await h.api.db.all<{ email: string; action: string; target: string; outcome: string; status: number; details: string }>(
      sql`SELECT email, action, target, outcome, status, details FROM audit WHERE action IN ('putSiteSettings', 'putFleetSettings') ORDER BY id`,
    );
    assert.deepEqual(rows.map((r) => [r.action, r.outcome, r.status]), [
      ['putSiteSettings', 'success', 200], ['putSiteSettings', 'success', 200], ['putSiteSettings', 'failure', 409], ['putSiteSettings', 'denied', 403], ['putSiteSettings', 'denied', 403], ['putFleetSettings', 'success', 200],
    ]);
    assert.ok(rows.every((r) => r.email));
    assert.equal((JSON.parse(rows[1]!.details) as { settings: { reserveSocPct: number } }).settings.reserveSocPct, 40);
    assert.match(rows[2]!.details, /e-stop latched/);
  });
});
