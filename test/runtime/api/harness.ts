// A real cloud API for the tests: the Express router on 127.0.0.1:0 with realtime attached, real
// SQLite files in a temp dir (cloud.db, or the PostgreSQL of `database`, and a SQLite TimeseriesStore), a FleetHub of its own and a
// command sender written here that answers like a site (accepted, then executed or rejected).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { generate } from 'otplib';
import type { CommandAck, TelemetryRecord } from '../../../domain/contracts';
import { createCloudApi, type CloudApi, type CloudApiOptions } from '../../../runtime/app/cloud-api';
import { UserStore, type UserRow } from '../../../runtime/api/users';
import { FleetHub, type FleetCommand } from '../../../io/fleet-hub';
import { loadOrCreateSecrets, type Secrets } from '../../../runtime/secrets';
import { openSqliteStore } from '../../../io/timeseries/sqlite-store';
import type { TimeseriesStore } from '../../../io/timeseries/store';
import { acquirePostgres, releasePostgres } from '../../cloud-db/targets';

/**
 * LIFO4_TEST_DATABASE=postgres runs every harness on a fresh database of the test process's private
 * PostgreSQL instead of a cloud.db (`npm run test:api-postgres`): the API's tests on both back ends.
 */
const ON_POSTGRES = process.env.LIFO4_TEST_DATABASE === 'postgres';

/** bcrypt cost in tests: 4 (~1 ms) instead of 12 (~250 ms), through the explicit option. */
export const TEST_BCRYPT_COST = 4;
export const PASSWORD = 'correct horse battery staple';

export interface Harness {
  url: string;
  api: CloudApi;
  hub: FleetHub;
  store: TimeseriesStore;
  secrets: Secrets;
  dir: string;
  /** The PostgreSQL URL the API's database is in; undefined for the cloud.db in `dir`. */
  database: string | undefined;
  printed: string[];
  /** Commands the sender received. */
  sent: FleetCommand[];
  /** What the sender answers; default executed. */
  answer: (c: FleetCommand) => CommandAck['outcome'];
  users: UserStore;
  close(): Promise<void>;
}

export async function startHarness(opts: Partial<CloudApiOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-api-'));
  const secrets = loadOrCreateSecrets(dir);
  const hub = new FleetHub();
  const store = openSqliteStore(join(dir, 'timeseries.db'));
  const printed: string[] = [];
  const h = { sent: [] as FleetCommand[], answer: (() => 'executed') as Harness['answer'] };
  hub.setCommandSender(async (c) => {
    h.sent.push(c);
    const id = c.id ?? 'no-id';
    hub.emit('ack', { v: 1, id, siteId: c.siteId, outcome: 'accepted', ts: Date.now() });
    const outcome = h.answer(c);
    const final: CommandAck = { v: 1, id, siteId: c.siteId, outcome, ts: Date.now(), ...(outcome === 'rejected' ? { reason: 'e-stop latched' } : {}) };
    hub.emit('ack', final);
    return final;
  });
  const database = opts.database ?? (ON_POSTGRES ? await (await acquirePostgres()).createDatabase() : undefined);
  const api = await createCloudApi({
    dataDir: dir, database, hub, store, secrets, bcryptCost: TEST_BCRYPT_COST, print: (l) => printed.push(l), log: () => undefined,
    rateLimits: { globalPerMin: 100_000 },
    // The fixtures' sites send one record and fall silent: no COMMUNICATION_LOST unless a test asks for it.
    freshness: { staleAfterMs: 3_600_000, lostAfterMs: 3_600_000 }, ...opts,
  });
  const app = express();
  app.use('/api/v1', api.router);
  app.get('/metrics', api.metricsHandler);
  const server: Server = createServer(app);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  api.attachRealtime(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(h, {
    url, api, hub, store, secrets, dir, database, printed, users: new UserStore(api.db, TEST_BCRYPT_COST),
    async close() {
      await api.close();
      await store.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      rmSync(dir, { recursive: true, force: true });
      if (ON_POSTGRES && opts.database === undefined) await releasePostgres();
    },
  });
}

export interface Res<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * One request to the API. With a harness it first waits for the hub events emitted so far to be
 * stored (the ingest handles them one after another, after emit returned), as a site's next
 * record would find them.
 */
export async function call<T = Record<string, unknown>>(
  h: { url: string; api?: Pick<CloudApi, 'settled'> },
  method: string,
  path: string,
  o: { token?: string | undefined; body?: unknown; rawBody?: string; query?: Record<string, string> } = {},
): Promise<Res<T>> {
  await h.api?.settled();
  const qs = o.query ? `?${new URLSearchParams(o.query).toString()}` : '';
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.rawBody !== undefined) body = o.rawBody;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${h.url}/api/v1${path}${qs}`, { method: method.toUpperCase(), headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    assert.fail(`${method} ${path}: answer is not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** A TOTP code `offsetSteps` 30 s steps from now (the server accepts -1, 0 and +1). */
export function totp(secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}

/** Waits until at least 4 s remain in the current TOTP step, so a code made now is checked in the same step. */
export async function awayFromStepEdge(): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 4000) await new Promise((r) => setTimeout(r, left + 100));
}

export async function createUser(h: Harness, email: string, role: UserRow['role'], orgId?: string, siteIds?: string[]): Promise<UserRow> {
  return h.users.create({ email, password: PASSWORD, role, orgId, siteIds });
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  totpSecret?: string;
  user: UserRow;
}

/** Logs a user in; ADMIN and SUPER_ADMIN go through 2FA enrolment first (with the enrolment token). */
export async function login(h: Harness, user: UserRow): Promise<Session> {
  const first = await call(h, 'post', '/auth/login', { body: { email: user.email, password: PASSWORD } });
  if (first.status === 200) return { accessToken: first.body.accessToken as string, refreshToken: first.body.refreshToken as string, user };
  assert.equal(first.status, 403, JSON.stringify(first.body));
  assert.equal(first.body.error, 'enrollment_required');
  const enrolToken = (first.body.details as { enrollmentToken: string }).enrollmentToken;
  const enrol = await call(h, 'post', '/auth/2fa/enroll', { token: enrolToken, body: {} });
  assert.equal(enrol.status, 200, JSON.stringify(enrol.body));
  const secret = enrol.body.secret as string;
  await awayFromStepEdge();
  const verified = await call(h, 'post', '/auth/2fa/verify', { token: enrolToken, body: { code: await totp(secret, -1) } });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  return { accessToken: verified.body.accessToken as string, refreshToken: verified.body.refreshToken as string, totpSecret: secret, user };
}

/** A record of a site as the edge sends it (battery, PCS, meter), power + = discharge. */
export function record(siteId: string, seq: number, ts: number, o: { soc?: number; powerW?: number; tempMax?: number } = {}): TelemetryRecord {
  const powerW = o.powerW ?? 1500;
  const soc = o.soc ?? 55;
  return {
    siteId, seq, ts,
    telemetry: {
      siteId, ts,
      battery: {
        ts, soc, soh: 98, voltage: 51.2, current: powerW / 51.2, power: powerW, capacityWh: 10_240, energyAvailableWh: 10_240 * soc / 100,
        cellVmax: 3.31, cellVmin: 3.29, cellVavg: 3.3, cellVoltages: [], tempMax: o.tempMax ?? 27, tempMin: 24, cellTemps: [],
        chargeCurrentMax: 100, dischargeCurrentMax: 100, chargePowerMax: 5000, dischargePowerMax: 5000, cycles: 120, state: 'CONNECTED', alarms: [],
      },
      pcs: {
        ts, power: powerW * 0.97, reactivePower: 0, frequency: 50, voltage: 230, state: 'RUNNING', gridConnected: true, setpointEnabled: true,
        setpoint: powerW, revertTimeS: 5, revertRemainingS: 4, ratedPowerW: 5000, maxChargeW: 5000, maxDischargeW: 5000,
        energyInjectedWh: null, energyAbsorbedWh: null, alarms: [],
      },
    },
  };
}
