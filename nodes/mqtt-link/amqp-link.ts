// The cloud's link to a RabbitMQ cluster over AMQP 0-9-1: the same MqttLink the MQTT nodes use
// (link.ts), so telemetry-in, command-out and fleet-hub run unchanged on either. Topics map onto
// amq.topic as io/amqp/topology.ts says: a shared subscription ($share/<group>/...) is one durable
// quorum queue per group, read by every cloud process as competing consumers with a prefetch
// window and manual acks (the handler settles each Delivery once its records are committed, so
// an unacked message is redelivered when a process or a node dies); every other subscription is
// bound to this connection's exclusive queue, so every process sees every command ack and state.
// Publishes go to amq.topic with a publisher confirm, where the MQTT plugin hands them to the
// edges. The link holds the cluster's node list: when its node dies it reconnects to another
// (jittered backoff once every node was tried) and declares its queues and bindings again.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { MAX_MQTT_PAYLOAD_BYTES } from '../../domain/contracts';
import { MQTT_EXCHANGE, SHARED_QUEUE_ARGUMENTS, keyMatches, routeOf, routingKeyOf, sharedQueueName, topicOfRoutingKey } from '../../io/amqp/topology';
import type { Delivery, LinkStats, MessageHandler, MqttLink, QoS } from './link';

export interface AmqpLinkOptions {
  /** amqp(s)://[user:password@]host:port[/vhost] of the cluster's nodes. */
  urls: readonly string[];
  /** Used when a URL carries none. */
  credentials?: { username?: string; password?: string };
  ownerId?: string;
  log?: (level: 'warn' | 'debug', text: string) => void;
  /** Unacked deliveries per shared queue consumer. */
  prefetch?: number;
  reconnectMs?: number;
  maxReconnectMs?: number;
  heartbeatS?: number;
}

interface Subscription {
  route: ReturnType<typeof routeOf>;
  handlers: Set<MessageHandler>;
}

/** A URL of the list with the link's credentials filled in where it has none. */
export function withCredentials(url: string, credentials: AmqpLinkOptions['credentials']): string {
  const u = new URL(url);
  if (!u.username && credentials?.username) {
    u.username = encodeURIComponent(credentials.username);
    u.password = encodeURIComponent(credentials.password ?? '');
  }
  return u.toString();
}

/** Where a URL points, without its credentials (for logs). */
function where(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export class AmqpLinkConnection extends EventEmitter implements MqttLink {
  readonly siteId = '';
  readonly stats: LinkStats = { received: 0, oversized: 0, published: 0, connects: 0 };
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly log: NonNullable<AmqpLinkOptions['log']>;
  private conn: ChannelModel | null = null;
  private ch: ConfirmChannel | null = null;
  /** This connection's own queue (server-named, exclusive), once declared. */
  private ownQueue: string | null = null;
  /** Shared groups whose queue this channel consumes. */
  private readonly consuming = new Set<string>();
  private closed = false;
  private next: number;
  private current = '';

  constructor(private readonly opts: AmqpLinkOptions) {
    super();
    if (opts.urls.length === 0) throw new Error('amqp link: no broker URL');
    this.log = opts.log ?? (() => undefined);
    // Start at a random node, so cloud processes spread over the cluster.
    this.next = Math.floor(Math.random() * opts.urls.length);
    void this.connectLoop();
  }

  get connected(): boolean {
    return this.ch !== null;
  }

  /** The node this link is connected to (host:port), or null. */
  get broker(): string | null {
    return this.conn ? this.current : null;
  }

  subscribe(filter: string, _qos: QoS, handler: MessageHandler): () => void {
    let sub = this.subscriptions.get(filter);
    if (!sub) {
      sub = { route: routeOf(filter), handlers: new Set() };
      this.subscriptions.set(filter, sub);
      const ch = this.ch;
      if (ch) this.bind(ch, sub).catch((err: unknown) => this.log('warn', `subscribe ${filter}: ${(err as Error).message}`));
    }
    sub.handlers.add(handler);
    return () => {
      const s = this.subscriptions.get(filter);
      if (!s || !s.handlers.delete(handler) || s.handlers.size > 0) return;
      this.subscriptions.delete(filter);
      const ch = this.ch;
      if (ch && s.route.group === null && this.ownQueue) {
        ch.unbindQueue(this.ownQueue, MQTT_EXCHANGE, s.route.bindingKey).catch(() => undefined);
      }
    };
  }

  publish(topic: string, payload: string | Buffer, opts: { qos?: QoS; retain?: boolean } = {}): Promise<void> {
    const ch = this.ch;
    if (!ch) return Promise.reject(new Error('AMQP broker not connected'));
    let key: string;
    try {
      key = routingKeyOf(topic);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    // RabbitMQ keeps no retained messages for AMQP publishes: `retain` has no meaning here.
    const qos = opts.qos ?? 1;
    return new Promise((resolve, reject) => {
      try {
        ch.publish(MQTT_EXCHANGE, key, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), { persistent: qos > 0, headers: { 'x-mqtt-publish-qos': qos } }, (err: unknown) => {
          if (err) return reject(err instanceof Error ? err : new Error(`publish to ${topic} not confirmed`));
          this.stats.published++;
          resolve();
        });
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conn = this.conn;
    this.conn = null;
    this.ch = null;
    // Unacked deliveries go back to their queue for the other processes.
    if (conn) await conn.close().catch(() => undefined);
    this.removeAllListeners();
  }

  private async connectLoop(): Promise<void> {
    const base = this.opts.reconnectMs ?? 1000;
    const max = this.opts.maxReconnectMs ?? 30_000;
    let failedRounds = 0;
    let triedThisRound = 0;
    while (!this.closed) {
      const url = this.opts.urls[this.next % this.opts.urls.length]!;
      this.next++;
      try {
        await this.open(url);
        return;
      } catch (err) {
        this.log('warn', `${where(url)}: ${(err as Error).message}`);
      }
      // Every node is tried once at once; after a round that reached none, the wait doubles, with
      // jitter so that cloud processes cut off together do not come back in step.
      if (++triedThisRound < this.opts.urls.length) continue;
      triedThisRound = 0;
      failedRounds++;
      const delay = Math.min(max, base * 2 ** Math.min(failedRounds - 1, 16));
      await sleep(Math.round(delay * (0.75 + Math.random() * 0.5)));
    }
  }

  private async open(url: string): Promise<void> {
    const conn = await connect(withCredentials(url, this.opts.credentials), {
      timeout: 10_000,
      clientProperties: { connection_name: `lifo4-${(this.opts.ownerId ?? 'link').replace(/[^A-Za-z0-9_-]/g, '')}-${hostname()}-${process.pid}` },
    } as object);
    if (this.closed) {
      await conn.close().catch(() => undefined);
      return;
    }
    let lost = false;
    const onLost = (why: string): void => {
      if (lost) return;
      lost = true;
      if (this.conn !== conn) return;
      this.conn = null;
      this.ch = null;
      this.ownQueue = null;
      this.consuming.clear();
      if (this.closed) return;
      this.log('warn', `${where(url)}: connection lost (${why}), reconnecting`);
      this.emit('offline');
      void this.connectLoop();
    };
    conn.on('error', (err: Error) => this.log('warn', `${where(url)}: ${err.message}`));
    conn.on('close', () => onLost('closed'));
    try {
      const ch = await conn.createConfirmChannel();
      // A channel error (e.g. a refused declare) closes the channel: start over on a fresh connection.
      ch.on('error', (err: Error) => this.log('warn', `${where(url)} channel: ${err.message}`));
      ch.on('close', () => {
        if (this.conn === conn) conn.close().catch(() => undefined);
      });
      await ch.prefetch(this.opts.prefetch ?? 1000);
      const own = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      this.conn = conn;
      this.ch = ch;
      this.current = where(url);
      this.ownQueue = own.queue;
      await ch.consume(own.queue, (m) => this.dispatchOwn(m), { noAck: true });
      for (const sub of this.subscriptions.values()) await this.bind(ch, sub);
    } catch (err) {
      this.conn = null;
      this.ch = null;
      lost = true;
      await conn.close().catch(() => undefined);
      throw err;
    }
    this.stats.connects++;
    this.emit('connect');
  }

  /** Declares and binds what `sub` needs on `ch`, and consumes a shared queue once. */
  private async bind(ch: ConfirmChannel, sub: Subscription): Promise<void> {
    const { group, bindingKey } = sub.route;
    if (group === null) {
      if (this.ownQueue) await ch.bindQueue(this.ownQueue, MQTT_EXCHANGE, bindingKey);
      return;
    }
    const queue = sharedQueueName(group);
    await ch.assertQueue(queue, { durable: true, arguments: { ...SHARED_QUEUE_ARGUMENTS } });
    await ch.bindQueue(queue, MQTT_EXCHANGE, bindingKey);
    if (this.consuming.has(group)) return;
    this.consuming.add(group);
    await ch.consume(queue, (m) => this.dispatchShared(ch, group, m), { noAck: false });
  }

  private readMessage(m: ConsumeMessage): { topic: string; payload: Buffer } | null {
    if (m.content.length > MAX_MQTT_PAYLOAD_BYTES) {
      this.stats.oversized++;
      this.log('warn', `dropped ${m.content.length}-byte message on ${m.fields.routingKey} (limit ${MAX_MQTT_PAYLOAD_BYTES})`);
      return null;
    }
    return { topic: topicOfRoutingKey(m.fields.routingKey), payload: m.content };
  }

  private dispatchOwn(m: ConsumeMessage | null): void {
    if (!m) return;
    const msg = this.readMessage(m);
    if (!msg) return;
    let delivered = false;
    for (const [filter, sub] of this.subscriptions) {
      if (sub.route.group !== null || !keyMatches(sub.route.bindingKey, m.fields.routingKey)) continue;
      delivered = this.call(filter, sub, msg.topic, msg.payload) || delivered;
    }
    if (delivered) this.stats.received++;
  }

  private dispatchShared(ch: ConfirmChannel, group: string, m: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (its queue was deleted): a new connection declares it again.
    if (!m) {
      if (this.ch === ch) this.conn?.close().catch(() => undefined);
      return;
    }
    let settled = false;
    const delivery: Delivery = {
      // A delivery tag belongs to its channel: after a reconnect the broker has requeued it already.
      settle: () => {
        if (settled || this.ch !== ch) return;
        settled = true;
        ch.ack(m);
      },
      requeue: () => {
        if (settled || this.ch !== ch) return;
        settled = true;
        ch.nack(m, false, true);
      },
    };
    const msg = this.readMessage(m);
    if (!msg) return delivery.settle();
    let delivered = false;
    for (const [filter, sub] of this.subscriptions) {
      if (sub.route.group !== group || !keyMatches(sub.route.bindingKey, m.fields.routingKey)) continue;
      delivered = this.call(filter, sub, msg.topic, msg.payload, delivery) || delivered;
    }
    if (delivered) this.stats.received++;
    // Nobody here takes it any more: another consumer of the group may.
    else delivery.requeue();
  }

  private call(filter: string, sub: Subscription, topic: string, payload: Buffer, delivery?: Delivery): boolean {
    let delivered = false;
    for (const handler of sub.handlers) {
      delivered = true;
      try {
        handler(topic, payload, delivery);
      } catch (err) {
        this.log('warn', `handler for ${filter} threw: ${(err as Error).message}`);
      }
    }
    return delivered;
  }
}
