// One MQTT connection shared by every MQTT node that names the same mqtt-link config node: the
// telemetry-out and command-in nodes at a site, the ingest and command nodes in the cloud. It
// keeps the subscriptions of all of them (and makes them again after every reconnect, because a
// broker that restarted without persistence has forgotten them), resolves publishes on PUBACK,
// and on an edge keeps the site's retained state topic with 'offline' as its last will.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { NodeAPI } from 'node-red';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { MAX_MQTT_PAYLOAD_BYTES, type SiteState } from '../../domain/contracts';
import { topics } from '../../domain/topics';
import type { MqttLinkConfig, MqttLinkCredentials } from './config';
import { topicMatches } from './topic-filter';

/**
 * A message the broker keeps until it is settled: given to the handlers of a shared subscription
 * over AMQP (amqp-link.ts), whose queue forgets a message only once the handler says it is stored.
 * Over MQTT there is none: the broker counts a message as delivered once the client has it.
 */
export interface Delivery {
  /** Done with it (stored, or never storable): the broker deletes it. */
  settle(): void;
  /** Not done: the broker delivers it again (to this or another consumer). */
  requeue(): void;
}

export type MessageHandler = (topic: string, payload: Buffer, delivery?: Delivery) => void;
export type QoS = 0 | 1 | 2;

export interface LinkStats {
  /** Messages received and handed to at least one subscriber. */
  received: number;
  /** Messages larger than MAX_MQTT_PAYLOAD_BYTES, dropped unread. */
  oversized: number;
  published: number;
  connects: number;
}

/**
 * What an mqtt-link config node offers the nodes that use it: `RED.nodes.getNode(id)` cast to this
 * (or `linkOf(RED, id)`, which checks it). Events: 'connect' (after every (re)connect, once the
 * subscriptions are re-made) and 'offline' (when a live connection is lost).
 */
export interface MqttLink {
  readonly connected: boolean;
  /** The site this link speaks for ('' in the cloud). */
  readonly siteId: string;
  readonly stats: Readonly<LinkStats>;
  /**
   * Subscribe `handler` to `filter` (wildcards and $share/<group>/ allowed); returns the unsubscribe.
   * Over AMQP the handlers of a shared subscription get a Delivery and must settle it.
   */
  subscribe(filter: string, qos: QoS, handler: MessageHandler): () => void;
  /** Resolves when the broker has the message (PUBACK for QoS 1), rejects if the client gives up on it. */
  publish(topic: string, payload: string | Buffer, opts?: { qos?: QoS; retain?: boolean }): Promise<void>;
  on(event: 'connect' | 'offline', listener: () => void): unknown;
  removeListener(event: 'connect' | 'offline', listener: () => void): unknown;
}

export interface MqttLinkOptions {
  config: MqttLinkConfig;
  credentials?: MqttLinkCredentials;
  /** Used to derive a stable client id when config.clientId is empty. */
  ownerId?: string;
  /** Where the link reports what goes wrong (never thrown: a broker that is down is a normal state). */
  log?: (level: 'warn' | 'debug', text: string) => void;
  /** First reconnect delay, ms; doubles per failed attempt up to maxReconnectMs. */
  reconnectMs?: number;
  maxReconnectMs?: number;
}

/**
 * The client options for a link. An edge (siteId set) uses `lifo4-edge-<siteId>` with a persistent
 * session (clean: false), so commands published while it was away are delivered on return. Without
 * a siteId an empty clientId becomes one unique to this process with clean: true, because a
 * generated id that changed on every restart would leave orphan sessions queuing messages (and with
 * shared subscriptions, taking a share of them) on the broker.
 */
export function clientOptions(o: MqttLinkOptions): IClientOptions {
  const c = o.config;
  let clientId = c.clientId;
  let clean = false;
  if (!clientId) {
    if (c.siteId) clientId = `lifo4-edge-${c.siteId}`;
    else {
      clientId = `lifo4-${(o.ownerId ?? 'link').replace(/[^A-Za-z0-9_-]/g, '')}-${hostname().replace(/[^A-Za-z0-9_-]/g, '')}-${process.pid}`.slice(0, 128);
      clean = true;
    }
  }
  const opts: IClientOptions = {
    clientId,
    clean,
    keepalive: c.keepalive,
    reconnectPeriod: o.reconnectMs ?? 1000,
    connectTimeout: 10_000,
    // The link makes its subscriptions again itself on every connect (see resubscribeAll).
    resubscribe: false,
    rejectUnauthorized: c.rejectUnauthorized,
  };
  if (o.credentials?.username) opts.username = o.credentials.username;
  if (o.credentials?.password) opts.password = o.credentials.password;
  if (c.ca) opts.ca = readFileSync(c.ca);
  if (c.cert) opts.cert = readFileSync(c.cert);
  if (c.key) opts.key = readFileSync(c.key);
  if (c.siteId) opts.will = { topic: topics.state(c.siteId), payload: siteState(c.siteId, 'offline'), qos: 1, retain: true };
  const brokers = brokerList(c.url);
  if (brokers.length > 1) {
    opts.servers = brokers.map((u) => ({ host: u.hostname, port: Number(u.port || (u.protocol === 'mqtts:' ? 8883 : 1883)), protocol: u.protocol === 'mqtts:' ? 'mqtts' : 'mqtt' }));
  }
  return opts;
}

/**
 * The brokers of a link's url: one, or the nodes of a cluster as a comma list, rotated by a random
 * amount so that a fleet spreads over the nodes (mqtt.js tries them in turn on each reconnect).
 */
export function brokerList(url: string, random = Math.random): URL[] {
  const list = url.split(',').map((u) => new URL(u.trim()));
  const start = Math.floor(random() * list.length);
  return [...list.slice(start), ...list.slice(0, start)];
}

/**
 * The QoS the link subscribes with. With a list of brokers (a RabbitMQ cluster) at most 0: an MQTT
 * subscriber's QoS 1 queue there lives on one node, and while that node is down the edge could not
 * subscribe again on another; the app-level acks and resends of telemetry and commands cover what
 * QoS 0 may lose (README, "Scale-out on a RabbitMQ cluster").
 */
export function subscribeQos(requested: QoS, brokers: number): QoS {
  return brokers > 1 ? 0 : requested;
}

function siteState(siteId: string, state: SiteState['state']): Buffer {
  const s: SiteState = { v: 1, siteId, state, ts: Date.now() };
  return Buffer.from(JSON.stringify(s));
}

interface Subscription {
  qos: QoS;
  handlers: Set<MessageHandler>;
}

export class MqttLinkConnection extends EventEmitter implements MqttLink {
  readonly client: MqttClient;
  readonly siteId: string;
  readonly stats: LinkStats = { received: 0, oversized: 0, published: 0, connects: 0 };
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly log: NonNullable<MqttLinkOptions['log']>;
  private wasConnected = false;
  private failedAttempts = 0;
  private closed = false;
  /** How many brokers the url lists (subscribeQos). */
  private readonly brokers: number;

  constructor(private readonly opts: MqttLinkOptions) {
    super();
    this.siteId = opts.config.siteId;
    this.log = opts.log ?? (() => undefined);
    const base = opts.reconnectMs ?? 1000;
    const max = opts.maxReconnectMs ?? 30_000;
    const options = clientOptions(opts);
    this.brokers = options.servers?.length ?? 1;
    this.client = connect(options.servers ? brokerList(opts.config.url)[0]!.toString() : opts.config.url, options);
    // Backoff: mqtt.js retries every options.reconnectPeriod and reads it again for each new
    // timer, so raising it before each attempt doubles the wait (with jitter, so that a fleet
    // reconnecting after a broker restart does not arrive in step).
    this.client.on('reconnect', () => {
      this.failedAttempts++;
      const delay = Math.min(max, base * 2 ** Math.min(this.failedAttempts, 16));
      this.client.options.reconnectPeriod = Math.round(delay * (0.75 + Math.random() * 0.5));
    });
    this.client.on('connect', () => {
      this.failedAttempts = 0;
      this.client.options.reconnectPeriod = base;
      this.wasConnected = true;
      this.stats.connects++;
      this.resubscribeAll();
      if (this.siteId) {
        this.client.publish(topics.state(this.siteId), siteState(this.siteId, 'online'), { qos: 1, retain: true }, (err) => {
          if (err) this.log('warn', `online state not published: ${err.message}`);
        });
      }
      this.emit('connect');
    });
    this.client.on('close', () => {
      // The last will is fixed in the CONNECT packet: give the next one a fresh timestamp.
      if (this.siteId && this.client.options.will) this.client.options.will.payload = siteState(this.siteId, 'offline');
      if (this.wasConnected) {
        this.wasConnected = false;
        if (!this.closed) this.emit('offline');
      }
    });
    this.client.on('error', (err) => this.log('warn', `${opts.config.url}: ${err.message}`));
    this.client.on('message', (topic, payload) => this.dispatch(topic, payload));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  subscribe(filter: string, requested: QoS, handler: MessageHandler): () => void {
    const qos = subscribeQos(requested, this.brokers);
    let sub = this.subscriptions.get(filter);
    if (!sub) {
      sub = { qos, handlers: new Set() };
      this.subscriptions.set(filter, sub);
      if (this.client.connected) this.brokerSubscribe({ [filter]: { qos } });
    } else if (qos > sub.qos) {
      sub.qos = qos;
      if (this.client.connected) this.brokerSubscribe({ [filter]: { qos } });
    }
    sub.handlers.add(handler);
    return () => {
      const s = this.subscriptions.get(filter);
      if (!s || !s.handlers.delete(handler) || s.handlers.size > 0) return;
      this.subscriptions.delete(filter);
      if (this.client.connected) this.client.unsubscribe(filter, (err) => err && this.log('warn', `unsubscribe ${filter}: ${err.message}`));
    };
  }

  publish(topic: string, payload: string | Buffer, opts: { qos?: QoS; retain?: boolean } = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) => {
        if (err) return reject(err);
        this.stats.published++;
        resolve();
      });
    });
  }

  /** Publish the 'offline' state (a clean disconnect does not fire the will) and disconnect. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.siteId && this.client.connected) {
      await Promise.race([
        this.publish(topics.state(this.siteId), siteState(this.siteId, 'offline'), { qos: 1, retain: true }).catch(() => undefined),
        new Promise((r) => setTimeout(r, 1000).unref()),
      ]);
    }
    await new Promise<void>((resolve) => this.client.end(!this.client.connected, {}, () => resolve()));
    this.removeAllListeners();
  }

  private resubscribeAll(): void {
    if (this.subscriptions.size === 0) return;
    const map: Record<string, { qos: QoS }> = {};
    for (const [filter, s] of this.subscriptions) map[filter] = { qos: s.qos };
    this.brokerSubscribe(map);
  }

  private brokerSubscribe(map: Record<string, { qos: QoS }>): void {
    this.client.subscribe(map, (err, granted) => {
      if (err) return this.log('warn', `subscribe ${Object.keys(map).join(', ')}: ${err.message}`);
      // 128 = refused, e.g. by the broker's ACL: say so, the node would otherwise wait in silence.
      for (const g of granted ?? []) if (g.qos === 128) this.log('warn', `subscription to ${g.topic} refused by the broker`);
    });
  }

  private dispatch(topic: string, payload: Buffer): void {
    if (payload.length > MAX_MQTT_PAYLOAD_BYTES) {
      this.stats.oversized++;
      this.log('warn', `dropped ${payload.length}-byte message on ${topic} (limit ${MAX_MQTT_PAYLOAD_BYTES})`);
      return;
    }
    let delivered = false;
    for (const [filter, sub] of this.subscriptions) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of sub.handlers) {
        delivered = true;
        try {
          handler(topic, payload);
        } catch (err) {
          // One subscriber's bug must not starve the others of the message.
          this.log('warn', `handler for ${filter} threw: ${(err as Error).message}`);
        }
      }
    }
    if (delivered) this.stats.received++;
  }
}

/** The node-side view: the config node is an MqttLink plus why it may be unusable. */
export interface MqttLinkNodeState {
  configError: string | null;
}

/** The mqtt-link config node `id` as an MqttLink, or an Error naming what is missing. */
export function linkOf(RED: NodeAPI, id: unknown): MqttLink | Error {
  if (typeof id !== 'string' || id === '') return new Error('no mqtt-link selected: open the node and pick one');
  const node = RED.nodes.getNode(id) as unknown as (Partial<MqttLink> & Partial<MqttLinkNodeState> & { name?: string }) | null;
  if (!node) return new Error(`mqtt-link ${id} not found (not deployed?)`);
  if (node.configError || typeof node.subscribe !== 'function') {
    return new Error(`mqtt-link ${node.name || id} is not usable: ${node.configError ?? 'no client'}`);
  }
  return node as MqttLink;
}
