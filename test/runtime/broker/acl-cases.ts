// The fleet ACL as behaviour, run against every broker we ship (real Mosquitto with
// deploy/mosquitto/*, and the embedded aedes broker): the same cases must hold on both.
//
// "Does not receive" is never a wait for silence: after the forbidden message the test sends an
// allowed one that the same subscriber must get after it (MQTT keeps one publisher's order, and
// a broker decides a PUBLISH before it acknowledges it), and then checks what arrived before it.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { type IClientOptions, type MqttClient, connect } from 'mqtt';

export const SITE_A = 'site-a';
export const SITE_B = 'site-b';

export interface BrokerUnderTest {
  url: string;
  /** Extra client options (TLS material). */
  clientOptions?: IClientOptions;
  passwords: Record<string, string>;
  /** aedes closes the connection of a client whose PUBLISH is refused; Mosquitto acks and drops it. */
  refusedPublishCloses: boolean;
}

export interface Received {
  topic: string;
  payload: string;
}

/** A connected client and everything it received. */
export class Party {
  readonly inbox: Received[] = [];
  private waiters: Array<() => void> = [];

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      this.inbox.push({ topic, payload: payload.toString('utf8') });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves when a message with this payload has arrived (mocha's timeout bounds the wait). */
  async received(payload: string): Promise<void> {
    while (!this.inbox.some((m) => m.payload === payload)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  payloads(): string[] {
    return this.inbox.map((m) => m.payload);
  }

  /** Granted QoS per filter: 128 = refused. */
  async subscribe(...filters: string[]): Promise<number[]> {
    try {
      const granted = await this.client.subscribeAsync(filters, { qos: 1 });
      return granted.map((g) => g.qos);
    } catch (err) {
      // mqtt.js rejects when any filter is refused; the SUBACK rides on the error.
      const granted = (err as { packet?: { granted?: unknown } }).packet?.granted;
      if (Array.isArray(granted)) return granted.map((g) => (typeof g === 'number' ? g : Number((g as { qos?: number }).qos)));
      throw err;
    }
  }

  async publish(topic: string, payload: string, retain = false): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /** A publish that may be refused: resolves either way (PUBACK, or the connection closed by the broker). */
  async tryPublish(topic: string, payload: string): Promise<'acked' | 'closed'> {
    // mqtt.js keeps an unacknowledged QoS 1 publish for a resend after reconnecting, so its promise
    // does not settle when the broker closes the connection: the close event decides.
    const closed = new Promise<'closed'>((resolve) => this.client.once('close', () => resolve('closed')));
    const acked = this.client.publishAsync(topic, payload, { qos: 1 }).then(
      () => 'acked' as const,
      () => 'closed' as const,
    );
    return Promise.race([acked, closed]);
  }

  async end(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export function uniq(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * Connects and resolves on CONNACK. The message handler is attached before connecting: messages
 * queued in a persistent session can arrive in the same read as the CONNACK.
 */
export async function connectAs(b: BrokerUnderTest, username: string | undefined, password?: string, extra: IClientOptions = {}): Promise<Party> {
  const client = connect(b.url, {
    ...b.clientOptions,
    ...(username !== undefined ? { username, password: password ?? b.passwords[username] } : {}),
    // A site's client ids derive from its id (runtime/broker/acl.ts mayUseClientId).
    clientId: `${username ?? 'anonymous'}:${randomBytes(4).toString('hex')}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...extra,
  });
  const party = new Party(client);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
  } catch (err) {
    client.end(true);
    throw err;
  }
  return party;
}

/** The connection attempt's error message, or null when it connected (then it is closed again). */
export async function connectError(b: BrokerUnderTest, username: string | undefined, password?: string, extra: IClientOptions = {}): Promise<string | null> {
  try {
    const p = await connectAs(b, username, password, extra);
    await p.end();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function describeAclCases(broker: () => BrokerUnderTest): void {
  const parties: Party[] = [];
  const as = async (username: string): Promise<Party> => {
    const p = await connectAs(broker(), username);
    parties.push(p);
    return p;
  };
  afterEach(async function () {
    await Promise.all(parties.splice(0).map((p) => p.end()));
  });

  it('lets a site publish its own telemetry, state, alarms and command acks, which the cloud receives', async function () {
    const cloud = await as('cloud');
    assert.deepEqual(await cloud.subscribe('lifo4/+/telemetry', 'lifo4/+/state', 'lifo4/+/alarm', 'lifo4/+/cmd/ack'), [1, 1, 1, 1]);
    const a = await as(SITE_A);
    for (const suffix of ['telemetry', 'state', 'alarm', 'cmd/ack']) await a.publish(`lifo4/${SITE_A}/${suffix}`, `a:${suffix}`);
    for (const suffix of ['telemetry', 'state', 'alarm', 'cmd/ack']) await cloud.received(`a:${suffix}`);
  });

  it('lets a site read its own commands, telemetry acks and OTA notices, sent by the cloud', async function () {
    const a = await as(SITE_A);
    assert.deepEqual(await a.subscribe(`lifo4/${SITE_A}/cmd`, `lifo4/${SITE_A}/telemetry/ack`, `lifo4/${SITE_A}/ota`), [1, 1, 1]);
    const cloud = await as('cloud');
    for (const suffix of ['cmd', 'telemetry/ack', 'ota']) await cloud.publish(`lifo4/${SITE_A}/${suffix}`, `to-a:${suffix}`);
    for (const suffix of ['cmd', 'telemetry/ack', 'ota']) await a.received(`to-a:${suffix}`);
  });

  it('does not let site A publish telemetry as site B', async function () {
    const cloud = await as('cloud');
    await cloud.subscribe('lifo4/+/telemetry');
    const a = await as(SITE_A);
    const outcome = await a.tryPublish(`lifo4/${SITE_B}/telemetry`, 'forged-by-a');
    assert.equal(outcome, broker().refusedPublishCloses ? 'closed' : 'acked');
    const b = await as(SITE_B);
    await b.publish(`lifo4/${SITE_B}/telemetry`, 'real-b');
    await cloud.received('real-b');
    assert.deepEqual(cloud.payloads(), ['real-b']);
  });

  it('does not let site A publish commands or acks for anyone, itself included', async function () {
    const b = await as(SITE_B);
    await b.subscribe(`lifo4/${SITE_B}/cmd`, `lifo4/${SITE_B}/telemetry/ack`);
    for (const topic of [`lifo4/${SITE_B}/cmd`, `lifo4/${SITE_B}/telemetry/ack`, `lifo4/${SITE_A}/cmd`]) {
      const a = await as(SITE_A);
      await a.tryPublish(topic, `forged:${topic}`);
    }
    const cloud = await as('cloud');
    await cloud.publish(`lifo4/${SITE_B}/cmd`, 'real-cmd');
    await b.received('real-cmd');
    assert.deepEqual(b.payloads(), ['real-cmd']);
  });

  it("does not deliver site B's commands to site A, even when A subscribes to them", async function () {
    const a = await as(SITE_A);
    await a.subscribe(`lifo4/${SITE_B}/cmd`, `lifo4/${SITE_A}/cmd`);
    const b = await as(SITE_B);
    await b.subscribe(`lifo4/${SITE_B}/cmd`);
    const cloud = await as('cloud');
    await cloud.publish(`lifo4/${SITE_B}/cmd`, 'for-b');
    await cloud.publish(`lifo4/${SITE_A}/cmd`, 'for-a');
    await b.received('for-b');
    await a.received('for-a');
    assert.deepEqual(a.payloads(), ['for-a']);
  });

  it('does not deliver other sites\' traffic to a site subscribed to lifo4/# or lifo4/+/cmd', async function () {
    const a = await as(SITE_A);
    const granted = await a.subscribe('lifo4/#', 'lifo4/+/cmd', '#', `lifo4/${SITE_A}/cmd`);
    assert.equal(granted[3], 1, 'its own command topic is granted');
    const b = await as(SITE_B);
    await b.publish(`lifo4/${SITE_B}/telemetry`, 'b-telemetry');
    const cloud = await as('cloud');
    await cloud.publish(`lifo4/${SITE_B}/cmd`, 'for-b');
    await cloud.publish(`lifo4/${SITE_B}/telemetry/ack`, 'ack-b');
    await cloud.publish(`lifo4/${SITE_A}/cmd`, 'for-a');
    await a.received('for-a');
    assert.deepEqual([...new Set(a.payloads())], ['for-a']);
  });

  it('lets the cloud read the whole fleet, also through a shared subscription', async function () {
    const cloud = await as('cloud');
    assert.deepEqual(await cloud.subscribe('$share/ingest/lifo4/+/telemetry'), [1]);
    const a = await as(SITE_A);
    const b = await as(SITE_B);
    await a.publish(`lifo4/${SITE_A}/telemetry`, 'a-1');
    await b.publish(`lifo4/${SITE_B}/telemetry`, 'b-1');
    await cloud.received('a-1');
    await cloud.received('b-1');
  });

  it('refuses a wrong password, an unknown user and an anonymous client', async function () {
    assert.match((await connectError(broker(), SITE_A, 'wrong-password')) ?? 'connected', /not authorized|bad user ?name or password/i);
    assert.match((await connectError(broker(), 'site-unknown', 'whatever')) ?? 'connected', /not authorized|bad user ?name or password/i);
    assert.match((await connectError(broker(), undefined)) ?? 'connected', /not authorized|bad user ?name or password/i);
    assert.equal(await connectError(broker(), SITE_A), null, 'the right password still connects');
  });
}
