// The cloud API: createCloudApi() opens the cloud database (<dataDir>/cloud.db, or the PostgreSQL
// of --database-url), listens to the fleet hub (sites, alarms, plans, realtime) and returns the /api/v1 router, the realtime channel's attach
// function, the editor's adminAuth, the /metrics handler and close(). See README section "API".
import type { Server as HttpServer } from 'node:http';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { sql } from 'kysely';
import type { Server as IoServer } from 'socket.io';
import { healthBody, type HealthInfo } from '../api/health';
import type { FleetEvents, FleetHub } from '../../io/fleet-hub';
import type { TimeseriesStore } from '../../io/timeseries/store';
import type { Secrets } from '../secrets';
import { adminHandlers } from '../api/admin-handlers';
import { AlarmRules, AlarmStore, DEFAULT_ALARM_LIMITS, type AlarmRuleLimits } from '../api/alarms';
import { cloudLimits, type FreshnessLimits } from '../../domain/freshness';
import { AuditLog } from '../api/audit';
import { authHandlers } from '../api/auth-handlers';
import { cloudDbPath, maskDatabaseUrl, openCloudDb, type CloudDb } from '../cloud-db/cloud-db';
import { editorAdminAuth, editorSignInHandler, type EditorAdminAuth } from '../api/editor-auth';
import { LoginThrottle, type ThrottleLimits } from '../api/login-throttle';
import { joinCloudCluster } from '../cloud-db/cluster';
import { fleetHandlers } from '../api/fleet-handlers';
import { reportHandlers } from '../api/report-handlers';
import { settingsHandlers } from '../api/settings-handlers';
import { ApiMetrics } from '../api/metrics';
import { mlHandlers } from '../api/ml-handlers';
import { CloudMl, type CloudMlOptions } from '../ml/cloud-ml';
import { InsightStore } from '../ml/insight-store';
import { openApiDocument } from '../api/openapi';
import { otaHandlers } from '../api/ota-handlers';
import { OtaCloud, type OtaTransport } from '../ota/ota-cloud';
import { BCRYPT_COST, decoyHash } from '../api/passwords';
import { hasPermission } from '../../domain/permissions';
import { PlanStore } from '../api/plans';
import { RealtimeChannel } from '../api/realtime';
import { buildRouter, DEFAULT_RATE_LIMITS, editorLoginLimiter, type RateLimits } from '../api/router';
import type { Handlers, Services } from '../api/services';
import { SiteStore } from '../api/sites';
import { TokenService } from '../api/tokens';
import { SecretBox } from '../api/totp';
import { UserStore } from '../api/users';
import { createFirstAdmin } from '../api/first-user';
import { notificationHandlers } from '../api/notification-handlers';
import { smtpSender } from '../notify/mailer';
import { MonthlyMailing } from '../notify/monthly-mailing';
import { Notifier } from '../notify/notifier';
import { WebhookStore } from '../notify/webhooks';

export { INITIAL_ADMIN_EMAIL } from '../api/first-user';

export interface CloudApiOptions {
  dataDir: string;
  /** The cloud database: a PostgreSQL URL (postgres://...) or a SQLite file; default <dataDir>/cloud.db. */
  database?: string | undefined;
  hub: FleetHub;
  /** The time-series store the host opened, which the flow writes and the API reads; null = none (503). */
  store?: TimeseriesStore | null;
  secrets: Secrets;
  /** Serve /metrics to loopback clients without a token (default true); others need metrics:read. */
  trustLoopbackMetrics?: boolean;
  /**
   * The HTTP server sits behind a reverse proxy (Express's `trust proxy` is set): every client
   * arrives from the proxy, often loopback, so /metrics trusts no address and wants a token.
   */
  behindProxy?: boolean;
  /** Length of an editor session, hours (default EDITOR_SESSION_HOURS). */
  editorSessionHours?: number;
  /** The per-account brake on login guesses (tests shorten it). */
  loginThrottle?: Partial<ThrottleLimits>;
  /** How often the realtime channel checks its users' sessions, ms (default 2000). */
  sessionCheckMs?: number;
  /** What GET /health reports (the runtime's healthBody); default a bare cloud status. */
  health?: HealthInfo;
  rateLimits?: Partial<RateLimits>;
  alarmLimits?: Partial<AlarmRuleLimits>;
  /** When a site's telemetry is stale and its link lost (default cloudLimits(): 5 s and 12 s at 1 Hz). */
  freshness?: FreshnessLimits;
  /**
   * bcrypt cost of new password hashes, default 12. Lower it only in tests (cost 4 takes ~1 ms
   * instead of ~250 ms); it is an explicit option and no environment variable reaches it.
   */
  bcryptCost?: number;
  /** Where the first start's generated SUPER_ADMIN password is printed (default stdout). */
  print?: (line: string) => void;
  /** Server-side error log (default stderr). */
  log?: (line: string) => void;
  /** OTA: how notices reach the sites, the URL sites download bundles from, the broker for provisioned devices. */
  ota?: { transport?: OtaTransport | null; publicUrl?: string; mqttUrl?: string; now?: () => number; tickMs?: number };
  /** The cloud's forecasting and retraining: schedule, site calendar, initial model. */
  ml?: Omit<CloudMlOptions, 'dataDir' | 'store' | 'insights' | 'sites' | 'log'>;
  /** Alarm notifications (README, "Notifications"): the SMTP server, escalation and retry times. */
  notify?: NotifySettings;
}

export interface NotifySettings {
  /** smtp[s]://[user:pass@]host:port; none = no e-mail (webhooks still work). */
  smtpUrl?: string | undefined;
  smtpFrom?: string | undefined;
  /** Seconds a critical alarm may stay unacknowledged before the next role up is told (default 900). */
  escalateAfterS?: number | undefined;
  /** First retry delay of a failed delivery, s, doubling up to 64x (default 30). */
  retryS?: number | undefined;
  /** How often the queue is looked at, ms (default 1000). */
  tickMs?: number | undefined;
}

export const DEFAULT_SMTP_FROM = 'LiFePO4 EMS <lifo4@localhost>';
export const DEFAULT_ESCALATE_AFTER_S = 900;
export const DEFAULT_NOTIFY_RETRY_S = 30;

export interface CloudApi {
  /** Mount at /api/v1. */
  router: Router;
  /** Starts socket.io on the runtime's http.Server at /api/v1/realtime. */
  attachRealtime(server: HttpServer): IoServer;
  /** Node-RED settings.adminAuth. */
  editorAdminAuth: EditorAdminAuth;
  /** Mount at GET /metrics. */
  metricsHandler: RequestHandler;
  /**
   * Mount at /editor/auth ahead of Node-RED: the editor's sign-in, with the per-address limit of
   * failures and the per-account brake, and its sign-out (editor-auth.ts, editorSignInHandler).
   */
  editorSignIn: Router;
  db: CloudDb;
  metrics: ApiMetrics;
  /**
   * Resolves once every hub event received so far is in the database: the ingest writes each
   * site's events in the order they arrive, while the hub's emit returns at once.
   */
  settled(): Promise<void>;
  /** OTA bundle store, roll-outs and provisioning. */
  ota: OtaCloud;
  /** Forecasts, SoH, anomaly scores and model versions in cloud.db; the cloud's own forecasting and retraining. */
  insights: InsightStore;
  ml: CloudMl;
  /** Alarm notifications; enqueueMail() sends any e-mail (with attachments) through the durable queue. */
  notifier: Notifier;
  /** Last month's reports by e-mail to those who asked (null without a time-series store or SMTP). */
  monthlyMailing: MonthlyMailing | null;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export async function createCloudApi(opts: CloudApiOptions): Promise<CloudApi> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const cost = opts.bcryptCost ?? BCRYPT_COST;
  const target = opts.database ?? cloudDbPath(opts.dataDir);
  let db: CloudDb;
  try {
    db = await openCloudDb(target);
  } catch (err) {
    // The message names the database without its password.
    throw new Error(`cloud database ${maskDatabaseUrl(target)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Several cloud processes on one PostgreSQL: the event bus, the leases, the shared login brake.
  const cluster = await joinCloudCluster(db, log);
  const users = new UserStore(db, cost);
  const tokens = new TokenService(db, users, opts.secrets.jwtSecret);
  const sites = new SiteStore(db);
  const alarms = new AlarmStore(db);
  const audit = new AuditLog(db);
  const plans = new PlanStore(db);
  const insights = new InsightStore(db);
  const totpKey = typeof opts.secrets.totpKey === 'string' && opts.secrets.totpKey.length >= 32 ? opts.secrets.totpKey : opts.secrets.jwtSecret;
  const box = new SecretBox(totpKey);
  const hub = opts.hub;
  const store = opts.store ?? null;
  const metrics = new ApiMetrics({
    openAlarms: () => alarms.openCounts(),
    sitesByState: () => sites.countByState(),
    storeQueued: () => store?.health().queued ?? null,
  });
  const realtime = new RealtimeChannel(tokens, sites, (n) => metrics.realtimeClients.set(n), {
    userById: (id) => users.byId(id), ...(opts.sessionCheckMs !== undefined ? { everyMs: opts.sessionCheckMs } : {}),
  }, cluster.bus);
  const throttle = new LoginThrottle(opts.loginThrottle, undefined, cluster.loginAccounts);
  const fresh = opts.freshness ?? cloudLimits();
  const webhooks = new WebhookStore(db, box);
  const escalateAfterS = opts.notify?.escalateAfterS ?? DEFAULT_ESCALATE_AFTER_S;
  const retryMs = (opts.notify?.retryS ?? DEFAULT_NOTIFY_RETRY_S) * 1000;
  const notifier = new Notifier({
    db, alarms, sites, webhooks, log,
    mail: opts.notify?.smtpUrl ? smtpSender(opts.notify.smtpUrl, opts.notify.smtpFrom ?? DEFAULT_SMTP_FROM) : null,
    escalateAfterMs: escalateAfterS * 1000,
    backoff: { baseMs: retryMs, maxMs: retryMs * 64 },
    ...(opts.notify?.tickMs !== undefined ? { tickMs: opts.notify.tickMs } : {}),
  });
  const monthlyMailing = store && notifier.emailConfigured
    ? new MonthlyMailing({ db, sites, notifier, store, prices: (id, from, to) => plans.prices(id, from, to), log })
    : null;
  const services: Services = {
    db, users, tokens, sites, alarms, audit, plans, hub, store, box, metrics, throttle, freshness: fresh, notifier, webhooks,
    decoyHash: await decoyHash(cost),
    visibilityChanged: () => realtime.visibilityChanged(),
  };

  await createFirstAdmin(users, 'cloud', opts.print ?? ((line) => console.log(line)));
  const ota = await OtaCloud.create({
    dataDir: opts.dataDir, db, log,
    changed: (id) => realtime.ota(id),
    transport: opts.ota?.transport ?? null,
    publicUrl: opts.ota?.publicUrl ?? 'http://127.0.0.1:1880/api/v1',
    mqttUrl: opts.ota?.mqttUrl ?? 'mqtt://127.0.0.1:1883',
    ...(opts.ota?.now ? { now: opts.ota.now } : {}),
    ...(opts.ota?.tickMs !== undefined ? { tickMs: opts.ota.tickMs } : {}),
  });

  // ---- what the sites send, through the hub
  // The alarm rules run where the 'alarms' lease is held, and start afresh from the database there.
  const startRules = async () => {
    const started = new AlarmRules(alarms, { ...DEFAULT_ALARM_LIMITS, ...opts.alarmLimits }, fresh);
    for (const r of await db.all<{ id: string; last_seen: number }>(sql`SELECT id, last_seen FROM sites WHERE last_seen IS NOT NULL`)) started.knownSince(r.id, r.last_seen);
    return started;
  };
  let rules = await startRules();
  const ruling = () => cluster.alarmLease.isHolder();
  cluster.alarmLease.onChange((held) => void (held ? alarms.reload().then(startRules).then((r) => { rules = r; }) : undefined));
  alarms.on('change', (a, event) => realtime.alarm(a, event));
  // The link rule: a second is finer than any limit it checks (seconds at 1 Hz telemetry). A
  // tick still running (a slow database) is not run over by the next.
  let ticking = false;
  const linkTimer = setInterval(() => {
    if (ticking || !ruling()) return;
    ticking = true;
    rules.tick(Date.now())
      .catch((err: unknown) => log(`api: link rule: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`))
      .finally(() => {
        ticking = false;
      });
  }, Math.min(1000, fresh.staleAfterMs));
  linkTimer.unref();
  // Each site's events are handled one after another in the order they came, as the synchronous
  // store did (its state, alarms and records keep their order in the database); different sites'
  // go side by side, so one site's database round trips do not hold up the others'.
  const chains = new Map<string, Promise<void>>();
  const guard = <A extends [{ siteId: string }, ...unknown[]]>(kind: string, f: (...args: A) => Promise<void> | void) => (...args: A) => {
    metrics.ingest.inc({ kind });
    const site = args[0].siteId;
    const next = (chains.get(site) ?? Promise.resolve()).then(async () => {
      try {
        await f(...args);
      } catch (err) {
        // A listener's exception would surface in the flow node that emitted: log it, keep going.
        log(`api: hub ${kind} event: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    });
    chains.set(site, next);
    void next.then(() => {
      if (chains.get(site) === next) chains.delete(site);
    });
  };
  const settled = async (): Promise<void> => {
    while (chains.size > 0) await Promise.all(chains.values());
  };
  const seen = async (siteId: string) => {
    if (await sites.ensure(siteId)) realtime.visibilityChanged();
  };
  const listeners: { [K in keyof FleetEvents]: (...args: FleetEvents[K]) => void } = {
    record: guard('record', async (r) => {
      await seen(r.siteId);
      await sites.seen(r.siteId, r.ts);
      realtime.record(r);
      if (ruling()) await rules.onRecord(r);
      await insights.ingest(r);
    }),
    alarm: guard('alarm', async (a) => {
      await seen(a.siteId);
      if (ruling()) await rules.onSiteAlarm(a);
    }),
    state: guard('state', async (st) => {
      await seen(st.siteId);
      await sites.setState(st.siteId, st.state, st.ts);
      realtime.state(st);
      if (ruling()) await rules.onState(st);
    }),
    ack: guard('ack', (a) => realtime.ack(a)),
    plan: guard('plan', async ({ siteId, plan }) => {
      await seen(siteId);
      await plans.save(siteId, plan);
      realtime.plan(siteId, plan);
    }),
  };
  hub.on('record', listeners.record);
  hub.on('alarm', listeners.alarm);
  hub.on('state', listeners.state);
  hub.on('ack', listeners.ack);
  hub.on('plan', listeners.plan);
  // Records other cloud processes took from the shared ingest queue reach the alarm rules here.
  const offRemote = realtime.onRemoteRecord(guard('remote-record', async (r) => {
    if (ruling()) await rules.onRecord(r);
  }));
  const ml = new CloudMl({
    ...opts.ml, dataDir: opts.dataDir, store: () => store, insights, log,
    sites: () => sites.ids(), lease: cluster.retrainLease,
  });
  // The models open now, in the start-up, not in the middle of the ingest.
  await ml.start();

  // ---- HTTP
  const openapi = openApiDocument(opts.health?.version ?? '0');
  const handlers: Handlers = {
    health: () => {
      const body = opts.health ? healthBody(opts.health) : { status: 'ok', role: 'cloud' };
      return body.status === 'ok' ? { body } : { status: 503, body };
    },
    openapi: () => ({ body: openapi }),
    ...authHandlers(services),
    ...fleetHandlers(services),
    ...reportHandlers(services),
    ...settingsHandlers(services),
    ...adminHandlers(services),
    ...otaHandlers(services, ota),
    ...mlHandlers(services, { insights, offsetMs: ml.offsetMs }),
    ...notificationHandlers(services, { escalateAfterS }),
  };
  const limits = { ...DEFAULT_RATE_LIMITS, ...opts.rateLimits };
  const built = buildRouter(services, handlers, limits, log, cluster.rateStores);
  const editorLimit = editorLoginLimiter(limits, cluster.rateStores);

  const trustLoopback = (opts.trustLoopbackMetrics ?? true) && !opts.behindProxy;
  const metricsHandler: RequestHandler = (req: Request, res: Response) => {
    void (async () => {
      if (!(trustLoopback && LOOPBACK.has(req.socket.remoteAddress ?? ''))) {
        const h = req.headers.authorization;
        const p = typeof h === 'string' && h.startsWith('Bearer ') ? await tokens.verifyAccess(h.slice(7)) : null;
        if (!p) return void res.status(401).json({ error: 'unauthorized', message: '/metrics needs a loopback client or an access token with metrics:read' });
        if (!hasPermission(p.role, 'metrics:read')) return void res.status(403).json({ error: 'forbidden', message: `/metrics needs metrics:read, which a ${p.role} does not hold` });
      }
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.end(await metrics.registry.metrics());
    })().catch((err: unknown) => {
      log(`api: /metrics: ${String(err)}`);
      if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'metrics collection failed' });
    });
  };

  const editorAuth = editorAdminAuth({
    users, tokens, box, audit, throttle, decoyHash: services.decoyHash,
    ...(opts.editorSessionHours !== undefined ? { sessionHours: opts.editorSessionHours } : {}),
  });

  let closed = false;
  return {
    // Bundle files (with Range) ahead of the JSON route table, which answers 404 for anything else.
    router: express.Router().use(ota.fileRouter).use(built.router),
    attachRealtime: (server) => realtime.attach(server),
    editorAdminAuth: editorAuth,
    metricsHandler,
    editorSignIn: editorSignInHandler(editorAuth, tokens, editorLimit.mw),
    db,
    metrics,
    settled,
    ota,
    insights,
    ml,
    notifier,
    monthlyMailing,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(linkTimer);
      hub.off('record', listeners.record);
      hub.off('alarm', listeners.alarm);
      hub.off('state', listeners.state);
      hub.off('ack', listeners.ack);
      hub.off('plan', listeners.plan);
      await settled();
      built.close();
      editorLimit.close();
      await ota.close();
      await ml.close();
      await monthlyMailing?.close();
      await notifier.close();
      offRemote();
      await realtime.close();
      await cluster.close();
      metrics.registry.clear();
      await sites.flush();
      await db.close();
    },
  };
}
