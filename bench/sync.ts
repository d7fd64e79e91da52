// Reconnect after a day offline: the edge's buffer holds a 24 h backlog at 1 Hz (86,400 records of
// a household site, 16 cells each, written into the real SQLite buffer file), then `lifo4 start`
// runs the simulator, the cloud and the edge with their default flows; the edge's telemetry-out
// drains the backlog to the cloud while live records keep flowing. `seconds` runs from the reconnect
// (the first backlog record in the cloud's store) to the moment the store holds every one of them; lost = backlog records never
// stored, duplicates = rows stored more than once (the store's key is (site, seq)), and at the end
// the edge's buffer must have forgotten the backlog (each record was acknowledged after its commit).
//
// Run: npm run bench -- sync [--records N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { NewRecord } from '../io/buffer/telemetry-buffer';
import { TelemetryBuffer } from '../io/buffer/telemetry-buffer';
import { siteBufferPath } from '../io/buffer/location';
import { Lifo4Process, freePorts } from '../test/integration/lifo4-process';

const i = process.argv.indexOf('--records');
const RECORDS = i >= 0 ? Number(process.argv[i + 1]) : 86_400;
const SITE = 'site-1';

function backlogRecord(ts: number, k: number): NewRecord {
  const soc = 30 + (k % 500) / 10;
  const power = ((k % 200) - 100) * 30;
  const cells = Array.from({ length: 16 }, (_, c) => Math.round((3.3 + ((k + c * 13) % 40) / 1000) * 1000) / 1000);
  const temps = Array.from({ length: 16 }, (_, c) => 24 + ((k + c) % 20) / 10);
  return {
    siteId: SITE, ts,
    telemetry: {
      siteId: SITE, ts,
      battery: {
        ts, soc, soh: 99.1, voltage: 52.8, current: Math.round((power / 52.8) * 10) / 10, power, capacityWh: 10_557, energyAvailableWh: Math.round(soc * 105.57),
        cellVmax: Math.max(...cells), cellVmin: Math.min(...cells), cellVavg: 3.32, cellVoltages: cells, tempMax: Math.max(...temps), tempMin: Math.min(...temps),
        cellTemps: temps, chargeCurrentMax: 200, dischargeCurrentMax: 200, chargePowerMax: 10_557, dischargePowerMax: 10_557, cycles: 12, state: 'CONNECTED', alarms: [],
      },
      meter: { ts, power: 600 - power, voltage: 230.2, frequency: 50, energyImportWh: null, energyExportWh: null, alarms: [] },
    },
    decision: { setpointW: power, requestedW: power, level: 5, source: 'arbitrage', requestId: null, mode: 'NORMAL', reason: 'ECONOMIC arbitrage asks for it' },
    envelope: { mode: 'NORMAL', maxChargeW: 5000, maxDischargeW: 5000 },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-sync-'));
  let run: Lifo4Process | undefined;
  try {
    // The day offline: one record a second for the last RECORDS seconds, in the edge's own buffer file.
    const buffer = new TelemetryBuffer({ path: siteBufferPath('', join(dir, 'edge'), SITE), siteId: SITE });
    const end = Date.now() - 1000;
    const backlog = Array.from({ length: RECORDS }, (_, k) => backlogRecord(end - (RECORDS - k) * 1000, k));
    for (let k = 0; k < backlog.length; k += 10_000) buffer.appendMany(backlog.slice(k, k + 10_000));
    const buffered = buffer.stats();
    buffer.close();

    const [port, edgePort, modbusPort, controlPort, mqttPort] = await freePorts(5);
    const started = performance.now();
    run = new Lifo4Process(['start', '--data-dir', dir, '--port', String(port), '--edge-port', String(edgePort), '--modbus-port', String(modbusPort),
      '--control-port', String(controlPort), '--mqtt-port', String(mqttPort), '--log-level', 'error']);
    await run.waitFor(/\[start\] edge started/, 120_000);
    const edgeStarted = performance.now();
    const storePath = join(dir, 'cloud', 'timeseries.db');
    let stored = 0;
    let rows = 0;
    const deadline = performance.now() + 300_000;
    let done = 0;
    let firstStored = 0;
    while (performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        const db = new Database(storePath, { readonly: true, fileMustExist: true });
        const r = db.prepare('SELECT count(DISTINCT seq) AS d, count(*) AS n FROM telemetry WHERE site_id = ? AND seq <= ?').get(SITE, buffered.lastSeq ?? 0) as { d: number; n: number };
        db.close();
        stored = r.d;
        rows = r.n;
        if (stored > 0 && !firstStored) firstStored = performance.now();
      } catch {
        continue; // the cloud has not created its store yet
      }
      if (stored >= RECORDS) {
        done = performance.now();
        break;
      }
    }
    await run.stop('SIGTERM');
    const left = new TelemetryBuffer({ path: siteBufferPath('', join(dir, 'edge'), SITE), siteId: SITE });
    const remaining = left.pending(0, RECORDS).filter((r) => r.seq <= (buffered.lastSeq ?? 0)).length;
    left.close();
    console.log(JSON.stringify({
      bench: 'sync',
      records: RECORDS,
      // From the reconnect (the first backlog record in the cloud's store, 200 ms resolution) to the last.
      seconds: done ? Math.round((done - firstStored) / 100) / 10 : null,
      seconds_from_edge_start: done ? Math.round((done - edgeStarted) / 100) / 10 : null,
      seconds_from_start: done ? Math.round((done - started) / 100) / 10 : null,
      lost: RECORDS - stored,
      duplicates: rows - stored,
      still_buffered_at_edge: remaining,
      target_seconds: 30,
    }));
  } finally {
    await run?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
