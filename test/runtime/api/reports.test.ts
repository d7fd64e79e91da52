// The monthly report route against a real API with real SQLite (cloud.db and the time-series
// store): the JSON figures from stored records, the same figures as CSV and in the PDF, and the
// refusals (bad month, bad format, a month not begun, a role without reports, another organisation).
import { sql } from 'kysely';
import { strict as assert } from 'node:assert';
import { monthBounds, monthOf, monthText, previousMonth } from '../../../domain/reports/monthly';
import { DEFAULT_SETTINGS_FIELDS } from '../../../domain/site-settings/settings';
import type { MonthlyReport } from '../../../domain/reports/monthly';
import { pdfText } from '../reports/pdf-text';
import { siteRecord } from '../reports/site-record';
import { plan } from './fleet-fixture';
import { call, createUser, login, startHarness, type Harness, type Session } from './harness';

const SITE = 'site-r';

const rec = (seq: number, ts: number, batteryW: number, gridW: number) => siteRecord(SITE, seq, ts, batteryW, gridW);

async function raw(h: Harness, path: string, token: string): Promise<{ status: number; type: string | null; disposition: string | null; body: Buffer }> {
  const res = await fetch(`${h.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), body: Buffer.from(await res.arrayBuffer()) };
}

describe('API monthly report: GET /sites/:id/reports/:yyyy-mm', function () {
  this.timeout(60_000);
  let h: Harness;
  let manager: Session;
  let viewer: Session;
  let otherManager: Session;
  // Last month, whatever today is: complete, so its figures do not move while the test runs.
  const month = previousMonth(monthOf(Date.now()));
  const m = monthText(month);
  const { from } = monthBounds(month);
  const t1 = from + 3_600_000; // 01:00 UTC on the 1st

  before(async () => {
    h = await startHarness();
    await h.users.createOrg('org-b', 'B');
    // 300 s discharging 3 kW (grid 1 kW), then 300 s charging 2 kW (grid 4 kW), one record a second.
    const records = Array.from({ length: 600 }, (_, i) => (i < 300 ? rec(i + 1, t1 + i * 1000, 3000, 1000) : rec(i + 1, t1 + i * 1000, -2000, 4000)));
    const written = await h.store.write(records);
    assert.equal(written.inserted, 600);
    await h.api.db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${SITE}, 'default', 'Report site', ${from})`);
    // The hour's price: 100 EUR/MWh.
    h.hub.emit('plan', { siteId: SITE, plan: plan(SITE, t1, [100]) });
    const alarm = (code: string, severity: string, ts: number) =>
      h.api.db.run(sql`INSERT INTO alarms (site_id, code, source, severity, message, state, raised_at, last_seen) VALUES (${SITE}, ${code}, 'edge', ${severity}, 'test', 'cleared', ${ts}, ${ts})`);
    await alarm('OVER_TEMPERATURE', 'critical', t1 + 10_000);
    await alarm('COMMUNICATION_LOST', 'warning', t1 + 20_000);
    manager = await login(h, await createUser(h, 'manager@a.example', 'MANAGER'));
    viewer = await login(h, await createUser(h, 'viewer@a.example', 'VIEWER'));
    otherManager = await login(h, await createUser(h, 'manager@b.example', 'MANAGER', 'org-b'));
  });

  after(async () => {
    await h?.close();
  });

  it("answers with the month's figures computed from the stored records", async () => {
    const res = await call<MonthlyReport>(h, 'get', `/sites/${SITE}/reports/${m}`, { token: manager.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const r = res.body;
    assert.equal(r.month, m);
    assert.equal(r.siteName, 'Report site');
    // 3 kW x 300 s = 0.25 kWh; 2 kW x 300 s = 0.1667 kWh
    assert.equal(r.energy.dischargedKwh, 0.25);
    assert.equal(r.energy.chargedKwh, 0.167);
    assert.equal(r.cycles.equivalentFull, Number(((0.25 + 2000 * 300 / 3.6e6) / 2 / 10).toFixed(4)));
    assert.equal(r.availability.controllableHours, Number((600 / 3600).toFixed(3)));
    assert.deepEqual([r.soh.startPct, r.soh.endPct, r.soh.source], [97.5, 97.5, 'bms']);
    assert.deepEqual(r.alarms.byType.map((a) => [a.code, a.count]), [['COMMUNICATION_LOST', 1], ['OVER_TEMPERATURE', 1]]);
    // With the battery the grid carried 1 kW then 4 kW; without it 4 kW then 2 kW (grid + PCS).
    // Default tariff: import (0.1 + 0.2) EUR/kWh, no demand charge.
    const withKwh = (1000 * 300 + 4000 * 300) / 3.6e6;
    const withoutKwh = (4000 * 300 + 2000 * 300) / 3.6e6;
    assert.equal(r.bill.withBattery.totalEur, Number((withKwh * 0.3).toFixed(2)));
    assert.equal(r.bill.withoutBattery.totalEur, Number((withoutKwh * 0.3).toFixed(2)));
    assert.equal(r.bill.unpricedHours, 0);
    // Both minutes-windows lie in the 01:00 window: mean import (1 x 300 + 4 x 300) / 600 = 2.5 kW.
    assert.equal(r.peak.importKw, 2.5);
    assert.equal(r.peak.lastMonthImportKw, null);
  });

  it('gives the same figures as CSV, one per row', async () => {
    const res = await raw(h, `/sites/${SITE}/reports/${m}?format=csv`, manager.accessToken);
    assert.equal(res.status, 200);
    assert.match(res.type ?? '', /^text\/csv/);
    assert.match(res.disposition ?? '', new RegExp(`attachment; filename="report-${SITE}-${m}\\.csv"`));
    const rows = res.body.toString('utf8').trimEnd().split('\r\n');
    assert.equal(rows[0], 'section,metric,value,unit');
    assert.ok(rows.includes('energy,discharged,0.25,kWh'), rows.join('\n'));
    assert.ok(rows.includes('alarms,OVER_TEMPERATURE,1,critical'));
  });

  it('renders a PDF that opens and shows the title, the site, the month and the figures', async () => {
    const res = await raw(h, `/sites/${SITE}/reports/${m}?format=pdf`, manager.accessToken);
    assert.equal(res.status, 200);
    assert.equal(res.type, 'application/pdf');
    const text = pdfText(res.body).join('\n');
    const json = (await call<MonthlyReport>(h, 'get', `/sites/${SITE}/reports/${m}`, { token: manager.accessToken })).body;
    assert.match(text, new RegExp(`Monthly report ${m}`));
    assert.match(text, /Site: Report site \(site-r\)/);
    // Each label is followed by its value (0.25 and 0.167 kWh shown to 0.1 kWh).
    assert.match(text, /\nCharged\n0\.2 kWh\nDischarged\n0\.3 kWh\n/);
    assert.ok(text.includes(`\nSaving\n${json.bill.savingEur.toFixed(2)} EUR\n`), text);
    assert.ok(text.includes(`\nWith the battery\n${json.bill.withBattery.totalEur.toFixed(2)} EUR\n`), text);
    assert.match(text, /\nThis month\n2\.50 kW\n/);
    assert.match(text, /\nOVER_TEMPERATURE \(critical\)\n1\n/);
    assert.match(text, /Generated \d{4}-\d\d-\d\dT/);
  });

  it('refuses a malformed month, an unknown format and a month that has not begun with a clear 400', async () => {
    for (const bad of ['2026-13', '2026-1', 'last', '1969-12']) {
      const res = await call(h, 'get', `/sites/${SITE}/reports/${bad}`, { token: manager.accessToken });
      assert.equal(res.status, 400, bad);
      assert.match(String(res.body.message), /params\.month: a calendar month as yyyy-mm/);
    }
    const fmt = await call(h, 'get', `/sites/${SITE}/reports/${m}`, { token: manager.accessToken, query: { format: 'xlsx' } });
    assert.equal(fmt.status, 400);
    assert.match(String(fmt.body.message), /query\.format: one of json, csv, pdf/);
    const next = monthText(monthOf(monthBounds(monthOf(Date.now())).to));
    const future = await call(h, 'get', `/sites/${SITE}/reports/${next}`, { token: manager.accessToken });
    assert.equal(future.status, 400);
    assert.match(String(future.body.message), /has not begun/);
  });

  it('is for MANAGER and above (403 for a VIEWER) and hides other organisations\' sites (404)', async () => {
    const v = await call(h, 'get', `/sites/${SITE}/reports/${m}`, { token: viewer.accessToken });
    assert.equal(v.status, 403);
    const other = await call(h, 'get', `/sites/${SITE}/reports/${m}`, { token: otherManager.accessToken });
    assert.equal(other.status, 404);
    const missing = await call(h, 'get', `/sites/no-such-site/reports/${m}`, { token: manager.accessToken });
    assert.equal(missing.status, 404);
  });

  it("prices the bill at the tariff of the site's strategy settings when the site has applied one", async () => {
    const settings = { ...DEFAULT_SETTINGS_FIELDS, tariff: { ...DEFAULT_SETTINGS_FIELDS.tariff, importAdderEurPerKwh: 0.4 }, v: 1, version: 3 };
    await h.api.db.run(sql`INSERT INTO site_settings (site_id, version, document, updated_by, updated_at, command_id)
      VALUES (${SITE}, 3, ${JSON.stringify(settings)}, 'manager@a.example', ${Date.now()}, 'c-1')`);
    try {
      const r = (await call<MonthlyReport>(h, 'get', `/sites/${SITE}/reports/${m}`, { token: manager.accessToken })).body;
      // Import at (0.1 spot + 0.4 adder) EUR/kWh instead of the default 0.3.
      assert.equal(r.bill.withBattery.totalEur, Number((((1000 * 300 + 4000 * 300) / 3.6e6) * 0.5).toFixed(2)));
      assert.match(r.bill.tariffSource, /strategy settings, version 3/);
    } finally {
      await h.api.db.run(sql`DELETE FROM site_settings WHERE site_id = ${SITE}`);
    }
  });
});
