// Reads what a site's monthly report is made of (the store's telemetry as 60-second samples, the
// SoH estimates and alarms of cloud.db, the spot prices the site's plans carried) and builds it
// with domain/reports/monthly.ts. The API's report route and the monthly mailing both call this.
import { DEFAULT_TELEMETRY_MS } from '../../domain/freshness';
import { buildMonthlyReport, monthBounds, previousMonth, type AlarmRaised, type MonthlyReport, type ReportMonth, type ReportSample, type SohPoint, type SpotPrice } from '../../domain/reports/monthly';
import { SiteSettingsSchema } from '../../domain/site-settings/settings';
import { DEFAULT_TARIFF, type SiteTariff } from '../../domain/tariff/tariff';
import { rangeBuckets, type Aggregate, type TimeseriesStore } from '../../io/timeseries/store';
import { sql } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';

/** The samples' width: one minute keeps a month at 44 640 intervals (5 store queries). */
export const SAMPLE_MS = 60_000;

const FIELDS = ['batteryPowerW', 'batteryDischargeW', 'batteryChargeW', 'gridPowerW', 'netLoadW', 'sohPct', 'capacityWh', 'modeCode'];

export interface MonthlyReportSources {
  db: CloudDb;
  store: TimeseriesStore;
  /** Spot price steps overlapping [from, to), oldest first (runtime/api/plans.ts). */
  prices(siteId: string, from: number, to: number): SpotPrice[] | Promise<SpotPrice[]>;
}

export interface MonthlyReportOptions {
  /** The site's tariff; the default tariff (domain/tariff/tariff.ts) when the cloud holds none for the site. */
  tariff?: { tariff: SiteTariff; source: string };
  /** The site's telemetry interval, ms (default the shipped flow's 1 s). */
  recordMs?: number;
  now?: number;
}

function modeOf(a: Aggregate | undefined): ReportSample['mode'] {
  return a && a.min !== null && a.mean !== null && a.max !== null ? { min: a.min, mean: a.mean, max: a.max } : null;
}

/** The month's telemetry of a site as samples of SAMPLE_MS (only intervals holding records). */
export async function monthSamples(store: TimeseriesStore, siteId: string, from: number, to: number): Promise<ReportSample[]> {
  const buckets = await rangeBuckets(store, { siteId, from, to, everyMs: SAMPLE_MS, fields: FIELDS });
  return buckets.map((b) => ({
    start: b.start,
    spanMs: SAMPLE_MS,
    records: b.count,
    batteryPowerW: b.fields.batteryPowerW?.mean ?? null,
    batteryDischargeW: b.fields.batteryDischargeW?.mean ?? null,
    batteryChargeW: b.fields.batteryChargeW?.mean ?? null,
    gridPowerW: b.fields.gridPowerW?.mean ?? null,
    netLoadW: b.fields.netLoadW?.mean ?? null,
    sohPct: b.fields.sohPct?.mean ?? null,
    capacityWh: b.fields.capacityWh?.max ?? null,
    mode: modeOf(b.fields.modeCode),
  }));
}

/**
 * The tariff of the site's strategy settings document as the site last applied it (README, "Remote
 * strategy settings"), else the default tariff. One tariff for the whole month: the document in
 * force now, which the report names as its source.
 */
export async function siteTariff(db: CloudDb, siteId: string): Promise<{ tariff: SiteTariff; source: string }> {
  const row = await db.one(sql<{ version: number; document: string }>`SELECT version, document FROM site_settings WHERE site_id = ${siteId}`);
  const doc = row ? SiteSettingsSchema.safeParse(JSON.parse(row.document)) : null;
  if (doc?.success) return { tariff: doc.data.tariff, source: `the site's strategy settings, version ${doc.data.version} (in force now)` };
  return { tariff: DEFAULT_TARIFF, source: 'default tariff (domain/tariff/tariff.ts): the site has no strategy settings document' };
}

export async function loadMonthlyReport(src: MonthlyReportSources, site: { id: string; name: string }, month: ReportMonth, opts: MonthlyReportOptions = {}): Promise<MonthlyReport> {
  const now = opts.now ?? Date.now();
  const { from, to } = monthBounds(month);
  const end = Math.max(from + 1, Math.min(to, now));
  const last = monthBounds(previousMonth(month));
  const samples = await monthSamples(src.store, site.id, from, end);
  const lastMonthSamples = last.from < now ? await monthSamples(src.store, site.id, last.from, Math.min(last.to, now)) : [];
  // The first and the last estimate are all the report shows.
  const soh = await src.db.all(sql<SohPoint>`SELECT ts, soh_pct AS "sohPct" FROM (SELECT ts, soh_pct FROM ml_soh WHERE site_id = ${site.id} AND origin = 'edge' AND ts >= ${from} AND ts < ${end} ORDER BY ts LIMIT 1) AS first
     UNION SELECT ts, soh_pct AS "sohPct" FROM (SELECT ts, soh_pct FROM ml_soh WHERE site_id = ${site.id} AND origin = 'edge' AND ts >= ${from} AND ts < ${end} ORDER BY ts DESC LIMIT 1) AS last
     ORDER BY ts`);
  const alarms = await src.db.all(sql<AlarmRaised>`SELECT code, severity, raised_at AS "raisedAt" FROM alarms WHERE site_id = ${site.id} AND raised_at >= ${from} AND raised_at < ${end}`);
  const tariff = opts.tariff ?? (await siteTariff(src.db, site.id));
  return buildMonthlyReport({
    siteId: site.id, siteName: site.name, month, now,
    samples, lastMonthSamples, sohEstimates: soh, alarms,
    prices: await src.prices(site.id, from, end),
    tariff: tariff.tariff, tariffSource: tariff.source,
    recordMs: opts.recordMs ?? DEFAULT_TELEMETRY_MS,
  });
}
