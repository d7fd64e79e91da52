// The monthly report of a real run: `lifo4 start` (simulator at --speed 2, edge, cloud with its
// SQLite store), the battery driven both ways through the API, then the report of the month so far
// compared with an expectation computed here, independently, from the store's raw records: each
// record holds until the next one, at most the cloud's stale limit (domain/freshness.ts). A whole
// month cannot be simulated: the simulator's clock runs faster, but the edge records at the wall
// clock's 1 Hz, so a month of records takes a month. The month logic (boundaries, gaps, the bill)
// is specified by the unit tests (test/domain/reports/monthly.test.ts); this proves the parts
// together and the figures against the stored data.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cloudLimits } from '../../domain/freshness';
import { MODES } from '../../domain/contracts';
import type { MonthlyReport } from '../../domain/reports/monthly';
import { pdfText } from '../runtime/reports/pdf-text';
import { Lifo4Process, eventually, freePorts, runCli } from './lifo4-process';

const SITE = 'site-1';

interface Row {
  ts: number;
  batteryPowerW: number | null;
  modeCode: number | null;
}

describe('lifo4 start: the monthly report matches the stored telemetry', function () {
  this.timeout(300_000);
  let dir: string;
  let run: Lifo4Process;
  let api: string;
  let token: string;

  const rows = (from: number, to: number): Row[] => {
    const db = new Database(join(dir, 'cloud', 'timeseries.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT ts, "batteryPowerW" AS batteryPowerW, "modeCode" AS modeCode FROM telemetry WHERE site_id = ? AND ts >= ? AND ts < ? ORDER BY ts, seq').all(SITE, from, to) as Row[];
    } finally {
      db.close();
    }
  };
  const command = async (powerW: number) => {
    const res = await fetch(`${api}/sites/${SITE}/commands`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'setpoint', powerW, expiresInS: 120 }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-report-'));
    const [port, edgePort, modbusPort, controlPort, mqttPort] = await freePorts(5);
    run = new Lifo4Process(['start', '--data-dir', dir, '--port', String(port), '--edge-port', String(edgePort), '--modbus-port', String(modbusPort),
      '--control-port', String(controlPort), '--mqtt-port', String(mqttPort), '--speed', '2']);
    await run.waitFor(/LiFePO4 EMS is running/, 120_000);
    api = `http://127.0.0.1:${port}/api/v1`;
    const added = runCli(['user', 'add', '--email', 'manager@example.com', '--role', 'MANAGER', '--password', 'manager-pass-1234', '--data-dir', dir]);
    assert.equal(added.code, 0, added.stderr);
    const login = await fetch(`${api}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'manager@example.com', password: 'manager-pass-1234' }) });
    assert.equal(login.status, 200);
    token = ((await login.json()) as { accessToken: string }).accessToken;
  });

  after(async () => {
    await run?.stop('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports charged and discharged energy, cycles and availability as the raw records give them', async () => {
    await eventually(async () => (rows(0, Date.now() + 60_000).length >= 5 ? true : undefined), 60_000, 'records stored');
    // Discharge, then charge: 20 s each at the wall clock.
    await command(2000);
    await new Promise((r) => setTimeout(r, 20_000));
    await command(-2000);
    await new Promise((r) => setTimeout(r, 20_000));
    await command(0);

    const month = new Date().toISOString().slice(0, 7);
    const res = await fetch(`${api}/sites/${SITE}/reports/${month}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const r = (await res.json()) as MonthlyReport;
    // Records still on their way when the report was made arrive within the edge's ack cycle.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    const raw = rows(Date.parse(r.period.from), Date.parse(r.period.end));
    assert.ok(raw.length > 40, `${raw.length} records`);
    const holdMax = cloudLimits().staleAfterMs;
    let chargedWh = 0, dischargedWh = 0, controllableMs = 0, onlineMs = 0;
    raw.forEach((row, i) => {
      const next = raw[i + 1];
      const ms = Math.min(next ? next.ts - row.ts : 1000, holdMax, Date.parse(r.period.end) - row.ts);
      onlineMs += ms;
      if (row.modeCode !== null && row.modeCode <= MODES.indexOf('DERATED')) controllableMs += ms;
      const wh = ((row.batteryPowerW ?? 0) * ms) / 3_600_000;
      if (wh > 0) dischargedWh += wh;
      else chargedWh -= wh;
    });
    const near = (actual: number, expected: number, what: string) =>
      assert.ok(Math.abs(actual - expected) <= Math.max(0.002, 0.03 * Math.abs(expected)), `${what}: report ${actual}, records ${expected}`);
    assert.ok(dischargedWh > 5 && chargedWh > 5, `the battery moved both ways: ${dischargedWh} Wh out, ${chargedWh} Wh in`);
    near(r.energy.dischargedKwh, dischargedWh / 1000, 'discharged kWh');
    near(r.energy.chargedKwh, chargedWh / 1000, 'charged kWh');
    near(r.availability.onlineHours, onlineMs / 3_600_000, 'online h');
    near(r.availability.controllableHours, controllableMs / 3_600_000, 'controllable h');
    assert.ok(r.cycles.capacityKwh !== null && r.cycles.capacityKwh > 0);
    near(r.cycles.equivalentFull ?? NaN, (chargedWh + dischargedWh) / 2 / (r.cycles.capacityKwh * 1000), 'equivalent full cycles');
    assert.ok(r.availability.share > 0 && r.availability.share < 1, `${r.availability.share}: a few minutes of a month`);
    assert.equal(r.period.complete, false);

    const pdf = await fetch(`${api}/sites/${SITE}/reports/${month}?format=pdf`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(pdf.status, 200);
    const text = pdfText(Buffer.from(await pdf.arrayBuffer())).join('\n');
    assert.match(text, new RegExp(`Monthly report ${month}`));
    assert.match(text, /\nDischarged\n\d+\.\d kWh\n/);
  });
});
