// Handlers of the fleet routes: sites, telemetry, commands, plans, financial, alarms.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { CommandAck, CommandBody } from '../../domain/contracts';
import { freshness } from '../../domain/freshness';
import { FleetUnavailableError } from '../../io/fleet-hub';
import type { LatestPoint, TimeseriesStore } from '../../io/timeseries/store';
import { ApiError, forbidden, notFound, unavailable } from './errors';
import { financialSummary, type PowerInterval } from './financial';
import { mayReset, RESET_ROLES } from '../../domain/arbiter/operator';
import type { Handlers, Services } from './services';
import type { SiteRow } from './sites';
import type { Principal } from './tokens';

type FleetRoutes =
  | 'listSites' | 'createSite' | 'getSite' | 'updateSite' | 'latestTelemetry' | 'telemetryHistory' | 'sendCommand' | 'listCommands'
  | 'sitePlan' | 'siteFinancial' | 'listAlarms' | 'getAlarm' | 'ackAlarm' | 'ackAlarmEpisode' | 'ackSiteAlarms' | 'silenceAlarm';

/**
 * How long a command may travel before the site must treat it as void (SignedCommand.expiresAt):
 * a command the site receives later than this was meant for another moment and must not run.
 */
export const COMMAND_VALID_S = 30;
/** How long a setpoint holds at the site when the request gives no expiresInS. */
export const DEFAULT_SETPOINT_S = 900;
/** The longest period a financial summary covers, as the period query allows. */
const MAX_FINANCIAL_SPAN_MS = 366 * 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString();

function store(s: Services): TimeseriesStore {
  const st = s.store;
  if (!st) throw unavailable('no time-series store: this cloud runtime was started without one');
  return st;
}

async function timed<T>(s: Services, op: string, f: () => Promise<T>): Promise<T> {
  const end = s.metrics.storeLatency.startTimer({ op });
  try {
    return await f();
  } finally {
    end();
  }
}

function latestView(p: LatestPoint | undefined) {
  return p ? { ts: iso(p.ts), seq: p.seq, fields: p.fields } : null;
}

/**
 * How fresh the site's data is now: the newest of its last record and the latest stored point,
 * judged by the cloud's limits (domain/freshness.ts), which the dashboard applies as time passes.
 */
function siteFreshness(s: Services, lastSeen: string | null, latest: LatestPoint | undefined) {
  const ts = Math.max(lastSeen ? Date.parse(lastSeen) : 0, latest?.ts ?? 0) || null;
  return { state: freshness(ts, Date.now(), s.freshness), lastDataAt: ts === null ? null : iso(ts), ...s.freshness };
}

async function siteOf(s: Services, id: string): Promise<SiteRow> {
  const row = await s.sites.get(id);
  if (!row) throw notFound(`site ${id}`);
  return row;
}

function toCommandBody(c: { type: 'setpoint' | 'mode' | 'estop' | 'reset'; powerW?: number | undefined; mode?: 'auto' | 'standby' | undefined; expiresInS?: number | undefined; resume?: boolean | undefined }): CommandBody {
  switch (c.type) {
    case 'setpoint':
      return { type: 'setpoint', powerW: c.powerW as number, durationS: c.expiresInS ?? DEFAULT_SETPOINT_S };
    case 'mode':
      return c.expiresInS === undefined ? { type: 'mode', mode: c.mode as 'auto' | 'standby' } : { type: 'mode', mode: c.mode as 'auto' | 'standby', durationS: c.expiresInS };
    case 'estop':
      return { type: 'estop' };
    case 'reset':
      // Signed with the rest of the body: the site resumes automatic operation only when asked to.
      return { type: 'reset', resume: c.resume ?? false };
  }
}

export function fleetHandlers(s: Services): Pick<Handlers, FleetRoutes> {
  const visibleIds = async (p: Principal) => (await s.sites.visible(p)).map((r) => r.id);

  return {
    async listSites({ principal }) {
      const rows = await s.sites.visible(principal);
      const st = s.store;
      const latest = st && rows.length ? await timed(s, 'latest', () => st.latest(rows.map((r) => r.id))) : [];
      const byId = new Map(latest.map((p) => [p.siteId, p]));
      return {
        body: {
          sites: rows.map((r) => {
            const v = s.sites.view(r);
            const p = byId.get(r.id);
            return { ...v, latest: latestView(p), freshness: siteFreshness(s, v.lastSeen, p) };
          }),
        },
      };
    },

    async createSite({ principal, body }) {
      const orgId = body.orgId ?? principal.orgId;
      if (orgId !== principal.orgId && principal.role !== 'SUPER_ADMIN') throw forbidden('only a SUPER_ADMIN registers sites for another organisation');
      const row = await s.sites.create({ id: body.id, orgId, name: body.name, lat: body.lat, lon: body.lon });
      s.visibilityChanged();
      return { status: 201, body: s.sites.view(row), audit: { target: row.id } };
    },

    async getSite({ params }) {
      const row = await siteOf(s, params.id);
      const st = s.store;
      const latest = st ? (await timed(s, 'latest', () => st.latest([row.id])))[0] : undefined;
      const openAlarms = await s.alarms.openCount(row.id);
      const v = s.sites.view(row);
      const plan = (await s.plans.latest(row.id)) !== null;
      return { body: { ...v, latest: latestView(latest), freshness: siteFreshness(s, v.lastSeen, latest), openAlarms, plan } };
    },

    async updateSite({ params, body }) {
      return { body: s.sites.view(await s.sites.update(params.id, body)) };
    },

    async latestTelemetry({ params }) {
      await siteOf(s, params.id);
      const st = store(s);
      const p = (await timed(s, 'latest', () => st.latest([params.id])))[0];
      if (!p) throw notFound(`telemetry of site ${params.id}`);
      return { body: { siteId: p.siteId, ...latestView(p) } };
    },

    async telemetryHistory({ params, query }) {
      const st = store(s);
      const r = await timed(s, 'range', () =>
        st.range({ siteId: params.id, from: query.from, to: query.to, everyMs: query.every, ...(query.fields ? { fields: query.fields } : {}) }),
      );
      return { body: { siteId: r.siteId, everyMs: r.everyMs, fields: r.fields, buckets: r.buckets.map((b) => ({ ...b, start: iso(b.start) })) } };
    },

    async sendCommand({ params, body, principal }) {
      // The edge's operator-command applies the same function to the same command (README, "Safety and arbitration").
      if (body.type === 'reset' && !mayReset(principal.role)) {
        throw forbidden(`releasing an e-stop needs commands:reset (${RESET_ROLES.join(', ')}); you are ${principal.role}`);
      }
      if (!s.hub.canSendCommands) throw unavailable('no command path: the cloud flow has no fleet-hub wired to a command-out node');
      const id = `api-${randomUUID()}`;
      const cmd = toCommandBody(body);
      await s.db.run(sql`INSERT INTO commands (id, site_id, user_id, body, issued_at) VALUES (${id}, ${params.id}, ${principal.userId}, ${JSON.stringify(cmd)}, ${Date.now()})`);
      let ack: CommandAck;
      try {
        ack = await s.hub.sendCommand({ siteId: params.id, body: cmd, by: principal.email, role: principal.role, expiresInS: COMMAND_VALID_S, id });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        await s.db.run(sql`UPDATE commands SET outcome = 'error', reason = ${reason.slice(0, 500)}, acked_at = ${Date.now()} WHERE id = ${id}`);
        if (err instanceof FleetUnavailableError) throw unavailable(reason);
        throw new ApiError(502, 'command_failed', `the command path failed: ${reason}`, { id });
      }
      await s.db.run(sql`UPDATE commands SET outcome = ${ack.outcome}, reason = ${ack.reason ?? null}, acked_at = ${ack.ts} WHERE id = ${id}`);
      s.metrics.commands.inc({ type: cmd.type, outcome: ack.outcome });
      const audit = { target: params.id, details: { id, command: cmd, outcome: ack.outcome } };
      if (ack.outcome === 'executed' || ack.outcome === 'accepted') return { body: { id, outcome: ack.outcome, ack }, audit };
      if (ack.outcome === 'rejected') throw new ApiError(409, 'command_rejected', `the site rejected the command: ${ack.reason ?? 'no reason given'}`, { id, ack });
      throw new ApiError(504, 'command_timeout', `the site did not answer in time${ack.reason ? `: ${ack.reason}` : ''}`, { id, ack });
    },

    async listCommands({ params, query }) {
      // Commands of one millisecond in the order they were issued: SQLite's rowid, PostgreSQL's seq (migrations.ts).
      const issueOrder = s.db.dialect === 'sqlite' ? sql`c.rowid` : sql`c.seq`;
      const rows = await s.db.all<{ id: string; body: string; issued_at: number; outcome: string | null; reason: string | null; acked_at: number | null; email: string | null }>(
        sql`SELECT c.*, u.email FROM commands c LEFT JOIN users u ON u.id = c.user_id WHERE c.site_id = ${params.id}
          ORDER BY c.issued_at DESC, ${issueOrder} DESC LIMIT ${query.limit ?? 100}`,
      );
      return {
        body: {
          commands: rows.map((c) => ({
            id: c.id, body: JSON.parse(c.body) as unknown, issuedAt: iso(c.issued_at), by: c.email, outcome: c.outcome, reason: c.reason,
            ackedAt: c.acked_at === null ? null : iso(c.acked_at),
          })),
        },
      };
    },

    async sitePlan({ params }) {
      const plan = await s.plans.latest(params.id);
      if (!plan) throw notFound(`a plan for site ${params.id} (the site has not published one yet)`);
      const first = plan.steps[0];
      const last = plan.steps[plan.steps.length - 1];
      return {
        body: {
          siteId: params.id,
          plan,
          parameters: {
            computedAt: iso(plan.ts), stepMinutes: plan.stepMinutes, steps: plan.steps.length,
            horizonStart: first ? iso(first.start) : null, horizonEnd: last ? iso(last.start + plan.stepMinutes * 60_000) : null,
            objectiveEur: plan.objectiveEur, solveMs: plan.solveMs, reason: plan.reason,
          },
        },
      };
    },

    async siteFinancial({ params, query }) {
      const st = store(s);
      const to = query.to ?? Date.now();
      const from = query.from ?? Math.max(0, to - 86_400_000);
      if (to <= from) throw new ApiError(400, 'invalid_request', 'query.to: to must be after from');
      // The query's own check covers from and to given together; one of them given alone counts too.
      if (to - from > MAX_FINANCIAL_SPAN_MS) throw new ApiError(400, 'invalid_request', 'query.to: at most 366 days');
      // 60 s intervals (finer than any price step), coarser only to stay within the store's 10000.
      const everyMs = Math.max(60_000, Math.ceil((to - from) / 10_000 / 60_000) * 60_000);
      const r = await timed(s, 'range', () => st.range({ siteId: params.id, from, to, everyMs, fields: ['pcsPowerW', 'batteryPowerW', 'socPct'] }));
      const intervals: PowerInterval[] = r.buckets.map((b) => ({
        start: b.start,
        powerW: b.fields.pcsPowerW?.mean ?? b.fields.batteryPowerW?.mean ?? null,
        socPct: b.fields.socPct?.mean ?? null,
      }));
      const summary = financialSummary(intervals, { from, to }, await s.plans.prices(params.id, from, to), query.degradationEurPerKwh);
      return { body: { siteId: params.id, from: iso(from), to: iso(to), intervalMs: everyMs, ...summary } };
    },

    async listAlarms({ principal, query }) {
      let ids = await visibleIds(principal);
      if (query.siteId !== undefined) ids = ids.filter((id) => id === query.siteId);
      const alarms = await s.alarms.list({ siteIds: ids, state: query.state, severity: query.severity, from: query.from, to: query.to, limit: query.limit ?? 200 });
      // Each alarm's notifications, as the alarm page shows them (runtime/notify).
      const delivery = await s.notifier.deliveryOf(alarms.map((a) => a.id));
      return { body: { alarms: alarms.map((a) => ({ ...a, delivery: delivery.get(a.id) })) } };
    },

    async getAlarm({ params }) {
      const a = await s.alarms.get(params.id);
      if (!a) throw notFound(`alarm ${params.id}`);
      const history = await s.alarms.history(params.id);
      const delivery = (await s.notifier.deliveryOf([a.id])).get(a.id);
      return { body: { ...a, history, delivery, notifications: await s.notifier.deliveriesOf(a.id) } };
    },

    async ackAlarm({ params, body, principal }) {
      const a = await s.alarms.ack(params.id, principal.email, body.note ?? null);
      return { body: a, audit: { target: `alarm ${params.id} (${a.siteId} ${a.code})` } };
    },

    async ackAlarmEpisode({ params, body, principal }) {
      const episode = await s.alarms.ackEpisode(params.id, principal.email, body.note ?? null);
      const root = episode.find((a) => a.id === a.episodeId) ?? episode[0];
      return {
        body: { episodeId: root?.episodeId ?? params.id, alarms: episode },
        audit: { target: `alarm episode ${root?.episodeId ?? params.id} (${root?.siteId ?? '?'} ${root?.code ?? '?'})`, details: { alarms: episode.map((a) => a.id) } },
      };
    },

    async ackSiteAlarms({ params, body, principal }) {
      await siteOf(s, params.id);
      const acked = await s.alarms.ackSite(params.id, principal.email, body.note ?? null);
      return { body: { siteId: params.id, alarms: acked }, audit: { target: `alarms of site ${params.id}`, details: { alarms: acked.map((a) => a.id) } } };
    },

    async silenceAlarm({ params, body, principal }) {
      const a = await s.alarms.silence(params.id, principal.email, Date.now() + body.durationS * 1000, body.note ?? null);
      return { body: a, audit: { target: `alarm ${params.id} (${a.siteId} ${a.code})`, details: { durationS: body.durationS } } };
    },
  };
}
