// The monthly report by e-mail (README, "Monthly report"): on the first of each month, and at the
// next start when the cloud was down then, every user whose notification rules ask for it gets last
// month's report of each site they see and chose, as a PDF attached to a mail through the
// notifier's durable outbox (so a mail server that is down delays it and loses nothing). Each site's
// report is built once for all its readers. What was queued is kept in cloud.db
// (notify_monthly_reports) in the same transaction as the mail, so a restart mails nothing twice.
// With several cloud processes it runs on the holder of the 'monthly-mailing' lease only
// (runtime/cloud-db/lease.ts), and the record's key would refuse a second mail anyway.
import { sql } from 'kysely';
import type { Role } from '../../domain/roles';
import { wantsMonthlyReport } from '../../domain/notifications/rules';
import { monthBounds, monthOf, monthText, previousMonth, type MonthlyReport } from '../../domain/reports/monthly';
import { monthlyReportSections } from '../../domain/reports/monthly-lines';
import type { TimeseriesStore } from '../../io/timeseries/store';
import type { SiteRow, SiteStore } from '../api/sites';
import type { CloudDb } from '../cloud-db/cloud-db';
import { openLease, type Lease } from '../cloud-db/lease';
import { loadMonthlyReport, type MonthlyReportSources } from '../reports/monthly-source';
import { renderMonthlyReportPdf } from '../reports/monthly-pdf';
import type { Notifier } from './notifier';

export interface MonthlyMailingOptions {
  db: CloudDb;
  sites: SiteStore;
  notifier: Notifier;
  store: TimeseriesStore;
  prices: MonthlyReportSources['prices'];
  log: (line: string) => void;
  /** How often it looks whether a month's reports are due, ms (default an hour). */
  checkEveryMs?: number;
  /** The first look after start, ms (default a minute): a cloud that was down on the first catches up. */
  firstCheckMs?: number;
  /** Runs only while this lease is held (default: the 'monthly-mailing' lease on `db`, given up by close()). */
  lease?: Lease;
  now?: () => number;
}

interface Reader { id: string; email: string; role: Role; org_id: string }

const HOUR_MS = 3_600_000;

/** The mail's text: the report's sections as lines (the PDF holds the same and its notes). */
export function monthlyReportText(r: MonthlyReport): string {
  const lines = [`Monthly report of ${r.siteName || r.siteId} for ${r.month}.`, ''];
  for (const s of monthlyReportSections(r)) {
    lines.push(s.title);
    for (const l of s.lines) lines.push(`  ${l.label}: ${l.value}`);
    lines.push('');
  }
  lines.push('The attached PDF explains how each figure is made.');
  return lines.join('\n');
}

export class MonthlyMailing {
  readonly #o: MonthlyMailingOptions;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  readonly #first: NodeJS.Timeout;
  #running: Promise<number> | null = null;
  readonly #lease: Lease;
  readonly #ownLease: boolean;

  constructor(o: MonthlyMailingOptions) {
    this.#o = o;
    this.#ownLease = o.lease === undefined;
    this.#lease = o.lease ?? openLease(o.db, 'monthly-mailing', { log: o.log });
    this.#now = o.now ?? Date.now;
    this.#timer = setInterval(() => void this.runDue(), o.checkEveryMs ?? HOUR_MS);
    this.#timer.unref();
    this.#first = setTimeout(() => void this.runDue(), o.firstCheckMs ?? 60_000);
    this.#first.unref();
  }

  /** Queues what is due for last month; resolves to the number of mails queued (0 when none or running already). */
  runDue(): Promise<number> {
    if (this.#running) return Promise.resolve(0);
    const run = this.#lease.settled.then(() => (this.#lease.isHolder() ? this.#run() : 0)).catch((err: unknown) => {
      this.#o.log(`monthly reports: ${err instanceof Error ? err.message : String(err)}`);
      return 0;
    });
    this.#running = run.finally(() => { this.#running = null; });
    return this.#running;
  }

  /** Stops the checks; resolves once its lease is given up. */
  close(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#first);
    return this.#ownLease ? this.#lease.close() : Promise.resolve();
  }

  async #run(): Promise<number> {
    const { db, notifier } = this.#o;
    if (!notifier.emailConfigured) return 0;
    const month = previousMonth(monthOf(this.#now()));
    const { to } = monthBounds(month);
    const key = monthText(month);
    const readers: { u: Reader; rules: NonNullable<Awaited<ReturnType<Notifier['rulesOf']>>> }[] = [];
    for (const u of await db.all(sql<Reader>`SELECT id, email, role, org_id FROM users WHERE disabled = 0 ORDER BY id`)) {
      const rules = await notifier.rulesOf(u.id);
      if (rules?.monthlyReport === true) readers.push({ u, rules });
    }
    if (readers.length === 0) return 0;
    const sites = await db.all(sql<SiteRow>`SELECT * FROM sites WHERE created_at < ${to} ORDER BY id`);
    let count = 0;
    for (const site of sites) {
      const due: typeof readers = [];
      for (const r of readers) {
        if (!wantsMonthlyReport(r.rules, site.id)) continue;
        if (!(await this.#o.sites.canSee({ userId: r.u.id, role: r.u.role, orgId: r.u.org_id }, site.id))) continue;
        const queued = await db.one(sql<{ n: number }>`SELECT 1 AS n FROM notify_monthly_reports WHERE site_id = ${site.id} AND month = ${key} AND user_id = ${r.u.id}`);
        if (queued === undefined) due.push(r);
      }
      if (due.length === 0) continue;
      const report = await loadMonthlyReport({ db, store: this.#o.store, prices: this.#o.prices }, site, month, { now: this.#now() });
      const pdf = await renderMonthlyReportPdf(report);
      const mail = {
        subject: `[LiFePO4 EMS] ${site.name || site.id}: monthly report ${key}`,
        text: monthlyReportText(report),
        attachments: [{ filename: `report-${site.id}-${key}.pdf`, content: pdf, contentType: 'application/pdf' }],
      };
      for (const { u } of due) {
        const queued = await db.tx(async (within) => {
          const id = await notifier.enqueueMail({ to: u.email, ...mail }, { userId: u.id, within });
          const n = await within.run(sql`INSERT INTO notify_monthly_reports (site_id, month, user_id, outbox_id, queued_at)
            VALUES (${site.id}, ${key}, ${u.id}, ${id}, ${this.#now()}) ON CONFLICT (site_id, month, user_id) DO NOTHING`);
          // Queued meanwhile by another process: this mail is rolled back.
          if (n === 0) throw new AlreadyQueued();
          return true;
        }).catch((err: unknown) => {
          if (err instanceof AlreadyQueued) return false;
          throw err;
        });
        if (queued) count++;
      }
    }
    if (count) this.#o.log(`monthly reports: ${count} mail(s) of ${key} queued`);
    return count;
  }
}

class AlreadyQueued extends Error {}
