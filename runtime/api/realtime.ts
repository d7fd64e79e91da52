// Realtime push over socket.io at /api/v1/realtime. A client connects with its access token
// (`io(url, { path: '/api/v1/realtime', auth: { token } })`) and receives, for the sites it may
// see and the permissions its role holds (permissions.ts, the same table as the routes):
//   telemetry  {siteId, seq, ts, fields, decision?, envelope?}     (telemetry:read)
//   alarm      {event, alarm}                                      (alarms:read)
//   command-ack CommandAck (accepted, then executed/rejected/timeout) (commands:read)
//   plan       {siteId, plan}                                      (plans:read)
//   site-state {siteId, state, ts}                                 (sites:read)
//   ota        {deploymentId}: a roll-out changed                  (ota:deploy)
// On connect it gets `hello` {user, sites}. The connection closes when the token runs out (the
// client reconnects with a refreshed one). When the user's session ends (role, password or 2FA
// changed, disabled: token_version moved), the socket gets `session-ended` {reason} and closes,
// also when another process (`lifo4 user ...`) made the change: every `sessionCheckMs` the
// channel reads the token_version of the users it has sockets for, one query per user.
//
// Several cloud processes (docs/ARCHITECTURE.md, "Leases and the event bus"): what only one
// process learns goes through the event bus to all of them, and each hands it to its own sockets,
// so a dashboard sees the same whichever process it is connected to: a telemetry record (the
// shared ingest queue gives each record to one process), an alarm change (raised by the process
// holding the alarm lease, acknowledged through any API), a roll-out change, and who sees which
// site. Command acks, site states and plans reach every process from the broker already (each
// subscribes to them on its own queue), so they go to the local sockets only.
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { CommandAck, Plan, SiteState, TelemetryRecord } from '../../domain/contracts';
import { flattenRecord } from '../../io/timeseries/fields';
import type { AlarmEventView, AlarmView } from './alarms';
import { hasPermission, type Permission } from '../../domain/permissions';
import { REALTIME_EVENTS, REALTIME_PATH, REALTIME_SESSION_ENDED, type RealtimeEvent } from '../../domain/realtime';
import type { EventBus } from '../cloud-db/events';
import type { SiteStore } from './sites';
import type { Principal, TokenService } from './tokens';
import type { UserRow } from './users';

interface SocketData {
  token: string;
  principal: Principal;
  sites: Set<string>;
  version: number;
  expiry?: NodeJS.Timeout;
}

type LiveSocket = Socket<Record<string, never>, Record<string, (payload: unknown) => void>, Record<string, never>, SocketData>;

type MaybePromise<T> = T | Promise<T>;

/** The event bus channels of the realtime events that fan out across processes. */
export const REALTIME_BUS = {
  record: 'realtime:record', alarm: 'realtime:alarm', ota: 'realtime:ota', visibility: 'realtime:visibility',
} as const;

interface BusAlarm { alarm: AlarmView; event: AlarmEventView['event'] }

export interface SessionCheck {
  /** The user's row now (cloud.db, which `lifo4 user` may change from another process). */
  userById: (id: string) => MaybePromise<UserRow | undefined>;
  /** How often open sockets' sessions are checked, ms (default 2000). */
  everyMs?: number;
}

export class RealtimeChannel {
  #io: Server | null = null;
  #version = 0;
  #sessionTimer: NodeJS.Timeout | undefined;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #remoteRecords = new Set<(r: TelemetryRecord) => void>();

  constructor(
    private readonly tokens: TokenService,
    private readonly sites: SiteStore,
    private readonly onClients: (n: number) => void,
    private readonly sessions?: SessionCheck,
    /** The cloud processes' event bus; none = this process alone. */
    private readonly bus?: EventBus,
  ) {
    if (!bus) return;
    this.#unsubscribe.push(
      bus.subscribe(REALTIME_BUS.record, (r) => this.remoteRecord(r as TelemetryRecord)),
      bus.subscribe(REALTIME_BUS.alarm, (m) => this.deliverAlarm(m as BusAlarm)),
      bus.subscribe(REALTIME_BUS.ota, (id) => this.deliver(null, 'ota:deploy', REALTIME_EVENTS.ota, { deploymentId: id })),
      bus.subscribe(REALTIME_BUS.visibility, () => this.localVisibilityChanged()),
    );
  }

  /**
   * Records another cloud process received (the shared ingest queue gives each record to one
   * process): the cloud's alarm rules, which run on one process, see every site's telemetry this
   * way. Returns the unsubscribe.
   */
  onRemoteRecord(cb: (r: TelemetryRecord) => void): () => void {
    this.#remoteRecords.add(cb);
    return () => this.#remoteRecords.delete(cb);
  }

  #localRecord: TelemetryRecord | null = null;

  private remoteRecord(r: TelemetryRecord): void {
    this.deliverRecord(r);
    // The bus hands this process's own publishes to its subscribers too (synchronously, inside
    // record()): only other processes' records reach the callbacks.
    if (r === this.#localRecord) return;
    for (const cb of this.#remoteRecords) cb(r);
  }

  /** Ends the sockets of users whose session ended; resolves to how many it closed. */
  async checkSessions(): Promise<number> {
    const io = this.#io;
    const users = this.sessions?.userById;
    if (!io || !users) return 0;
    const rows = new Map<string, UserRow | undefined>();
    let ended = 0;
    for (const socket of [...io.sockets.sockets.values()] as LiveSocket[]) {
      const p = socket.data.principal;
      if (!rows.has(p.userId)) rows.set(p.userId, await users(p.userId));
      const u = rows.get(p.userId);
      const reason = !u ? 'user deleted' : u.disabled !== 0 ? 'user disabled' : u.token_version !== p.tokenVersion ? 'role, password or 2FA changed' : null;
      if (!reason) continue;
      socket.emit(REALTIME_SESSION_ENDED, { reason });
      socket.disconnect(true);
      ended++;
    }
    return ended;
  }

  attach(httpServer: HttpServer): Server {
    if (this.#io) throw new Error('realtime: attached already');
    // destroyUpgrade off: Node-RED's editor shares this http.Server and answers its own WebSocket
    // upgrades (/editor/comms) after checking its tokens; engine.io must not close them meanwhile.
    const io = new Server(httpServer, { path: REALTIME_PATH, serveClient: false, destroyUpgrade: false, cors: { origin: false } });
    io.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const header = socket.handshake.headers.authorization;
      const token = typeof auth?.token === 'string' ? auth.token : typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
      const version = this.#version;
      void (async () => {
        const principal = await this.tokens.verifyAccess(token);
        if (!principal) return next(new Error('unauthorized: a valid access token is required (auth.token)'));
        const data = socket.data as SocketData;
        data.token = token;
        data.principal = principal;
        data.sites = new Set((await this.sites.visible(principal)).map((r) => r.id));
        data.version = version;
        next();
      })().catch((err: unknown) => next(err instanceof Error ? err : new Error(String(err))));
    });
    io.on('connection', (socket: LiveSocket) => {
      const data = socket.data;
      this.onClients(io.engine.clientsCount);
      const ms = data.principal.tokenExp * 1000 - Date.now();
      data.expiry = setTimeout(() => socket.disconnect(true), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
      socket.on('disconnect', () => {
        clearTimeout(data.expiry);
        this.onClients(io.engine.clientsCount);
      });
      socket.emit('hello', { user: { id: data.principal.userId, email: data.principal.email, role: data.principal.role }, sites: [...data.sites] });
    });
    this.#io = io;
    if (this.sessions) {
      this.#sessionTimer = setInterval(() => void this.checkSessions().catch(() => undefined), this.sessions.everyMs ?? 2000);
      this.#sessionTimer.unref();
    }
    return io;
  }

  /** Who sees which site may have changed (a site registered, a user's role or sites changed). */
  visibilityChanged(): void {
    if (this.bus) this.bus.publish(REALTIME_BUS.visibility, null);
    else this.localVisibilityChanged();
  }

  private localVisibilityChanged(): void {
    const version = ++this.#version;
    // A change (role, password, 2FA, disable) ends its sessions at once, not at the next poll.
    void this.checkSessions().catch(() => undefined);
    const io = this.#io;
    if (!io) return;
    // Each socket's sites again; events until then go by the sites it had.
    for (const socket of [...io.sockets.sockets.values()] as LiveSocket[]) {
      const data = socket.data;
      void (async () => {
        const p = await this.tokens.verifyAccess(data.token);
        if (!p) return void socket.disconnect(true);
        const rows = await this.sites.visible(p);
        if (version < data.version) return;
        data.principal = p;
        data.sites = new Set(rows.map((r) => r.id));
        data.version = version;
      })().catch(() => undefined);
    }
  }

  /** To every socket whose role holds `permission` and, unless siteId is null (fleet-wide news), sees the site. */
  private deliver(siteId: string | null, permission: Permission, event: RealtimeEvent, payload: unknown): void {
    const io = this.#io;
    if (!io) return;
    for (const socket of io.sockets.sockets.values() as IterableIterator<LiveSocket>) {
      const data = socket.data;
      if ((siteId === null || data.sites.has(siteId)) && hasPermission(data.principal.role, permission)) socket.emit(event, payload);
    }
  }

  /** A record this process received: to the sockets of every process. */
  record(r: TelemetryRecord): void {
    if (!this.bus) return this.deliverRecord(r);
    this.#localRecord = r;
    try {
      this.bus.publish(REALTIME_BUS.record, r);
    } finally {
      this.#localRecord = null;
    }
  }

  private deliverRecord(r: TelemetryRecord): void {
    this.deliver(r.siteId, 'telemetry:read', REALTIME_EVENTS.telemetry, {
      siteId: r.siteId, seq: r.seq, ts: new Date(r.ts).toISOString(), fields: flattenRecord(r),
      ...(r.decision ? { decision: r.decision } : {}), ...(r.envelope ? { envelope: r.envelope } : {}),
    });
  }

  /** An alarm changed here: to the sockets of every process. */
  alarm(a: AlarmView, event: AlarmEventView['event']): void {
    if (this.bus) this.bus.publish(REALTIME_BUS.alarm, { alarm: a, event } satisfies BusAlarm);
    else this.deliverAlarm({ alarm: a, event });
  }

  private deliverAlarm({ alarm, event }: BusAlarm): void {
    this.deliver(alarm.siteId, 'alarms:read', REALTIME_EVENTS.alarm, { event, alarm });
  }

  ack(a: CommandAck): void {
    this.deliver(a.siteId, 'commands:read', REALTIME_EVENTS.ack, a);
  }

  plan(siteId: string, plan: Plan): void {
    this.deliver(siteId, 'plans:read', REALTIME_EVENTS.plan, { siteId, plan });
  }

  state(s: SiteState): void {
    this.deliver(s.siteId, 'sites:read', REALTIME_EVENTS.state, { siteId: s.siteId, state: s.state, ts: new Date(s.ts).toISOString() });
  }

  /** A roll-out changed (a site reported, a stage advanced, an operator steered it): the OTA page reloads it. */
  ota(deploymentId: string): void {
    if (this.bus) this.bus.publish(REALTIME_BUS.ota, deploymentId);
    else this.deliver(null, 'ota:deploy', REALTIME_EVENTS.ota, { deploymentId });
  }

  async close(): Promise<void> {
    const io = this.#io;
    this.#io = null;
    clearInterval(this.#sessionTimer);
    for (const off of this.#unsubscribe.splice(0)) off();
    if (!io) return;
    for (const socket of io.sockets.sockets.values() as IterableIterator<LiveSocket>) clearTimeout(socket.data.expiry);
    // io.close() would also close the shared http.Server: disconnect the clients and the engine only.
    io.disconnectSockets(true);
    io.engine.close();
  }
}
