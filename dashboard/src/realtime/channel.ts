// The realtime channel in one module: socket.io at /api/v1/realtime, authenticated with the access
// token in the handshake. The server pushes only what the user may see; this module turns the
// socket's named events into typed callbacks and re-authenticates with the fresh token on reconnect.
import { io, type Socket } from 'socket.io-client';
import { REALTIME_EVENTS, REALTIME_PATH } from '../../../domain/realtime';
import type { AlarmView, CommandAck, Plan } from '../api/types';


/** A telemetry record as the server pushes it (runtime/api/realtime.ts): ts is ISO 8601. */
interface TelemetryWire {
  siteId: string;
  seq?: number;
  ts: string | number;
  fields: Record<string, number>;
  decision?: import('../api/types').DecisionSummary;
  envelope?: import('../api/types').EnvelopeSummary;
}

/** A telemetry record as the stores use it: the site, time in ms, flattened fields and the decision context. */
export interface TelemetryPush {
  siteId: string;
  ts: number;
  seq?: number;
  fields: Record<string, number>;
  decision?: import('../api/types').DecisionSummary;
  envelope?: import('../api/types').EnvelopeSummary;
}

export interface SiteStatePush {
  siteId: string;
  state: 'online' | 'offline';
  ts: number;
}

export interface ChannelHandlers {
  status(status: 'connecting' | 'live' | 'offline', reason?: string): void;
  telemetry(push: TelemetryPush): void;
  alarm(alarm: AlarmView): void;
  ack(ack: CommandAck): void;
  plan(push: { siteId: string; plan: Plan }): void;
  state(push: SiteStatePush): void;
  /** A roll-out changed (SUPER_ADMIN only). */
  ota(push: { deploymentId: string }): void;
}

export interface RealtimeChannel {
  close(): void;
}

export function openChannel(token: () => string | null, handlers: ChannelHandlers, onAuthFailed: () => Promise<boolean>): RealtimeChannel {
  const socket: Socket = io({
    path: REALTIME_PATH,
    // The token is read at every (re)connect, so a refreshed one is used after an expiry.
    auth: (cb) => cb({ token: token() ?? '' }),
    transports: ['websocket', 'polling'],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 10_000,
  });
  handlers.status('connecting');
  socket.on('connect', () => handlers.status('live'));
  socket.on('disconnect', (reason) => {
    handlers.status('offline', reason);
    // The server closes the socket when the access token runs out or the user's rights change;
    // socket.io does not reconnect by itself after a server-side disconnect: renew, then reconnect.
    if (reason === 'io server disconnect') {
      handlers.status('connecting');
      void onAuthFailed().then((ok) => {
        if (ok) socket.connect();
        else handlers.status('offline', 'session ended');
      });
    }
  });
  socket.on('connect_error', (err) => {
    handlers.status('offline', err.message);
    // An expired token: renew it once and let socket.io reconnect with the new one.
    if (/token|auth|unauthori[sz]ed|jwt/i.test(err.message)) {
      void onAuthFailed().then((ok) => {
        if (ok && !socket.connected) socket.connect();
      });
    }
  });
  // The server's event names (runtime/api/realtime.ts); tests/realtime/server-events.test.ts
  // checks them.
  socket.on(REALTIME_EVENTS.telemetry, (p: TelemetryWire) => {
    const ts = typeof p.ts === 'number' ? p.ts : Date.parse(p.ts);
    if (Number.isFinite(ts)) handlers.telemetry({ ...p, ts });
  });
  socket.on(REALTIME_EVENTS.alarm, (p: { event?: string; alarm?: AlarmView }) => {
    if (p.alarm) handlers.alarm(p.alarm);
  });
  socket.on(REALTIME_EVENTS.ack, (a: CommandAck) => handlers.ack(a));
  socket.on(REALTIME_EVENTS.plan, (p: { siteId: string; plan: Plan }) => handlers.plan(p));
  socket.on(REALTIME_EVENTS.state, (p: { siteId: string; state: 'online' | 'offline'; ts: string | number }) =>
    handlers.state({ siteId: p.siteId, state: p.state, ts: typeof p.ts === 'number' ? p.ts : Date.parse(p.ts) }),
  );
  socket.on(REALTIME_EVENTS.ota, (p: { deploymentId: string }) => handlers.ota(p));
  return { close: () => socket.close() };
}
