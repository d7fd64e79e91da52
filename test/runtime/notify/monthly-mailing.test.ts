// The monthly report by e-mail, with its real parts: the cloud database (SQLite and PostgreSQL), the time-series store in SQLite,
// the notifier's durable outbox and a real SMTP server (smtp-server on 127.0.0.1). Last month's
// report of a site goes to the users who asked for it and see the site, once, however often the
// mailing runs and across a restart, with the PDF attached.
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monthBounds, monthOf, monthText, previousMonth } from '../../../domain/reports/monthly';
import { openSqliteStore } from '../../../io/timeseries/sqlite-store';
import type { TimeseriesStore } from '../../../io/timeseries/store';
import { AlarmStore } from '../../../runtime/api/alarms';
import { PlanStore } from '../../../runtime/api/plans';
import { SiteStore } from '../../../runtime/api/sites';
import { SecretBox } from '../../../runtime/api/totp';
import { UserStore } from '../../../runtime/api/users';
import type { CloudDb } from '../../../runtime/cloud-db/cloud-db';
import type { Lease } from '../../../runtime/cloud-db/lease';
import { smtpSender } from '../../../runtime/notify/mailer';
import { MonthlyMailing } from '../../../runtime/notify/monthly-mailing';
import { Notifier } from '../../../runtime/notify/notifier';
import { WebhookStore } from '../../../runtime/notify/webhooks';
import { pdfText } from '../reports/pdf-text';
import { siteRecord } from '../reports/site-record';
import { forEachDb } from '../../cloud-db/targets';
import { Mailbox } from './mailbox';

const SITE = 'site-m';

/** The base64 body of the mail's PDF attachment, decoded. */
function attachedPdf(raw: string): Buffer {
  const part = /Content-Type: application\/pdf[\s\S]*?\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/.exec(raw);
  assert.ok(part, 'the mail has a PDF attachment');
  return Buffer.from((part[1] as string).replace(/\s+/g, ''), 'base64');
}

forEachDb('monthly report by e-mail', (open) => describe('runtime/notify/monthly-mailing', function () {
  this.timeout(30_000);
  let dir: string;
  let db: CloudDb;
  let store: TimeseriesStore;
  let sites: SiteStore;
  let notifier: Notifier;
  const mailbox = new Mailbox();
  const log: string[] = [];
  const month = previousMonth(monthOf(Date.now()));
  const key = monthText(month);
  const { from } = monthBounds(month);

  const mailing = (lease?: Lease) => new MonthlyMailing({ db, sites, notifier, store, prices: (id, a, b) => new PlanStore(db).prices(id, a, b), log: (l) => log.push(l), ...(lease ? { lease } : {}) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-monthly-mail-'));
    db = await open();
    store = openSqliteStore(join(dir, 'timeseries.db'));
    sites = new SiteStore(db);
    const users = new UserStore(db, 4);
    await mailbox.start();
    notifier = new Notifier({
      db, alarms: new AlarmStore(db), sites, webhooks: new WebhookStore(db, new SecretBox(randomBytes(32).toString('hex'))),
      mail: smtpSender(mailbox.url, 'EMS <ems@test.example>'), escalateAfterMs: 60_000, backoff: { baseMs: 200, maxMs: 800 }, tickMs: 50, log: (l) => log.push(l),
    });
    await users.createOrg('org-m', 'M');
    await users.createOrg('org-x', 'X');
    await db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${SITE}, 'org-m', 'Mill house', ${from})`);
    // Ten minutes discharging 3 kW on the 2nd of last month.
    const t1 = from + 86_400_000;
    assert.equal((await store.write(Array.from({ length: 600 }, (_, i) => siteRecord(SITE, i + 1, t1 + i * 1000, 3000, 500)))).inserted, 600);
    const rules = { email: true, sites: 'all' as const, severities: ['critical' as const], codes: 'all' as const, quietHours: null, monthlyReport: true };
    const manager = await users.create({ email: 'manager@m.example', password: 'a-long-test-password-1', role: 'MANAGER', orgId: 'org-m' });
    await notifier.setRules(manager.id, rules);
    // Asked for reports but sees no site of org-m; and an operator on the defaults (no reports).
    const stranger = await users.create({ email: 'manager@x.example', password: 'a-long-test-password-1', role: 'MANAGER', orgId: 'org-x' });
    await notifier.setRules(stranger.id, rules);
    await users.create({ email: 'operator@m.example', password: 'a-long-test-password-1', role: 'OPERATOR', orgId: 'org-m' });
  });

  after(async () => {
    await notifier?.close();
    await mailbox.stop();
    await store?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mails nothing where its lease is held by another cloud process', async () => {
    const m = mailing({ name: 'monthly-mailing', isHolder: () => false, onChange: () => () => undefined, settled: Promise.resolve(), close: async () => undefined });
    try {
      assert.equal(await m.runDue(), 0);
    } finally {
      await m.close();
    }
    assert.equal((await db.all(sql`SELECT 1 AS n FROM notify_monthly_reports`)).length, 0);
  });

  it("mails last month's report with its PDF to who asked for it and sees the site, and to nobody else", async () => {
    const m = mailing();
    try {
      assert.equal(await m.runDue(), 1);
    } finally {
      await m.close();
    }
    const mails = await mailbox.until((all) => all.length >= 1, 'the monthly report');
    const mail = mails[0];
    assert.ok(mail);
    assert.deepEqual(mail.to, ['manager@m.example']);
    assert.match(mail.subject, new RegExp(`Mill house: monthly report ${key}`));
    assert.match(mail.raw, /Discharged/);
    const text = pdfText(attachedPdf(mail.raw)).join(' ');
    assert.match(text, new RegExp(key));
    assert.match(text, /Discharged/);
  });

  it('mails nothing twice: not when it runs again, not after a restart', async () => {
    for (const m of [mailing(), mailing()]) {
      try {
        assert.equal(await m.runDue(), 0);
      } finally {
        await m.close();
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(mailbox.mails.length, 1);
    const rows = await db.all(sql<{ site: string; month: string }>`SELECT site_id AS site, month, user_id FROM notify_monthly_reports`);
    assert.deepEqual(rows.map((r) => [r.site, r.month]), [[SITE, key]]);
  });
}));
