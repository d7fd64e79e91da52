// The embedded MQTT broker the cloud process runs by default: aedes on one TCP (or TLS) port,
// every client authenticated (a site with its site id as username, or the cloud service account),
// every publish, subscription and delivery held to the ACL in acl.ts, the same rules
// deploy/mosquitto/acl gives Mosquitto, and incoming packets bounded in size. Client ids are bound
// to their account (acl.ts mayUseClientId), and revoked sites and device certificates are refused
// on every CONNECT (isRevoked, runtime/ota/revocations.ts).
//
// One difference from Mosquitto, by aedes' design: a refused PUBLISH closes the client's connection
// (MQTT 3.1.1 section 3.3.5 lets a server either drop the message or disconnect), where Mosquitto
// acknowledges and drops it. Either way nobody receives it, and it is counted here. And aedes has no
// shared subscriptions: see authorizeSubscribe.
import { type Server, type Socket, createServer } from 'node:net';
import { type TLSSocket, createServer as createTlsServer } from 'node:tls';
import type { Aedes, AedesOptions, AuthenticateError, Client } from 'aedes' with { 'resolution-mode': 'import' };
import { MAX_MQTT_PAYLOAD_BYTES } from '../../domain/contracts';
import { type Principal, mayPublish, maySubscribe, mayUseClientId, principalOf } from './acl';
import { type CredentialSource, hashSecret, lookupOf, verifyPassword } from './credentials';
import { LimitedConnection } from './frame-limit';

/** Room for the topic, properties and packet id beside the largest payload either side accepts. */
export const PACKET_HEADROOM_BYTES = 16 * 1024;

export interface BrokerTlsOptions {
  /** PEM contents (not paths): the server's certificate and key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** CA(s) that sign client certificates; needed for requireCertificate. */
  ca?: string | Buffer;
  /** mTLS: refuse clients without a certificate signed by `ca` during the TLS handshake. */
  requireCertificate?: boolean;
  /**
   * With requireCertificate: the certificate's CN is the client's identity (a site id or "cloud")
   * and no password is asked, like Mosquitto's use_identity_as_username.
   */
  identityAsUsername?: boolean;
}

export interface BrokerOptions {
  /** Default 127.0.0.1: exposing the broker to the network is a decision, not a default. */
  host?: string;
  /** Default 1883; 0 = ephemeral. */
  port?: number;
  /** username -> password hash (credentials.ts). Site usernames are site ids; "cloud" is the service account. */
  credentials: CredentialSource;
  tls?: BrokerTlsOptions;
  /**
   * A second listener, MQTTS, beside the first (plain or TLS) one, on the same broker: the cloud
   * keeps 1883 for its own loopback clients and offers 8883 to sites (--tls-cert, --mqtts-port).
   */
  mqtts?: { port: number; tls: BrokerTlsOptions };
  /** Largest packet accepted (fixed header excluded). Default MAX_MQTT_PAYLOAD_BYTES + PACKET_HEADROOM_BYTES. */
  maxPacketBytes?: number;
  /**
   * Whether a client is revoked (runtime/ota/revocations.ts): its username, and with mTLS the serial
   * of its certificate (hex, upper case, no leading zeros). Asked on every CONNECT.
   */
  isRevoked?: (who: { username: string; certificateSerial: string | undefined }) => boolean | Promise<boolean>;
  /**
   * A site's CONNACK waits until the cloud account has subscribed to this filter (or its $share
   * form), at most `maxMs`: an edge that reconnects to a restarted cloud sends its backlog at once,
   * and without a subscriber yet the broker would drop it, so the edge would resend it only after
   * its ack timeout, behind newer records. (Not a refusal: mqtt.js stops reconnecting after a
   * refused CONNACK; a client whose connect times out first simply connects again.)
   */
  holdSitesUntilSubscribed?: { filter: string; maxMs: number };
  /** Further aedes options (concurrency, drainTimeout, ...); the auth hooks are ours. */
  aedes?: Omit<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>;
}

export interface BrokerStats {
  /** CONNECTs refused: unknown user, wrong password, no usable identity, revoked, client id of another user. */
  refusedConnections: number;
  /** PUBLISHes refused by the ACL or for an oversized payload (the client is disconnected). */
  rejectedPublishes: number;
  /** Subscriptions refused by the ACL (SUBACK 0x80). */
  rejectedSubscriptions: number;
  /** Connections closed because a packet announced more than maxPacketBytes. */
  oversizedPackets: number;
}

export interface RunningBroker {
  host: string;
  port: number;
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  /** The port of the `mqtts` listener, when one was asked for. */
  mqttsPort?: number;
  aedes: Aedes;
  readonly stats: Readonly<BrokerStats>;
  readonly connectedClients: number;
  close(): Promise<void>;
}

function refused(code: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code as AuthenticateError['returnCode'] });
}

const SHARED_SUBSCRIPTION = /^\$share\/[^/+#]+\/(.+)$/;

// Checked against when the username is unknown, so an unknown user costs as much as a wrong password.
const UNKNOWN_USER_HASH = hashSecret('no such user');

/** The CN and serial of the client's verified certificate, if it presented one. */
function peerCertificate(client: Client): { cn: string | undefined; serial: string } | undefined {
  const conn = client.conn;
  const socket = conn instanceof LimitedConnection ? conn.socket : conn;
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== 'function' || !tls.authorized) return undefined;
  const peer = tls.getPeerCertificate();
  const cn = peer.subject?.CN;
  return { cn: typeof cn === 'string' ? cn : undefined, serial: normalSerial(peer.serialNumber ?? '') };
}

/** A certificate serial as compared everywhere: hex, upper case, no leading zeros. */
export function normalSerial(hex: string): string {
  return hex.replace(/[^0-9a-fA-F]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
}

export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const { Aedes } = await import('aedes');
  const host = opts.host ?? '127.0.0.1';
  const maxPacketBytes = opts.maxPacketBytes ?? MAX_MQTT_PAYLOAD_BYTES + PACKET_HEADROOM_BYTES;
  const lookup = lookupOf(opts.credentials);
  const byIdentity = opts.tls?.requireCertificate === true && opts.tls.identityAsUsername === true;
  const stats: BrokerStats = { refusedConnections: 0, rejectedPublishes: 0, rejectedSubscriptions: 0, oversizedPackets: 0 };
  const principals = new WeakMap<Client, Principal>();
  // Which user a persistent session's client id belongs to: such a session (clean: false) holds
  // queued commands, so one user must not take over another's session by reusing its client id.
  const sessionOwner = new Map<string, string>();
  // Who each connected client is: a client id held by a live connection of another user is refused
  // (aedes would otherwise close the holder and hand the id over).
  const identities = new WeakMap<Client, string>();
  const live: { broker?: Aedes } = {};
  const hold = opts.holdSitesUntilSubscribed;
  let sitesAdmitted = hold === undefined;
  /** Site CONNECTs waiting for the ingest's subscription. */
  let waiting: (() => void)[] = [];
  const admitSites = (): void => {
    sitesAdmitted = true;
    clearTimeout(holdTimer);
    const admit = waiting;
    waiting = [];
    for (const go of admit) go();
  };
  const holdTimer = hold ? setTimeout(admitSites, hold.maxMs) : undefined;
  holdTimer?.unref();

  const broker = await Aedes.createBroker({
    ...opts.aedes,
    authenticate: (client, username, password, done) => {
      let identity: string | undefined;
      const peer = peerCertificate(client);
      if (byIdentity) {
        identity = peer?.cn;
      } else {
        const hash = username === undefined ? undefined : lookup(username);
        const ok = verifyPassword(password ?? Buffer.alloc(0), hash ?? UNKNOWN_USER_HASH) && hash !== undefined;
        identity = ok ? username : undefined;
      }
      const principal = principalOf(identity);
      if (!principal || identity === undefined) {
        stats.refusedConnections++;
        done(refused(byIdentity ? 5 : 4, byIdentity ? 'no usable client certificate identity' : 'bad username or password'), false);
        return;
      }
      const identified = identity;
      // The checks that depend on the moment of connecting run when the site is let in.
      const admit = (): void => {
        // The deny list is in the cloud database: a check that fails refuses (fail closed).
        void Promise.resolve(opts.isRevoked?.({ username: identified, certificateSerial: peer?.serial }) ?? false).then(admitUnless, () => admitUnless(true));
      };
      const admitUnless = (revoked: boolean): void => {
        if (revoked) {
          stats.refusedConnections++;
          done(refused(5, `${identified}: revoked`), false);
          return;
        }
        // A client id is bound to its account for every session, clean or not (acl.ts).
        if (!mayUseClientId(principal, client.id)) {
          stats.refusedConnections++;
          done(refused(2, `client id ${client.id} is not one of ${identified}'s`), false);
          return;
        }
        // aedes keeps connected clients by id in `clients` (not in its typings).
        const holder = (live.broker as unknown as { clients?: Record<string, Client | undefined> } | undefined)?.clients?.[client.id];
        const owner = sessionOwner.get(client.id) ?? (holder && holder !== client ? identities.get(holder) : undefined);
        if (owner !== undefined && owner !== identified) {
          stats.refusedConnections++;
          done(refused(2, `client id ${client.id} belongs to another user`), false);
          return;
        }
        // Only persistent sessions have anything to take over; clean ones would only grow the map.
        if (!client.clean) sessionOwner.set(client.id, identified);
        principals.set(client, principal);
        identities.set(client, identified);
        done(null, true);
      };
      if (principal.kind === 'site' && !sitesAdmitted) waiting.push(admit);
      else admit();
    },
    authorizePublish: (client, packet, done) => {
      const principal = client ? principals.get(client) : undefined;
      const payloadBytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
      if (!principal || !mayPublish(principal, packet.topic) || payloadBytes > MAX_MQTT_PAYLOAD_BYTES) {
        stats.rejectedPublishes++;
        done(new Error(`publish to ${packet.topic} not authorized`));
        return;
      }
      done(null);
    },
    authorizeSubscribe: (client, subscription, done) => {
      const principal = principals.get(client);
      if (!principal || !maySubscribe(principal, subscription.topic)) {
        stats.rejectedSubscriptions++;
        done(null, null); // SUBACK 0x80 for this filter; the connection stays
        return;
      }
      // aedes 1.2 has no shared subscriptions: one in-process broker serves one cloud runtime, so
      // $share/<group>/<filter> is served as <filter>, and flows configured for a Mosquitto cluster
      // run unchanged on the embedded broker. (Unsubscribe by the $share name is not mapped back.)
      const shared = SHARED_SUBSCRIPTION.exec(subscription.topic);
      done(null, shared ? { ...subscription, topic: shared[1]! } : subscription);
    },
    // Defence in depth: whatever a subscription matched, a client only receives what it could have
    // subscribed to by name.
    authorizeForward: (client, packet) => {
      const principal = principals.get(client);
      if (!principal) return null;
      if (principal.kind === 'site' && !maySubscribe(principal, packet.topic)) return null;
      return packet;
    },
  });

  live.broker = broker;
  const sockets = new Set<Socket>();
  const accept = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // reported through aedes' clientError; never crash the process
    broker.handle(new LimitedConnection(socket, maxPacketBytes, () => stats.oversizedPackets++));
  };
  const listener = (tls: BrokerTlsOptions | undefined): Server => {
    if (!tls) return createServer(accept);
    if (tls.requireCertificate && !tls.ca) throw new Error('broker TLS: requireCertificate needs the CA that signs client certificates (tls.ca)');
    const server = createTlsServer(
      { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requireCertificate === true, rejectUnauthorized: tls.requireCertificate === true },
      accept,
    );
    server.on('tlsClientError', () => undefined); // a failed handshake is the client's problem
    return server;
  };
  const listen = (server: Server, port: number): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  if (hold) {
    broker.on('subscribe', (subscriptions, client) => {
      if (sitesAdmitted || !client || principals.get(client)?.kind !== 'cloud') return;
      if (subscriptions.some((sub) => sub.topic === hold.filter || SHARED_SUBSCRIPTION.exec(sub.topic)?.[1] === hold.filter)) admitSites();
    });
  }
  const servers: Server[] = [];
  const closeServers = () => Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  let port: number;
  let mqttsPort: number | undefined;
  try {
    const server = listener(opts.tls);
    servers.push(server);
    port = await listen(server, opts.port ?? 1883);
    if (opts.mqtts) {
      const secure = listener(opts.mqtts.tls);
      servers.push(secure);
      mqttsPort = await listen(secure, opts.mqtts.port);
    }
  } catch (err) {
    await closeServers();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  }

  return {
    host,
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`,
    ...(mqttsPort !== undefined ? { mqttsPort } : {}),
    aedes: broker,
    stats,
    get connectedClients() {
      return broker.connectedClients;
    },
    close: async () => {
      clearTimeout(holdTimer);
      waiting = [];
      const closed = closeServers();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
