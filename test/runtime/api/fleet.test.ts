// The fleet side of the API against the running server: realtime push limited to what a user may
// see, commands through the hub with their acks, alarms (deduplicated, acknowledged, silenced,
// cleared, with history), plans, financial figures computed from stored telemetry, OpenAPI.
import { sql } from 'kysely';
import { strict as assert } from 'node:assert';
import { io as connect, type Socket } from 'socket.io-client';
import type { CommandAck } from '../../../domain/contracts';
import { DEFAULT_ORG_ID } from '../../../runtime/cloud-db/cloud-db';
import { ROUTE_IDS, ROUTES } from '../../../runtime/api/routes';
import { plan } from './fleet-fixture';
import { call, createUser, login, record, startHarness, type Harness, type Session } from './harness';

function socketFor(h: Harness, token: string | undefined): Socket {
  return connect(h.url, { path: '/api/v1/realtime', auth: token ? { token } : {}, transports: ['websocket'], reconnection: false, forceNew: true });
}

function next<T>(s: Socket, event: string, where: (payload: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const on = (p: T) => {
      if (!where(p)) return;
      s.off(event, on);
      resolve(p);
    };
    s.on(event, on);
  });
}

describe('API fleet: realtime, commands, alarms, plans, financial', function () {
  this.timeout(60_000);
  let h: Harness;
  let viewerA: Session;
  let viewerB: Session;
  let operator: Session;
  let admin: Session;
  const sockets: Socket[] = [];
  const t0 = Math.floor((Date.now() - 4 * 3_600_000) / 3_600_000) * 3_600_000;

  before(async () => {
    h = await startHarness();
    await h.users.createOrg('org-b', 'B');
    for (const siteId of ['site-a', 'site-f']) h.hub.emit('record', record(siteId, 1, t0 - 1000));
    await h.api.settled();
    await h.api.db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${'site-b'}, ${'org-b'}, ${'B'}, ${Date.now()})`);
    viewerA = await login(h, await createUser(h, 'viewer@a.example', 'VIEWER', DEFAULT_ORG_ID));
    viewerB = await login(h, await createUser(h, 'viewer@b.example', 'VIEWER', 'org-b'));
    operator = await login(h, await createUser(h, 'operator@a.example', 'OPERATOR', DEFAULT_ORG_ID));
    admin = await login(h, await createUser(h, 'admin@a.example', 'ADMIN', DEFAULT_ORG_ID));
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await h?.close();
  });

  const open = async (token: string | undefined) => {
    const s = socketFor(h, token);
    sockets.push(s);
    const hello = next<{ sites: string[] }>(s, 'hello');
    const failed = new Promise<Error>((resolve) => s.once('connect_error', resolve));
    const first = await Promise.race([hello, failed]);
    if (first instanceof Error) throw first;
    return { socket: s, sites: first.sites };
  };

  describe('realtime', () => {
    it('refuses a connection without a valid access token', async () => {
      await assert.rejects(open(undefined), /unauthorized/);
      await assert.rejects(open(`${viewerA.accessToken}x`), /unauthorized/);
    });

    it("pushes a VIEWER of organisation A site A's telemetry and not site B's", async () => {
      const a = await open(viewerA.accessToken);
      const b = await open(viewerB.accessToken);
      assert.ok(a.sites.includes('site-a') && !a.sites.includes('site-b'));
      const seenByA: string[] = [];
      const seenByB: string[] = [];
      a.socket.on('telemetry', (t: { siteId: string }) => seenByA.push(t.siteId));
      b.socket.on('telemetry', (t: { siteId: string }) => seenByB.push(t.siteId));
      const aGotA = next<{ siteId: string; fields: Record<string, number> }>(a.socket, 'telemetry', (t) => t.siteId === 'site-a');
      const bGotB = next(b.socket, 'telemetry', (t: { siteId: string }) => t.siteId === 'site-b');
      // Site B first: events on one socket arrive in order, so once A has site A's, B's was never sent to A.
      h.hub.emit('record', record('site-b', 2, Date.now()));
      h.hub.emit('record', record('site-a', 2, Date.now(), { soc: 61 }));
      const got = await aGotA;
      await bGotB;
      assert.equal(got.fields.socPct, 61);
      assert.deepEqual(seenByA, ['site-a']);
      assert.deepEqual(seenByB, ['site-b']);
    });
  });

  describe('commands', () => {
    it('sends a setpoint through the hub and answers with the final ack; accepted and executed come over realtime', async () => {
      const rt = await open(operator.accessToken);
      const acks: CommandAck[] = [];
      rt.socket.on('command-ack', (a: CommandAck) => acks.push(a));
      const executed = next<CommandAck>(rt.socket, 'command-ack', (a) => a.outcome === 'executed');
      const r = await call<{ id: string; outcome: string; ack: CommandAck }>(h, 'post', '/sites/site-a/commands', { token: operator.accessToken, body: { type: 'setpoint', powerW: -2500, expiresInS: 120 } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.outcome, 'executed');
      await executed;
      assert.deepEqual(acks.map((a) => [a.id, a.outcome]), [[r.body.id, 'accepted'], [r.body.id, 'executed']]);
      const sent = h.sent[h.sent.length - 1];
      assert.deepEqual(sent?.body, { type: 'setpoint', powerW: -2500, durationS: 120 });
      assert.equal(sent?.by, 'operator@a.example');
      assert.equal(sent?.role, 'OPERATOR');
      const list = await call<{ commands: { id: string; outcome: string }[] }>(h, 'get', '/sites/site-a/commands', { token: viewerA.accessToken });
      assert.equal(list.body.commands[0]?.outcome, 'executed');
    });

    it('answers a rejection with 409 and the ack, and a missing command path with 503', async () => {
      h.answer = () => 'rejected';
      const r = await call(h, 'post', '/sites/site-a/commands', { token: operator.accessToken, body: { type: 'mode', mode: 'standby' } });
      h.answer = () => 'executed';
      assert.equal(r.status, 409);
      assert.equal(r.body.error, 'command_rejected');
      assert.equal((r.body.details as { ack: CommandAck }).ack.outcome, 'rejected');
      h.hub.setCommandSender(null);
      const none = await call(h, 'post', '/sites/site-a/commands', { token: operator.accessToken, body: { type: 'estop' } });
      assert.equal(none.status, 503);
      assert.equal(typeof none.body.message, 'string');
    });

    it('refuses a setpoint without powerW and a mode without mode with 400', async () => {
      for (const body of [{ type: 'setpoint' }, { type: 'mode' }, { type: 'estop', powerW: 5 }, { type: 'launch' }]) {
        const r = await call(h, 'post', '/sites/site-a/commands', { token: operator.accessToken, body });
        assert.equal(r.status, 400, JSON.stringify(body));
      }
    });

    it('allows 10 emergency stops a minute per user, then 429 with Retry-After', async () => {
      h.hub.setCommandSender(async (c) => ({ v: 1, id: c.id ?? 'x', siteId: c.siteId, outcome: 'executed', ts: Date.now() }));
      const estopper = await login(h, await createUser(h, 'estop@a.example', 'OPERATOR', DEFAULT_ORG_ID));
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await call(h, 'post', '/sites/site-a/commands', { token: estopper.accessToken, body: { type: 'estop' } })).status);
      assert.deepEqual(statuses, [...Array(10).fill(200), 429]);
      const last = await call(h, 'post', '/sites/site-a/commands', { token: estopper.accessToken, body: { type: 'estop' } });
      assert.ok(Number(last.headers.get('retry-after')) > 0);
      // Other commands have their own (60/min) budget.
      assert.equal((await call(h, 'post', '/sites/site-a/commands', { token: estopper.accessToken, body: { type: 'setpoint', powerW: 0 } })).status, 200);
    });

    it('writes every command to the audit log, which an ADMIN can query', async () => {
      const r = await call<{ entries: { action: string; outcome: string; email: string; target: string }[] }>(h, 'get', '/audit', { token: admin.accessToken, query: { action: 'sendCommand' } });
      assert.equal(r.status, 200);
      assert.ok(r.body.entries.some((e) => e.outcome === 'success' && e.email === 'operator@a.example' && e.target === 'site-a'));
      assert.ok(r.body.entries.some((e) => e.outcome === 'failure' && e.email === 'operator@a.example'));
      const logins = await call<{ entries: unknown[] }>(h, 'get', '/audit', { token: admin.accessToken, query: { action: 'login' } });
      assert.ok(logins.body.entries.length > 0);
    });
  });

  describe('alarms', () => {
    it('raises SoC out of band once however often it repeats, and clears it back in band', async () => {
      h.hub.emit('record', record('site-a', 10, t0 + 1, { soc: 3 }));
      h.hub.emit('record', record('site-a', 11, t0 + 2, { soc: 2 }));
      const open = await call<{ alarms: { id: number; code: string; state: string }[] }>(h, 'get', '/alarms', { token: viewerA.accessToken, query: { siteId: 'site-a' } });
      const soc = open.body.alarms.filter((a) => a.code === 'SOC_OUT_OF_BAND');
      assert.equal(soc.length, 1);
      assert.equal(soc[0]?.state, 'active');
      h.hub.emit('record', record('site-a', 12, t0 + 3, { soc: 30 }));
      const one = await call<{ state: string; history: { event: string }[] }>(h, 'get', `/alarms/${soc[0]?.id}`, { token: viewerA.accessToken });
      assert.equal(one.body.state, 'cleared');
      assert.deepEqual(one.body.history.map((e) => e.event), ['raised', 'cleared']);
    });

    it("takes a site's own alarm, lets an OPERATOR acknowledge and silence it, pushing each change", async () => {
      const rt = await open(viewerA.accessToken);
      const raised = next<{ event: string; alarm: { id: number } }>(rt.socket, 'alarm', (e) => e.event === 'raised');
      h.hub.emit('alarm', { siteId: 'site-a', code: 'CELL_OVER_TEMP', severity: 'critical', message: 'cell 7 at 58 degC', source: 'edge-safety', ts: Date.now(), active: true });
      const id = (await raised).alarm.id;
      const acked = next<{ event: string }>(rt.socket, 'alarm', (e) => e.event === 'acknowledged');
      assert.equal((await call(h, 'post', `/alarms/${id}/ack`, { token: viewerA.accessToken, body: {} })).status, 403);
      const ack = await call(h, 'post', `/alarms/${id}/ack`, { token: operator.accessToken, body: { note: 'crew on the way' } });
      assert.equal(ack.status, 200);
      assert.equal(ack.body.state, 'acknowledged');
      await acked;
      const sil = await call(h, 'post', `/alarms/${id}/silence`, { token: operator.accessToken, body: { durationS: 3600 } });
      assert.equal(sil.body.silenced, true);
      assert.ok(Date.parse(sil.body.silencedUntil as string) > Date.now() + 3_500_000);
      h.hub.emit('alarm', { siteId: 'site-a', code: 'CELL_OVER_TEMP', severity: 'critical', message: 'back to 40 degC', source: 'edge-safety', ts: Date.now(), active: false });
      const done = await call<{ state: string; history: { event: string }[] }>(h, 'get', `/alarms/${id}`, { token: viewerA.accessToken });
      assert.equal(done.body.state, 'cleared');
      assert.deepEqual(done.body.history.map((e) => e.event), ['raised', 'acknowledged', 'silenced', 'cleared']);
      assert.equal((await call(h, 'post', `/alarms/${id}/ack`, { token: operator.accessToken, body: {} })).status, 409);
    });

    it('raises SITE_OFFLINE from the last will and clears it when the site is back', async () => {
      h.hub.emit('state', { v: 1, siteId: 'site-a', state: 'offline', ts: Date.now() });
      const site = await call(h, 'get', '/sites/site-a', { token: viewerA.accessToken });
      assert.equal(site.body.state, 'offline');
      const active = await call<{ alarms: { code: string }[] }>(h, 'get', '/alarms', { token: viewerA.accessToken, query: { state: 'active' } });
      assert.ok(active.body.alarms.some((a) => a.code === 'SITE_OFFLINE'));
      h.hub.emit('state', { v: 1, siteId: 'site-a', state: 'online', ts: Date.now() + 1 });
      const after = await call<{ alarms: { code: string }[] }>(h, 'get', '/alarms', { token: viewerA.accessToken, query: { state: 'active' } });
      assert.ok(!after.body.alarms.some((a) => a.code === 'SITE_OFFLINE'));
    });
  });

  describe('plans, telemetry and financial figures', () => {
    before(async () => {
      // Hour 1: discharge 2000 W (PCS 1940 W AC) at 100 EUR/MWh, SoC 80 -> 60; hour 2: charge at 20 EUR/MWh, SoC 60 -> 70.
      const records = [];
      for (let i = 0; i < 120; i++) {
        const discharging = i < 60;
        const soc = discharging ? 80 - (20 * i) / 59 : 60 + (10 * (i - 60)) / 59;
        records.push(record('site-f', 100 + i, t0 + i * 60_000, { powerW: discharging ? 2000 : -2000, soc }));
      }
      await h.store.write(records);
      h.hub.emit('plan', { siteId: 'site-f', plan: plan('site-f', t0, [100, 20]) });
    });

    it('serves the current plan with its parameters', async () => {
      const r = await call<{ parameters: { stepMinutes: number; steps: number; horizonEnd: string } }>(h, 'get', '/sites/site-f/plan', { token: viewerA.accessToken });
      assert.equal(r.status, 200);
      assert.equal(r.body.parameters.stepMinutes, 60);
      assert.equal(r.body.parameters.steps, 2);
      assert.equal(r.body.parameters.horizonEnd, new Date(t0 + 2 * 3_600_000).toISOString());
    });

    it('aggregates telemetry history per interval', async () => {
      const r = await call<{ buckets: { start: string; count: number; fields: Record<string, { mean: number }> }[] }>(h, 'get', '/sites/site-f/telemetry', {
        token: viewerA.accessToken, query: { from: new Date(t0).toISOString(), to: new Date(t0 + 2 * 3_600_000).toISOString(), every: '1h', fields: 'batteryPowerW,socPct' },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.buckets.map((b) => [b.start, b.count, b.fields.batteryPowerW?.mean]), [
        [new Date(t0).toISOString(), 60, 2000],
        [new Date(t0 + 3_600_000).toISOString(), 60, -2000],
      ]);
    });

    it('prices the AC energy with the plan prices: revenue, cost, cycles and degradation', async () => {
      const manager = await login(h, await createUser(h, 'manager@a.example', 'MANAGER', DEFAULT_ORG_ID));
      const r = await call<Record<string, number>>(h, 'get', '/sites/site-f/financial', {
        token: manager.accessToken, query: { from: new Date(t0).toISOString(), to: new Date(t0 + 2 * 3_600_000).toISOString(), degradationEurPerKwh: '0.02' },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      // 1940 W for 1 h out at 100 EUR/MWh; 1940 W for 1 h in at 20 EUR/MWh.
      assert.equal(r.body.dischargedWh, 1940);
      assert.equal(r.body.chargedWh, 1940);
      assert.equal(r.body.revenueEur, 0.194);
      assert.equal(r.body.costEur, 0.0388);
      assert.equal(r.body.arbitrageEur, 0.1552);
      // SoC travelled 20 %-points down and 10 up: 30 / 200 full cycles.
      assert.equal(r.body.fullCycles, 0.15);
      assert.equal(r.body.degradationCostEur, 0.0776);
      assert.equal(r.body.netEur, 0.0776);
      assert.equal(r.body.unpricedWh, 0);
      assert.equal(r.body.coveragePct, 100);
      assert.equal((await call(h, 'get', '/sites/site-f/financial', { token: viewerA.accessToken })).status, 403);
    });

    it('refuses a period before 1970 or longer than 366 days with a 400, also when only one end is given', async () => {
      const manager = await login(h, await createUser(h, 'manager2@a.example', 'MANAGER', DEFAULT_ORG_ID));
      const periods: Record<string, string>[] = [{ from: '1969-12-31T23:59:59.999Z' }, { from: '2000-01-01T00:00:00Z' }, { to: '1969-06-01T00:00:00Z' }];
      for (const query of periods) {
        const r = await call<{ error: string; message: string }>(h, 'get', '/sites/site-f/financial', { token: manager.accessToken, query });
        assert.equal(r.status, 400, `${JSON.stringify(query)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error, 'invalid_request');
      }
    });
  });

  describe('OpenAPI', () => {
    it('documents every route of the table with its roles and the zod schemas of its input', async () => {
      const r = await call<{ openapi: string; paths: Record<string, Record<string, { operationId: string; 'x-roles': string[]; requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> }>(h, 'get', '/openapi.json');
      assert.equal(r.body.openapi, '3.1.0');
      const ops = Object.values(r.body.paths).flatMap((p) => Object.values(p));
      assert.deepEqual(ops.map((o) => o.operationId).sort(), [...ROUTE_IDS].sort());
      const login = r.body.paths['/auth/login']?.post;
      assert.deepEqual(Object.keys(login?.requestBody?.content['application/json']?.schema.properties ?? {}), ['email', 'password', 'totp', 'recoveryCode']);
      assert.deepEqual(r.body.paths['/users/{id}/reset-2fa']?.post?.['x-roles'], ['SUPER_ADMIN']);
      assert.equal(ROUTES.sendCommand.path, '/sites/:id/commands');
    });
  });
});
