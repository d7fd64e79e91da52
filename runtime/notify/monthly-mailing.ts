// The monthly report by e-mail (README, "Monthly report"): on the first of each month, and at the
// next start when the cloud was down then, every user whose notification rules ask for it gets last
// month's report of each site they see and chose, as a PDF attached to a mail through the
// notifier's durable outbox (so a mail server that is down delays it and loses nothing). Each site's
// report is built once for all its readers. What was queued is kept in cloud.db
// (notify_monthly_reports) in the same transaction as the mail, so a restart mails nothing twice.
import type { Role } from '../../domain/roles';
import { wantsMonthlyReport } from '../../domain/notifications/rules';
import { monthBounds, monthOf, monthText, previousMonth, type MonthlyReport } from '../../domain/reports/monthly';
import { monthlyReportSections } from '../../domain/reports/monthly-lines';
import type { TimeseriesStore } from '../../io/timeseries/store';
import type { SiteRow, SiteStore } from '../api/sites';
import type { CloudDb } from '../cloud-db/cloud-db';
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

  constructor(o: MonthlyMailingOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#timer = setInterval(() => void this.runDue(), o.checkEveryMs ?? HOUR_MS);
    this.#timer.unref();
    this.#first = setTimeout(() => void this.runDue(), o.firstCheckMs ?? 60_000);
    this.#first.unref();
  }

  /** Queues what is due for last month; resolves to the number of mails queued (0 when none or running already). */
  runDue(): Promise<number> {
    if (this.#running) return Promise.resolve(0);
    const run = this.#run().catch((err: unknown) => {
      this.#o.log(`monthly reports: ${err instanceof Error ? err.message : String(err)}`);
      return 0;
    });
    this.#running = run.finally(() => { this.#running = null; });
    return this.#running;
  }

  close(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#first);
  }

  async #run(): Promise<number> {
    const { db, notifier } = this.#o;
    if (!notifier.emailConfigured) return 0;
    const month = previousMonth(monthOf(this.#now()));
    const { to } = monthBounds(month);
    const key = monthText(month);
    const readers = (db.prepare('SELECT id, email, role, org_id FROM users WHERE disabled = 0').all() as Reader[])
      .map((u) => ({ u, rules: notifier.rulesOf(u.id) }))
      .filter((x) => x.rules?.monthlyReport === true);
    if (readers.length === 0) return 0;
    const queued = db.prepare('SELECT 1 FROM notify_monthly_reports WHERE site_id = ? AND month = ? AND user_id = ?');
    const record = db.prepare('INSERT INTO notify_monthly_reports (site_id, month, user_id, outbox_id, queued_at) VALUES (?, ?, ?, ?, ?)');
    const sites = db.prepare('SELECT * FROM sites WHERE created_at < ? ORDER BY id').all(to) as SiteRow[];
    let count = 0;
    for (const site of sites) {
      const due = readers.filter(({ u, rules }) => rules !== null && wantsMonthlyReport(rules, site.id)
        && this.#o.sites.canSee({ userId: u.id, role: u.role, orgId: u.org_id }, site.id)
        && queued.get(site.id, key, u.id) === undefined);
      if (due.length === 0) continue;
      const report = await loadMonthlyReport({ db, store: this.#o.store, prices: this.#o.prices }, site, month, { now: this.#now() });
      const pdf = await renderMonthlyReportPdf(report);
      const mail = {
        subject: `[LiFePO4 EMS] ${site.name || site.id}: monthly report ${key}`,
        text: monthlyReportText(report),
        attachments: [{ filename: `report-${site.id}-${key}.pdf`, content: pdf, contentType: 'application/pdf' }],
      };
      for (const { u } of due) {
        db.transaction(() => {
          const id = notifier.enqueueMail({ to: u.email, ...mail }, { userId: u.id });
          record.run(site.id, key, u.id, id, this.#now());
        })();
        count++;
      }
    }
    if (count) this.#o.log(`monthly reports: ${count} mail(s) of ${key} queued`);
    return count;
  }
}
