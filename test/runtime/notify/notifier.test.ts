// The cloud's notifier with its real parts: the cloud database (SQLite and PostgreSQL), the alarm store, a real SMTP server
// (smtp-server on 127.0.0.1) and a real HTTP webhook receiver that checks the HMAC signature.
// Each test has an organisation of its own, so its users see only its sites.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Role } from '../../../domain/roles';
import { EPISODE_WINDOW_MS } from '../../../domain/alarm-episodes';
import { AlarmStore } from '../../../runtime/api/alarms';
import { SiteStore } from '../../../runtime/api/sites';
import { SecretBox } from '../../../runtime/api/totp';
import { UserStore } from '../../../runtime/api/users';
import type { CloudDb } from '../../../runtime/cloud-db/cloud-db';
import { smtpSender } from '../../../runtime/notify/mailer';
import { Notifier } from '../../../runtime/notify/notifier';
import { WebhookStore } from '../../../runtime/notify/webhooks';
import { forEachDb } from '../../cloud-db/targets';
import { Mailbox } from './mailbox';
import { WebhookReceiver } from './webhook-receiver';

const ESCALATE_MS = 600;
const GROUP_MS = 300;

forEachDb('notifier', (open) => describe('e-mail and webhooks from the durable outbox', function () {
  this.timeout(30_000);
  let db: CloudDb;
  let alarms: AlarmStore;
  let sites: SiteStore;
  let users: UserStore;
  let webhooks: WebhookStore;
  let notifier: Notifier;
  const mailbox = new Mailbox();
  const receiver = new WebhookReceiver();
  let orgs = 0;
  const log: string[] = [];

  const start = () => new Notifier({
    db, alarms, sites, webhooks, mail: smtpSender(mailbox.url, 'EMS <ems@test.example>'), escalateAfterMs: ESCALATE_MS,
    backoff: { baseMs: 200, maxMs: 800 }, tickMs: 50, groupMs: GROUP_MS, log: (l) => log.push(l),
  });

  /** A fresh organisation with a site and one user per role given; returns their addresses by role. */
  async function org(roles: Role[]): Promise<{ site: string; org: string; email: Record<string, string>; ids: Record<string, string> }> {
    const id = `org${++orgs}`;
    await users.createOrg(id, id);
    const site = `${id}-site`;
    await sites.create({ id: site, orgId: id });
    const email: Record<string, string> = {};
    const ids: Record<string, string> = {};
    for (const role of roles) {
      const u = await users.create({ email: `${role.toLowerCase()}@${id}.example`, password: 'a-long-test-password-1', role, orgId: id });
      email[role] = u.email;
      ids[role] = u.id;
    }
    return { site, org: id, email, ids };
  }

  const raise = (siteId: string, code = 'OVER_TEMPERATURE', ts = Date.now(), severity: 'critical' | 'warning' = 'critical') =>
    alarms.raise({ siteId, code, source: 'safety', severity, message: 'battery at 60.0 degC', ts });

  before(async () => {
    db = await open();
    alarms = new AlarmStore(db);
    sites = new SiteStore(db);
    users = new UserStore(db, 4);
    webhooks = new WebhookStore(db, new SecretBox(randomBytes(32).toString('hex')));
    await mailbox.start();
    await receiver.start();
    notifier = start();
  });

  after(async () => {
    await notifier?.close();
    await mailbox.stop();
    await receiver.stop();
    await db?.close();
  });

  it("mails a site's critical alarm to every role that can act on it and posts it, signed, to the organisation's webhook", async () => {
    const o = await org(['OPERATOR', 'MANAGER', 'VIEWER']);
    const hook = await webhooks.create({ orgId: o.org, url: receiver.url, minSeverity: 'critical', createdBy: 'test' });
    receiver.secret = hook.secret;
    const a = await raise(o.site);
    assert.ok(a);
    await mailbox.until((m) => m.some((x) => x.to.includes(o.email.OPERATOR as string)) && m.some((x) => x.to.includes(o.email.MANAGER as string)), 'the operator and manager mails');
    const mail = mailbox.to(o.email.OPERATOR as string)[0];
    assert.match(mail?.subject ?? '', new RegExp(`CRITICAL OVER_TEMPERATURE at ${o.site}`));
    assert.match(mail?.raw ?? '', /ventilation/, 'the mail carries the remedy');
    assert.equal(mailbox.to(o.email.VIEWER as string).length, 0, 'a VIEWER is not notified by default');
    const deadline = Date.now() + 5000;
    while (!receiver.hooks.some((h) => h.body.alarm?.id === a.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const h = receiver.hooks.find((x) => x.body.alarm?.id === a.id);
    assert.ok(h, 'the webhook received the alarm');
    assert.equal(h.signatureValid, true);
    assert.equal(h.event, 'alarm.raised');
    await alarms.ack(a.id, 'test', null);
    // Two mails and the webhook (and an escalation, when the acknowledgement came late), all delivered.
    while ((await notifier.deliveryOf([a.id])).get(a.id)?.state !== 'sent' && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
    const d = (await notifier.deliveryOf([a.id])).get(a.id);
    assert.equal(d?.state, 'sent', JSON.stringify(d));
    assert.ok((d?.sent ?? 0) >= 3, JSON.stringify(d));
  });

  it('sends one message per episode however the alarm flaps inside the window, and a new one after it (property)', async () => {
    // Counted on the webhook (fast): the operator opted out of e-mail.
    const o = await org(['OPERATOR']);
    await notifier.setRules(o.ids.OPERATOR as string, { email: false, sites: 'all', severities: ['critical'], codes: 'all', quietHours: null, monthlyReport: false });
    await webhooks.create({ orgId: o.org, url: receiver.url, minSeverity: 'info', createdBy: 'test' });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: EPISODE_WINDOW_MS }), { minLength: 1, maxLength: 8 }), async (gaps) => {
        const site = `${o.site}-${Math.random().toString(36).slice(2, 8)}`;
        await sites.create({ id: site, orgId: o.org });
        let t = Date.now() - 10 * EPISODE_WINDOW_MS * 10;
        const ids: number[] = [];
        for (const gap of gaps) {
          // Raise, a knock-on alarm of the same episode, then clear; the next raise comes `gap` after.
          ids.push(((await raise(site, 'OVER_TEMPERATURE', t)) as { id: number }).id);
          ids.push(((await raise(site, 'BMS_ALARM', t + 100)) as { id: number }).id);
          await alarms.clear(site, 'BMS_ALARM', 'safety', t + 200);
          await alarms.clear(site, 'OVER_TEMPERATURE', 'safety', t + 300);
          t += 300 + gap;
        }
        await notifier.settled();
        const queued = [...(await notifier.outbox.forAlarms(ids)).values()].flat().filter((r) => r.kind === 'alarm');
        assert.equal(queued.length, 1, `one message for ${gaps.length} flaps, got ${queued.length}`);
        // A raise after the window is a new episode: a new message.
        const later = (await raise(site, 'OVER_TEMPERATURE', t + EPISODE_WINDOW_MS + 1)) as { id: number };
        await notifier.settled();
        assert.equal((await notifier.outbox.forAlarms([later.id])).get(later.id)?.length, 1);
        await alarms.clear(site, 'OVER_TEMPERATURE', 'safety', t + EPISODE_WINDOW_MS + 2);
      }),
      { numRuns: 25 },
    );
  });

  it("a consequence raised a moment before its cause is told with the cause's message, not one of its own", async () => {
    const o = await org(['OPERATOR']);
    await notifier.setRules(o.ids.OPERATOR as string, { email: true, sites: 'all', severities: ['warning', 'critical'], codes: 'all', quietHours: null, monthlyReport: false });
    const t = Date.now();
    const warning = await raise(o.site, 'BMS_WARNING', t, 'warning') as { id: number };
    const root = await raise(o.site, 'OVER_TEMPERATURE', t + 100) as { id: number };
    await mailbox.until((m) => m.some((x) => x.to.includes(o.email.OPERATOR as string)), 'the over-temperature mail');
    await new Promise((r) => setTimeout(r, GROUP_MS + 300));
    assert.deepEqual(mailbox.to(o.email.OPERATOR as string).map((m) => /(\w+) at /.exec(m.subject)?.[1]), ['OVER_TEMPERATURE']);
    assert.match((await notifier.deliveriesOf(warning.id)).deliveries[0]?.lastError ?? '', new RegExp(`part of alarm episode ${root.id}`));
    // A critical consequence raised first escalates with its root, not on its own.
    const o2 = await org(['OPERATOR', 'MANAGER']);
    await notifier.setRules(o2.ids.MANAGER as string, { email: false, sites: 'all', severities: ['critical'], codes: 'all', quietHours: null, monthlyReport: false });
    const t2 = Date.now();
    const bms = await raise(o2.site, 'BMS_FAULT', t2) as { id: number };
    const root2 = await raise(o2.site, 'OVER_TEMPERATURE', t2 + 100) as { id: number };
    await new Promise((r) => setTimeout(r, ESCALATE_MS + GROUP_MS + 400));
    assert.match((await notifier.deliveriesOf(bms.id)).escalation?.stopped ?? '', new RegExp(`part of alarm episode ${root2.id}`));
    assert.equal((await notifier.deliveriesOf(root2.id)).escalation?.level, 1, 'the root escalated');
    await alarms.ack(root.id, 'test', null);
    await alarms.ackEpisode(root2.id, 'test', null);
  });

  it('holds an alarm mail during the quiet hours, due when they end, while others get theirs', async () => {
    const o = await org(['OPERATOR', 'TECHNICIAN']);
    // Quiet from a minute ago (UTC) for two hours.
    const now = new Date();
    const hm = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    await notifier.setRules(o.ids.OPERATOR as string, {
      email: true, sites: 'all', severities: ['critical'], codes: 'all',
      quietHours: { start: hm(new Date(now.getTime() - 60_000)), end: hm(new Date(now.getTime() + 2 * 3_600_000)), timeZone: 'UTC' }, monthlyReport: false,
    });
    const a = await raise(o.site) as { id: number };
    await mailbox.until((m) => m.some((x) => x.to.includes(o.email.TECHNICIAN as string)), "the technician's mail");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mailbox.to(o.email.OPERATOR as string).length, 0, 'nothing reaches the operator inside the quiet hours');
    const held = (await notifier.deliveriesOf(a.id)).deliveries.find((d) => d.recipient === o.email.OPERATOR);
    assert.equal(held?.state, 'held');
    const end = Date.parse(held?.nextAttemptAt ?? '');
    assert.ok(end - now.getTime() > 1.9 * 3_600_000 && end - now.getTime() <= 2 * 3_600_000, `held until the window ends: ${held?.nextAttemptAt}`);
    await alarms.ack(a.id, 'test', null);
  });

  it('escalates an unacknowledged critical alarm to the next role up, and acknowledging stops it', async () => {
    const o = await org(['OPERATOR', 'MANAGER', 'ADMIN']);
    // The first responders only: the manager and admin opted out of the alarm mails, not of escalation duty.
    for (const r of ['MANAGER', 'ADMIN']) await notifier.setRules(o.ids[r] as string, { email: true, sites: 'all', severities: ['warning'], codes: 'all', quietHours: null, monthlyReport: false });
    const a = await raise(o.site, 'ESTOP') as { id: number };
    await mailbox.until((m) => m.some((x) => x.to.includes(o.email.OPERATOR as string)), "the operator's mail");
    assert.equal(mailbox.to(o.email.MANAGER as string).length, 0);
    const esc = await mailbox.until((m) => m.some((x) => x.to.includes(o.email.MANAGER as string)), 'the escalation to the manager', 5000);
    assert.match(esc.find((x) => x.to.includes(o.email.MANAGER as string))?.subject ?? '', /ESCALATED \(level 1\)/);
    await alarms.ack(a.id, 'operator', 'on it');
    await new Promise((r) => setTimeout(r, ESCALATE_MS * 3));
    assert.equal(mailbox.to(o.email.ADMIN as string).length, 0, 'no escalation after the acknowledgement');
    assert.match((await notifier.deliveriesOf(a.id)).escalation?.stopped ?? '', /acknowledged by operator/);
  });

  it('a critical alarm that flaps unacknowledged still escalates, with one message for the episode', async () => {
    const o = await org(['OPERATOR', 'MANAGER']);
    await notifier.setRules(o.ids.MANAGER as string, { email: true, sites: 'all', severities: ['warning'], codes: 'all', quietHours: null, monthlyReport: false });
    const t = Date.now();
    const first = await raise(o.site, 'OVER_TEMPERATURE', t) as { id: number };
    await alarms.clear(o.site, 'OVER_TEMPERATURE', 'safety', t + 100);
    const again = await raise(o.site, 'OVER_TEMPERATURE', t + 200) as { id: number };
    await mailbox.until((m) => m.some((x) => x.to.includes(o.email.MANAGER as string)), 'the escalation to the manager', 5000);
    assert.equal((await notifier.deliveriesOf(first.id)).escalation?.stopped, 'cleared');
    assert.equal((await notifier.deliveriesOf(again.id)).escalation?.level, 1, 'the flap carried the escalation on');
    assert.equal(mailbox.to(o.email.OPERATOR as string).length, 1, 'one message for the episode');
    await alarms.ack(again.id, 'test', null);
  });

  it('silencing stops the escalation and drops what is still held', async () => {
    const o = await org(['OPERATOR', 'MANAGER']);
    await notifier.setRules(o.ids.OPERATOR as string, { email: true, sites: 'all', severities: ['critical'], codes: 'all', quietHours: { start: '00:00', end: '23:59', timeZone: 'Pacific/Kiritimati' }, monthlyReport: false });
    await notifier.setRules(o.ids.MANAGER as string, { email: false, sites: 'all', severities: ['critical'], codes: 'all', quietHours: null, monthlyReport: false });
    const a = await raise(o.site, 'COMMUNICATION_LOST') as { id: number };
    await alarms.silence(a.id, 'operator', Date.now() + 3_600_000, null);
    await new Promise((r) => setTimeout(r, ESCALATE_MS * 2));
    const d = (await notifier.deliveriesOf(a.id));
    assert.equal(d.escalation?.stopped, 'silenced');
    assert.ok(d.deliveries.every((x) => x.state === 'cancelled'), JSON.stringify(d.deliveries));
  });

  it('a mail server that is down delays the mail; it arrives once when the server is back', async () => {
    const o = await org(['OPERATOR']);
    await mailbox.stop();
    const a = await raise(o.site, 'SITE_OFFLINE') as { id: number };
    const deadline = Date.now() + 5000;
    while (((await notifier.deliveriesOf(a.id)).deliveries[0]?.attempts ?? 0) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const waiting = (await notifier.deliveriesOf(a.id)).deliveries[0];
    assert.equal(waiting?.state, 'queued');
    assert.ok((waiting?.attempts ?? 0) >= 2 && waiting?.lastError, JSON.stringify(waiting));
    assert.equal((await notifier.deliveryOf([a.id])).get(a.id)?.state, 'retrying');
    await mailbox.start();
    await mailbox.until((m) => m.some((x) => x.to.includes(o.email.OPERATOR as string)), 'the delayed mail');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(mailbox.to(o.email.OPERATOR as string).length, 1, 'exactly once');
    await alarms.ack(a.id, 'test', null);
  });

  it('keeps what is queued across a restart and delivers it, attachments included, afterwards', async () => {
    await mailbox.stop();
    const id = await notifier.enqueueMail({ to: 'owner@restart.example', subject: 'Monthly report', text: 'attached', attachments: [{ filename: 'report.pdf', content: Buffer.from('%PDF-1.4 test'), contentType: 'application/pdf' }] });
    await notifier.close();
    assert.equal((await notifier.outbox.get(id))?.state, 'queued');
    await mailbox.start();
    notifier = start();
    const got = await mailbox.until((m) => m.some((x) => x.to.includes('owner@restart.example')), 'the queued mail after the restart');
    const mail = got.find((x) => x.to.includes('owner@restart.example'));
    assert.match(mail?.raw ?? '', /filename="?report\.pdf/);
    assert.match(mail?.raw ?? '', new RegExp(Buffer.from('%PDF-1.4 test').toString('base64')));
  });

  it('two notifiers on one database (two cloud processes) send each queued mail once and take each escalation step once', async () => {
    const second = start();
    try {
      const o = await org(['OPERATOR', 'MANAGER']);
      await notifier.setRules(o.ids.MANAGER as string, { email: true, sites: 'all', severities: ['warning'], codes: 'all', quietHours: null, monthlyReport: false });
      const to = Array.from({ length: 12 }, (_, i) => `twice-${i}@${o.org}.example`);
      for (const [i, addr] of to.entries()) await (i % 2 ? second : notifier).enqueueMail({ to: addr, subject: `mail ${i}`, text: 'once' });
      const a = await raise(o.site, 'ESTOP') as { id: number };
      await mailbox.until((m) => to.every((addr) => m.some((x) => x.to.includes(addr))) && m.some((x) => x.to.includes(o.email.MANAGER as string)), 'the mails and the escalation', 8000);
      await new Promise((r) => setTimeout(r, 500));
      for (const addr of to) assert.equal(mailbox.to(addr).length, 1, `${addr} got ${mailbox.to(addr).length} mails`);
      assert.equal(mailbox.to(o.email.MANAGER as string).length, 1, 'the escalation went out once');
      await alarms.ack(a.id, 'test', null);
    } finally {
      await second.close();
    }
  });

  it("retries a webhook that fails, and its delivery log says so", async () => {
    const o = await org(['OPERATOR']);
    const hook = await webhooks.create({ orgId: o.org, url: receiver.url, minSeverity: 'info', createdBy: 'test' });
    receiver.secret = hook.secret;
    receiver.status = 503;
    const id = await notifier.enqueueWebhookTest(hook.id);
    const deadline = Date.now() + 5000;
    while (((await notifier.outbox.get(id))?.attempts ?? 0) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    receiver.status = 200;
    while ((await notifier.outbox.get(id))?.state !== 'sent' && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
    const log = await notifier.outbox.forRecipient('webhook', hook.id, 10);
    assert.equal(log[0]?.state, 'sent');
    assert.ok((log[0]?.attempts ?? 0) >= 2, JSON.stringify(log[0]));
    const h = receiver.hooks.find((x) => x.delivery === String(id));
    assert.equal(h?.event, 'test');
    assert.equal(h?.signatureValid, true);
  });
}));
