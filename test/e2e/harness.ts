// A stand-in cloud for working on the dashboard before `lifo4 start` serves it: the real API
// (createCloudApi with its SQLite stores and realtime channel) and the built dashboard on one
// Express app, fed once a second from the simulator's site model (createSite, stepped in-process)
// instead of the edge flow and MQTT. Commands are applied to the simulated PCS directly and acked
// 'accepted' then 'executed'. Not a test: run it and open the printed URL.
//   node dist/test/e2e/harness.js [--port 0] [--data-dir DIR]
// It prints one JSON line: {url, dataDir, users: {email: {password, role}}}.
import express from 'express';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CommandAck, Mode, Plan, TelemetryRecord } from '../../domain/contracts';
import { loadDayAheadPrices } from '../../io/data/real-data';
import { createCloudApi } from '../../runtime/app/cloud-api';
import { openCloudDb, cloudDbPath } from '../../runtime/cloud-db/cloud-db';
import { UserStore } from '../../runtime/api/users';
import { FleetHub, type FleetCommand } from '../../io/fleet-hub';
import { loadOrCreateSecrets } from '../../runtime/secrets';
import { createSite } from '../../runtime/simulator';
import { ControlApi } from '../../runtime/simulator/control-api';
import { openSqliteStore } from '../../io/timeseries/sqlite-store';

export const HARNESS_PASSWORD = 'harness-password-1';
export const HARNESS_USERS = {
  'admin@e2e.test': 'ADMIN',
  'operator@e2e.test': 'OPERATOR',
  'viewer@e2e.test': 'VIEWER',
  'manager@e2e.test': 'MANAGER',
} as const;

export interface Harness {
  url: string;
  /** The simulator's control API on the harness's site model: GET /state, POST /faults. */
  controlUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startHarness(opts: { port?: number; dataDir?: string; siteId?: string } = {}): Promise<Harness> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'lifo4-harness-'));
  const siteId = opts.siteId ?? 'site-1';
  const secrets = loadOrCreateSecrets(dataDir);

  // Users first (a cheap bcrypt cost: this is a development harness), so no first-start admin is made.
  const db = await openCloudDb(cloudDbPath(dataDir));
  const users = new UserStore(db, 4);
  for (const [email, role] of Object.entries(HARNESS_USERS)) if (!(await users.byEmail(email))) await users.create({ email, password: HARNESS_PASSWORD, role });
  await db.close();

  const hub = new FleetHub();
  const store = openSqliteStore(join(dataDir, 'timeseries.db'));
  const api = await createCloudApi({ dataDir, hub, store, secrets, bcryptCost: 4, print: () => undefined });

  // ---- the site: the simulator's model, stepped once a second
  const site = createSite('household', 1);
  const control = new ControlApi(site, '127.0.0.1', 0);
  const controlUrl = `http://127.0.0.1:${await control.listen()}`;
  let seq = (await store.highestSeq(siteId)) + 1;
  let operator: { powerW: number; until: number; id: string } | null = null;
  let estop = false;
  const tick = setInterval(() => {
    site.step(1000);
    const now = Date.now();
    if (operator && operator.until <= now) operator = null;
    const want = estop ? 0 : operator ? operator.powerW : 0;
    site.pcs.write({ wSetEna: true, wSet: want, wSetRvrtTms: 0 });
    const s = site.state();
    const hot = s.pack.tempMax > 45;
    const mode: Mode = estop ? 'ESTOP' : hot ? 'SAFE_MODE' : 'NORMAL';
    const rec: TelemetryRecord = {
      siteId, seq: seq++, ts: now,
      telemetry: {
        siteId, ts: now,
        battery: {
          ts: now, soc: s.pack.soc, soh: s.pack.soh, voltage: s.pack.voltage, current: s.pack.current, power: s.pack.power,
          capacityWh: s.pack.capacityWh, energyAvailableWh: (s.pack.capacityWh * s.pack.soc) / 100, cellVmax: s.pack.cellVmax, cellVmin: s.pack.cellVmin,
          cellVavg: null, cellVoltages: s.cells.map((c) => c.voltage), tempMax: s.pack.tempMax, tempMin: s.pack.tempMin, cellTemps: s.cells.map((c) => c.temp),
          chargeCurrentMax: s.pack.chargeLimitA, dischargeCurrentMax: s.pack.dischargeLimitA, chargePowerMax: null, dischargePowerMax: null,
          cycles: Math.round(s.pack.cycles), state: 'CONNECTED', alarms: s.pack.alarms,
        },
        pcs: {
          ts: now, power: s.pcs.power, reactivePower: 0, frequency: 50, voltage: 230, state: s.pcs.state, gridConnected: true, setpointEnabled: true,
          setpoint: s.pcs.setpoint, revertTimeS: 0, revertRemainingS: 0, ratedPowerW: s.pcs.ratedW, maxChargeW: s.pcs.ratedW, maxDischargeW: s.pcs.ratedW,
          energyInjectedWh: s.pcs.energyInjectedWh, energyAbsorbedWh: s.pcs.energyAbsorbedWh, alarms: [],
        },
        meter: { ts: now, power: s.meter.grid, frequency: 50, voltage: 230, energyImportWh: s.meter.energyImportWh, energyExportWh: s.meter.energyExportWh, alarms: [] },
      },
      decision: {
        setpointW: want, requestedW: operator ? operator.powerW : null, level: estop ? 1 : operator ? 3 : null, source: estop ? 'estop' : operator ? 'operator' : null,
        requestId: operator?.id ?? null, mode, reason: estop ? 'e-stop latched' : operator ? 'operator setpoint' : 'no request: idle',
      },
      envelope: { mode, maxChargeW: hot ? 0 : s.pcs.ratedW, maxDischargeW: hot ? 0 : s.pcs.ratedW },
      alarms: hot ? [{ code: 'OVER_TEMPERATURE', severity: 'critical', message: `battery at ${s.pack.tempMax.toFixed(1)} degC`, source: 'safety', ts: now, active: true, siteId }] : [],
    };
    store.write([rec]).then(() => hub.emit('record', rec), (err: unknown) => console.error(`harness: store: ${String(err)}`));
    for (const a of rec.alarms ?? []) hub.emit('alarm', { ...a, siteId });
  }, 1000);
  hub.emit('state', { v: 1, siteId, state: 'online', ts: Date.now() });
  hub.emit('plan', { siteId, plan: demoPlan(siteId, site.state().pack.soc, site.state().pack.capacityWh) });

  hub.setCommandSender(async (c: FleetCommand): Promise<CommandAck> => {
    const id = c.id ?? `h-${Date.now()}`;
    const ack = (outcome: CommandAck['outcome'], reason?: string): CommandAck => ({ v: 1, id, siteId: c.siteId, outcome, ts: Date.now(), ...(reason ? { reason } : {}) });
    hub.emit('ack', ack('accepted'));
    await new Promise((r) => setTimeout(r, 400));
    const b = c.body;
    // No strategies run here: a settings document is refused rather than reported applied.
    if (b.type === 'settings') return ack('rejected', 'the harness runs no strategies: settings are not applied');
    if (b.type === 'estop') estop = true;
    else if (b.type === 'reset') estop = false;
    else if (estop) return ack('rejected', 'e-stop latched: reset first');
    else if (b.type === 'setpoint') operator = { powerW: b.powerW, until: Date.now() + b.durationS * 1000, id };
    else if (b.type === 'mode') operator = b.mode === 'standby' ? { powerW: 0, until: Date.now() + (b.durationS ?? 3600) * 1000, id } : null;
    const a = ack('executed');
    hub.emit('ack', a);
    return a;
  });

  // ---- HTTP: the API and the dashboard (history fallback to index.html for client routes)
  const app = express();
  app.disable('x-powered-by');
  app.use('/api/v1', api.router);
  const dist = resolve(__dirname, '../../../dashboard/dist');
  app.use(express.static(dist, { index: 'index.html' }));
  app.get(/^\/(?!api\/).*/, (_req, res) => res.sendFile(join(dist, 'index.html')));
  const server = http.createServer(app);
  api.attachRealtime(server);
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    controlUrl,
    dataDir,
    async close() {
      clearInterval(tick);
      await control.close();
      await api.close();
      await store.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A day of real 2012 day-ahead prices (same day of the year as today) with a simple plan on them:
 * charge in the four cheapest hours, discharge in the four dearest. The real runtime's plan comes
 * from the arbitrage node's LP; this one only gives the schedule page something true to draw.
 */
function demoPlan(siteId: string, soc0: number, capacityWh: number): Plan {
  const table = loadDayAheadPrices();
  const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const dayOfYearS = ((hourStart - Date.UTC(new Date(hourStart).getUTCFullYear(), 0, 1)) / 1000) % (365 * 86_400);
  let i = table.seconds.findIndex((sec) => sec >= dayOfYearS);
  if (i < 0 || i + 24 > table.values.length) i = 0;
  const prices = Array.from(table.values.slice(i, i + 24));
  const order = prices.map((p, k) => [p, k] as const).sort((a, b) => a[0] - b[0]);
  const power = new Array<number>(24).fill(0);
  for (const [, k] of order.slice(0, 4)) power[k] = -2500;
  for (const [, k] of order.slice(-4)) power[k] = 2500;
  let soc = soc0;
  let eur = 0;
  const steps = prices.map((price, k) => {
    const w = power[k] ?? 0;
    soc = Math.min(100, Math.max(0, soc - (w / capacityWh) * 100));
    eur += (w / 1e6) * price;
    return { start: hourStart + k * 3_600_000, priceEurPerMWh: price, powerW: w, socPct: soc, gridW: null };
  });
  return { siteId, ts: Date.now(), stepMinutes: 60, steps, objectiveEur: eur, solveMs: 0, reason: 'harness demo plan: four cheapest hours charge, four dearest discharge' };
}

if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const port = arg('--port');
  const dataDir = arg('--data-dir');
  startHarness({ ...(port ? { port: Number(port) } : {}), ...(dataDir ? { dataDir } : {}) })
    .then((h) => {
      console.log(JSON.stringify({ url: h.url, controlUrl: h.controlUrl, dataDir: h.dataDir, users: Object.fromEntries(Object.entries(HARNESS_USERS).map(([e, role]) => [e, { password: HARNESS_PASSWORD, role }])) }));
      const stop = () => void h.close().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
