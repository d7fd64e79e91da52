// The notification routes over HTTP against the real API (cloud.db, a real SMTP server):
// my rules are checked and kept, a test e-mail arrives, the alarm list says what was delivered,
// webhooks are an ADMIN's, their secret is shown once and never logged, and changes are audited.
import { sql } from 'kysely';
import assert from 'node:assert/strict';
import { Mailbox } from '../notify/mailbox';
import { WebhookReceiver } from '../notify/webhook-receiver';
import { call, createUser, login, startHarness, type Harness, type Session } from './harness';

describe('API: notifications', function () {
  this.timeout(30_000);
  let h: Harness;
  const mailbox = new Mailbox();
  const receiver = new WebhookReceiver();
  let operator: Session;
  let admin: Session;
  let viewer: Session;

  before(async () => {
    await mailbox.start();
    await receiver.start();
    h = await startHarness({ notify: { smtpUrl: mailbox.url, smtpFrom: 'ems@api.example', escalateAfterS: 3600, retryS: 1, tickMs: 100 } });
    operator = await login(h, await createUser(h, 'op@api.example', 'OPERATOR'));
    viewer = await login(h, await createUser(h, 'viewer@api.example', 'VIEWER'));
    admin = await login(h, await createUser(h, 'admin@api.example', 'ADMIN'));
    await h.api.db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES ('site-n', 'default', 'N', ${Date.now()})`);
  });

  after(async () => {
    await h?.close();
    await mailbox.stop();
    await receiver.stop();
  });

  it("answers the defaults of my role until I save rules, and keeps what I save", async () => {
    const first = await call<{ rules: { email: boolean; severities: string[] }; saved: boolean; emailConfigured: boolean; sites: string[] }>(h, 'get', '/me/notifications', { token: operator.accessToken });
    assert.equal(first.status, 200);
    assert.deepEqual([first.body.saved, first.body.emailConfigured, first.body.rules.email, first.body.rules.severities], [false, true, true, ['critical']]);
    const v = await call<{ rules: { email: boolean } }>(h, 'get', '/me/notifications', { token: viewer.accessToken });
    assert.equal(v.body.rules.email, false, 'a VIEWER opts in');
    // Quiet hours that do not hold now (the ESTOP test below expects its mail).
    const hm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const rules = { email: true, sites: ['site-n'], severities: ['warning', 'critical'], codes: ['ESTOP'], quietHours: { start: hm(Date.now() + 2 * 3_600_000), end: hm(Date.now() + 3 * 3_600_000), timeZone: 'Etc/UTC' } };
    const put = await call(h, 'put', '/me/notifications', { token: operator.accessToken, body: rules });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const again = await call<{ rules: unknown; saved: boolean }>(h, 'get', '/me/notifications', { token: operator.accessToken });
    // Rules without `monthlyReport` ask for no monthly report.
    assert.deepEqual([again.body.saved, again.body.rules], [true, { ...rules, monthlyReport: false }]);
    const audit = (await h.api.db.one<{ outcome: string; details: string }>(sql`SELECT outcome, details FROM audit WHERE action = 'setMyNotifications' ORDER BY id DESC LIMIT 1`)) as { outcome: string; details: string };
    assert.equal(audit.outcome, 'success');
    assert.match(audit.details, /Etc\/UTC/);
  });

  it('refuses bad rules with the field named, and keeps the rules in force', async () => {
    const bad: [unknown, string][] = [
      [{ email: true, sites: 'all', severities: ['critical'], codes: 'all', quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Base' } }, 'timeZone'],
      [{ email: true, sites: 'all', severities: ['critical'], codes: 'all', quietHours: { start: '24:00', end: '07:00', timeZone: 'UTC' } }, 'start'],
      [{ email: true, sites: 'all', severities: ['loud'], codes: 'all', quietHours: null }, 'severities'],
      [{ email: true, sites: ['not-my-site'], severities: ['critical'], codes: 'all', quietHours: null }, 'sites'],
      [{ email: 'yes', sites: 'all', severities: ['critical'], codes: 'all', quietHours: null }, 'email'],
    ];
    const before = await call(h, 'get', '/me/notifications', { token: operator.accessToken });
    for (const [body, field] of bad) {
      const r = await call<{ error: string }>(h, 'put', '/me/notifications', { token: operator.accessToken, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error, 'invalid_request');
      assert.match(JSON.stringify(r.body), new RegExp(`"path":"body\\.([\\w.]*\\.)?${field}[".]`), `names ${field}: ${JSON.stringify(r.body)}`);
    }
    const after = await call(h, 'get', '/me/notifications', { token: operator.accessToken });
    assert.deepEqual(after.body.rules, before.body.rules);
  });

  it('sends me a test e-mail', async () => {
    const r = await call<{ id: number; to: string }>(h, 'post', '/me/notifications/test', { token: viewer.accessToken, body: {} });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const mails = await mailbox.until((m) => m.some((x) => x.to.includes('viewer@api.example')), 'the test e-mail');
    assert.match(mails.find((x) => x.to.includes('viewer@api.example'))?.subject ?? '', /test e-mail/);
  });

  it("lists each alarm's delivery state", async () => {
    h.hub.emit('alarm', { siteId: 'site-n', code: 'ESTOP', severity: 'critical', message: 'emergency stop by test', source: 'safety', ts: Date.now(), active: true });
    await mailbox.until((m) => m.some((x) => x.to.includes('op@api.example') && /ESTOP/.test(x.subject)), "the operator's ESTOP mail");
    const deadline = Date.now() + 5000;
    for (;;) {
      const list = await call<{ alarms: { code: string; delivery: { state: string; sent: number } }[] }>(h, 'get', '/alarms', { token: operator.accessToken, query: { siteId: 'site-n' } });
      const estop = list.body.alarms.find((x) => x.code === 'ESTOP');
      if (estop?.delivery.state === 'sent') break;
      assert.ok(Date.now() < deadline, JSON.stringify(estop));
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it("lets an ADMIN add a webhook, shows its secret once, signs the test delivery and keeps a log; others may not", async () => {
    const denied = await call(h, 'get', '/notifications/webhooks', { token: operator.accessToken });
    assert.equal(denied.status, 403);
    const created = await call<{ id: string; secret: string }>(h, 'post', '/notifications/webhooks', { token: admin.accessToken, body: { url: receiver.url, minSeverity: 'warning' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.secret, /^whsec_/);
    receiver.secret = created.body.secret;
    const listed = await call<{ webhooks: Record<string, unknown>[] }>(h, 'get', '/notifications/webhooks', { token: admin.accessToken });
    assert.equal(listed.body.webhooks.length, 1);
    assert.ok(!('secret' in (listed.body.webhooks[0] as object)), 'the secret is shown once');
    const stored = (await h.api.db.one<{ secret: string }>(sql`SELECT secret FROM notify_webhooks`)) as { secret: string };
    assert.ok(!stored.secret.includes(created.body.secret), 'kept sealed');
    const audit = JSON.stringify(await h.api.db.all(sql`SELECT * FROM audit WHERE action = 'createWebhook'`));
    assert.ok(!audit.includes(created.body.secret), 'not in the audit log');
    const test = await call<{ id: number }>(h, 'post', `/notifications/webhooks/${created.body.id}/test`, { token: admin.accessToken, body: {} });
    assert.equal(test.status, 201);
    const deadline = Date.now() + 5000;
    while (!receiver.hooks.some((x) => x.delivery === String(test.body.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(receiver.hooks.find((x) => x.delivery === String(test.body.id))?.signatureValid, true);
    const log = await call<{ deliveries: { kind: string; state: string }[] }>(h, 'get', `/notifications/webhooks/${created.body.id}/deliveries`, { token: admin.accessToken });
    assert.equal(log.body.deliveries[0]?.kind, 'test');
    const removed = await call(h, 'delete', `/notifications/webhooks/${created.body.id}`, { token: admin.accessToken });
    assert.equal(removed.status, 200);
    assert.equal((await call(h, 'post', `/notifications/webhooks/${created.body.id}/test`, { token: admin.accessToken, body: {} })).status, 404);
    const refused = await call(h, 'post', '/notifications/webhooks', { token: admin.accessToken, body: { url: 'ftp://x.example/hook' } });
    assert.equal(refused.status, 400);
  });
});
