// A site as the cloud sees it, played with plain mqtt.js: publishes TelemetryBatches, collects the
// cloud's TelemetryAcks, keeps a retained state and answers commands when told to.
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { TelemetryAckSchema, type SiteState, type TelemetryAck, type TelemetryRecord } from '../../../domain/contracts';
import { topics } from '../../../domain/topics';

export class EdgeClient {
  readonly acks: TelemetryAck[] = [];
  readonly acked = new Set<number>();
  readonly messages: { topic: string; payload: Buffer }[] = [];

  private constructor(readonly siteId: string, readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      this.messages.push({ topic, payload });
      if (topic !== topics.telemetryAck(siteId)) return;
      const a = TelemetryAckSchema.parse(JSON.parse(payload.toString('utf8')));
      this.acks.push(a);
      for (const [from, to] of a.ranges) for (let s = from; s <= to; s++) this.acked.add(s);
    });
  }

  static async connect(url: string, siteId: string, opts: IClientOptions = {}): Promise<EdgeClient> {
    const client = connect(url, { reconnectPeriod: 200, clientId: `${siteId}:edge-${Math.random().toString(16).slice(2)}` /* bound to the site (runtime/broker/acl.ts) */, ...opts });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const edge = new EdgeClient(siteId, client);
    await client.subscribeAsync([topics.telemetryAck(siteId), topics.cmd(siteId)], { qos: 1 });
    return edge;
  }

  publishRaw(payload: string | Buffer, siteOfTopic = this.siteId): Promise<unknown> {
    return this.client.publishAsync(topics.telemetry(siteOfTopic), payload, { qos: 1 });
  }

  send(records: TelemetryRecord[]): Promise<unknown> {
    return this.publishRaw(JSON.stringify({ v: 1, siteId: this.siteId, records }));
  }

  state(state: SiteState['state']): Promise<unknown> {
    const s: SiteState = { v: 1, siteId: this.siteId, state, ts: Date.now() };
    return this.client.publishAsync(topics.state(this.siteId), JSON.stringify(s), { qos: 1, retain: true });
  }

  /** Sends until every record is acked, resending the unacked ones every `everyMs` (as the real edge does). */
  async sendUntilAcked(records: TelemetryRecord[], batchSize = 50, everyMs = 500, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = records.filter((r) => !this.acked.has(r.seq));
      if (!open.length) return;
      if (Date.now() > deadline) throw new Error(`${this.siteId}: ${open.length} records never acked`);
      for (let i = 0; i < open.length; i += batchSize) await this.send(open.slice(i, i + batchSize));
      const until = Date.now() + everyMs;
      while (Date.now() < until && records.some((r) => !this.acked.has(r.seq))) await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}

/** Polls until `check` holds; fails with `what` after `ms`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
