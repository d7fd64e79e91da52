// How long a site's monthly report takes to make from a month of stored telemetry: a temporary
// SQLite time-series store filled with one record a second (battery, PCS, meter, envelope) for
// `--days` days of November 2026 and hourly prices, then the report as JSON, CSV and PDF.
// Run: npm run bench -- monthly-report [--days 30]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TelemetryRecord } from '../domain/contracts';
import { monthlyReportCsv } from '../domain/reports/monthly-csv';
import { PlanStore } from '../runtime/api/plans';
import { openCloudDb } from '../runtime/cloud-db/cloud-db';
import { loadMonthlyReport } from '../runtime/reports/monthly-source';
import { renderMonthlyReportPdf } from '../runtime/reports/monthly-pdf';
import { openSqliteStore } from '../io/timeseries/sqlite-store';
import { siteRecord } from '../test/runtime/reports/site-record';

const SITE = 'bench-site';
const NOV = Date.UTC(2026, 10, 1);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0 || v > 30) throw new Error(`--${name} must be a number of days in 1..30`);
  return v;
}

/** A day's cycle: discharge 3 kW in the evening, charge 2.5 kW at noon, rest otherwise; the site draws 3.5 kW. */
function record(seq: number, ts: number): TelemetryRecord {
  const hour = new Date(ts).getUTCHours();
  const powerW = hour >= 18 && hour < 22 ? 3000 : hour >= 10 && hour < 14 ? -2500 : 0;
  return siteRecord(SITE, seq, ts, powerW, 3500 - powerW);
}

async function main(): Promise<void> {
  const days = arg('days', 30);
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-report-'));
  const store = openSqliteStore(join(dir, 'timeseries.db'));
  const db = await openCloudDb(join(dir, 'cloud.db'));
  try {
    const plans = new PlanStore(db);
    const n = days * 86_400;
    const t0 = performance.now();
    for (let i = 0; i < n; i += 10_000) {
      const batch: TelemetryRecord[] = [];
      for (let k = i; k < Math.min(n, i + 10_000); k++) batch.push(record(k + 1, NOV + k * 1000));
      await store.write(batch);
    }
    for (let d = 0; d < days; d++) {
      const start = NOV + d * 86_400_000;
      await plans.save(SITE, {
        siteId: SITE, ts: start, stepMinutes: 60, objectiveEur: 0, solveMs: 0, reason: 'bench',
        steps: Array.from({ length: 24 }, (_, h) => ({ start: start + h * 3_600_000, priceEurPerMWh: 50 + 50 * Math.sin(h / 4), powerW: 0, socPct: 50, gridW: null })),
      });
    }
    const fillS = (performance.now() - t0) / 1000;
    const src = { db, store, prices: (id: string, from: number, to: number) => plans.prices(id, from, to) };
    const site = { id: SITE, name: 'Bench site' };
    const month = { year: 2026, month: 11 };
    const now = Date.UTC(2026, 11, 5);
    const t1 = performance.now();
    const report = await loadMonthlyReport(src, site, month, { now });
    const jsonMs = performance.now() - t1;
    const t2 = performance.now();
    monthlyReportCsv(report);
    const csvMs = performance.now() - t2;
    const t3 = performance.now();
    const pdf = await renderMonthlyReportPdf(report);
    const pdfMs = performance.now() - t3;
    console.log(JSON.stringify({
      bench: 'monthly-report', days, records: n, fillS: Number(fillS.toFixed(1)),
      reportMs: Math.round(jsonMs), csvMs: Number(csvMs.toFixed(2)), pdfMs: Math.round(pdfMs), pdfBytes: pdf.length,
      dischargedKwh: report.energy.dischargedKwh, chargedKwh: report.energy.chargedKwh, expectedDischargedKwh: days * 4 * 3, expectedChargedKwh: days * 4 * 2.5,
      availability: report.availability.share, savingEur: report.bill.savingEur,
    }));
  } finally {
    await store.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
