// Two cloud APIs on one PostgreSQL, as two `lifo4 cloud --database-url` processes behind a load
// balancer would be (here two createCloudApi in one test process, each with its own hub, HTTP
// server, connection pool, event bus and leases; README, "Leases and the event bus"): a user made
// through one signs in through the other; a record that only one of them received (the shared
// ingest queue gives each record to one process) reaches the dashboards of both, once each; one
// alarm is raised once, whichever process got the record; a site alarm every process hears is
// raised once; and when the process holding the alarm lease goes, the other takes over the rules.
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { io as connectRealtime, type Socket } from 'socket.io-client';
import { REALTIME_EVENTS } from '../../domain/realtime';
import { acquirePostgres, releasePostgres, requirePostgres } from '../cloud-db/targets';
import { call, createUser, login, record, startHarness, type Harness } from '../runtime/api/harness';
import { eventually } from './lifo4-process';

const SITE = 'site-pair';

describe('two cloud APIs on one PostgreSQL', function () {
  this.timeout(60_000);
  let url = '';
  let a: Harness | null = null;
  let b: Harness | null = null;
  let running = false;
  const sockets: Socket[] = [];

  before(async function () {
    this.timeout(90_000);
    requirePostgres(this);
    url = await (await acquirePostgres()).createDatabase();
    running = true;
    // One installation: the same secrets (token signing) on both, as the deployment copies them.
    a = await startHarness({ database: url, freshness: { staleAfterMs: 3_600_000, lostAfterMs: 3_600_000 } });
    b = await startHarness({ database: url, secrets: a.secrets, store: a.store, freshness: { staleAfterMs: 3_600_000, lostAfterMs: 3_600_000 } });
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await b?.close();
    await a?.close();
    if (running) await releasePostgres();
  });

  /** A dashboard connected to `h`, collecting the events it is pushed. */
  async function dashboard(h: Harness, token: string): Promise<{ events: { event: string; payload: unknown }[] }> {
    const s = connectRealtime(h.url, { path: '/api/v1/realtime', auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    const events: { event: string; payload: unknown }[] = [];
    s.onAny((event: string, payload: unknown) => events.push({ event, payload }));
    await new Promise((resolve, reject) => {
      s.once('hello', resolve);
      s.once('connect_error', reject);
    });
    return { events };
  }

  const alarmsOf = (h: Harness, code: string) =>
    h.api.db.all<{ id: number; state: string }>(sql`SELECT id, state FROM alarms WHERE site_id = ${SITE} AND code = ${code} ORDER BY id`);

  it('signs a user made through one process in through the other', async () => {
    const u = await createUser(a!, 'pair-operator@example.com', 'OPERATOR');
    const s = await login(b!, u);
    const me = await call<{ user: { email: string } }>(a!, 'get', '/auth/me', { token: s.accessToken });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, 'pair-operator@example.com', 'and its token opens the first process');
  });

  it("hands a record one process received to both processes' dashboards, once each, and both list the site", async () => {
    const u = await createUser(a!, 'pair-viewer@example.com', 'MANAGER');
    const [onA, onB] = await Promise.all([dashboard(a!, (await login(a!, u)).accessToken), dashboard(b!, (await login(b!, u)).accessToken)]);
    a!.hub.emit('record', record(SITE, 1, Date.now()));
    const telemetry = (d: { events: { event: string; payload: unknown }[] }) => d.events.filter((e) => e.event === REALTIME_EVENTS.telemetry);
    await eventually(async () => (telemetry(onA).length > 0 && telemetry(onB).length > 0 ? true : undefined), 10_000, 'the record on both dashboards');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(telemetry(onA).length, 1);
    assert.equal(telemetry(onB).length, 1, 'delivered once on the other process');
    assert.equal((telemetry(onB)[0]?.payload as { siteId: string }).siteId, SITE);
    const token = (await login(b!, u)).accessToken;
    for (const h of [a!, b!]) {
      const sites = await call<{ sites: { id: string }[] }>(h, 'get', '/sites', { token });
      assert.ok(sites.body.sites.some((x) => x.id === SITE), `${h.url} lists ${SITE}: ${JSON.stringify(sites.body)}`);
    }
  });

  it('raises one alarm once, whichever process received the records, and a site alarm every process hears once', async () => {
    const t = Date.now();
    // The records of one site, split between the processes by the shared queue.
    a!.hub.emit('record', record(SITE, 2, t, { tempMax: 70 }));
    b!.hub.emit('record', record(SITE, 3, t + 1000, { tempMax: 71 }));
    await eventually(async () => ((await alarmsOf(a!, 'TEMPERATURE_OUT_OF_BAND')).length > 0 ? true : undefined), 10_000, 'the temperature alarm');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await alarmsOf(a!, 'TEMPERATURE_OUT_OF_BAND')).length, 1, 'raised once, not once per process');
    // A site's own alarm reaches every process from the broker.
    const siteAlarm = { siteId: SITE, code: 'OVER_TEMPERATURE', source: 'safety', severity: 'critical' as const, message: 'cell at 61 degC', active: true, ts: t + 2000 };
    a!.hub.emit('alarm', siteAlarm);
    b!.hub.emit('alarm', siteAlarm);
    await eventually(async () => ((await alarmsOf(b!, 'OVER_TEMPERATURE')).length > 0 ? true : undefined), 10_000, 'the site alarm');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await alarmsOf(b!, 'OVER_TEMPERATURE')).length, 1);
  });

  it('moves the alarm rules to the other process when the one holding their lease goes', async () => {
    // The process started first holds the lease; it goes away.
    const survivor = b!;
    await a!.close();
    a = null;
    // The site keeps sending (1 Hz); once the survivor holds the lease its rules see the records.
    let seq = 10;
    await eventually(async () => {
      survivor.hub.emit('record', record(SITE, ++seq, Date.now(), { soc: 1 }));
      return (await alarmsOf(survivor, 'SOC_OUT_OF_BAND')).length > 0 ? true : undefined;
    }, 15_000, 'the SoC alarm raised by the survivor');
    assert.equal((await alarmsOf(survivor, 'SOC_OUT_OF_BAND')).length, 1);
  });
});
