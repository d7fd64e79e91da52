// Moves buffered telemetry records to the cloud: in seq order, in batches, at a bounded rate, with
// a bounded number of records in flight, and forgets a record only when the cloud's application
// ack (lifo4/<siteId>/telemetry/ack, sent after the records are committed to its store) names it.
// A PUBACK only means the broker has the message, and a broker without persistence loses it on
// restart, so every batch that is not acked within the ack timeout is sent again, as is
// everything unacked after a reconnect. The cloud deduplicates by (siteId, seq).
//
// Strict seq order also while a backlog drains: live records are appended behind the backlog and
// go out in their turn (the drain rate bounds how long that takes), so a cloud that tracks the
// highest seq it stored never sees a newer record before an older one.
import { MAX_MQTT_PAYLOAD_BYTES, TelemetryAckSchema, describeIssues, type TelemetryAck } from '../../domain/contracts';
import { topics } from '../../domain/topics';
import type { MqttLink } from '../mqtt-link/link';
import type { TelemetryBuffer } from '../../io/buffer/telemetry-buffer';

export interface SenderOptions {
  siteId: string;
  buffer: TelemetryBuffer;
  link: MqttLink;
  /** Resend what is not acked after this long, ms. */
  ackTimeoutMs: number;
  /** Most records per second while draining. */
  drainRatePerS: number;
  /** Most records per batch (TelemetryBatchSchema allows 1000). */
  batchSize: number;
  /** Most records sent and not yet acked. */
  maxInFlight: number;
  /** Called when something worth showing changed (connection, backlog, acks). */
  onChange?: () => void;
  log?: (level: 'warn' | 'debug', text: string) => void;
}

interface Batch {
  first: number;
  last: number;
  sentAt: number;
  remaining: number;
}

/** Room for the batch envelope around the records. */
const ENVELOPE_BYTES = 256;
export const MAX_BATCH_BYTES = MAX_MQTT_PAYLOAD_BYTES - ENVELOPE_BYTES;

export class TelemetrySender {
  readonly stats = { batches: 0, sent: 0, acked: 0, resends: 0, badAcks: 0 };
  private cursor = 0;
  private readonly inFlight = new Map<number, Batch>();
  private readonly batches = new Set<Batch>();
  private tokens: number;
  private lastRefill = Date.now();
  private pumpTimer: NodeJS.Timeout | null = null;
  private readonly watchdog: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private stopped = false;
  private readonly onConnect = (): void => this.restart('connected');
  private readonly onOffline = (): void => {
    this.forgetInFlight();
    this.opts.onChange?.();
  };

  constructor(private readonly opts: SenderOptions) {
    this.tokens = opts.batchSize;
    this.unsubscribe = opts.link.subscribe(topics.telemetryAck(opts.siteId), 1, (_topic, payload) => this.onAck(payload));
    opts.link.on('connect', this.onConnect);
    opts.link.on('offline', this.onOffline);
    this.watchdog = setInterval(() => this.checkAckTimeout(), Math.max(50, Math.min(1000, opts.ackTimeoutMs / 4)));
    if (opts.link.connected) this.pump();
  }

  /** Records in flight (sent, not yet acked). */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** New records were appended: send them when the window and the rate allow. */
  notify(): void {
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.watchdog);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    this.unsubscribe();
    this.opts.link.removeListener('connect', this.onConnect);
    this.opts.link.removeListener('offline', this.onOffline);
  }

  /** Apply one ack payload: delete exactly its ranges from the buffer. Returns false when refused. */
  onAck(payload: Buffer): boolean {
    let ack: TelemetryAck;
    try {
      const parsed = TelemetryAckSchema.safeParse(JSON.parse(payload.toString()));
      if (!parsed.success) throw new Error(describeIssues(parsed.error));
      ack = parsed.data;
    } catch (err) {
      this.stats.badAcks++;
      this.opts.log?.('warn', `telemetry ack refused: ${(err as Error).message}`);
      return false;
    }
    if (ack.siteId !== this.opts.siteId) {
      this.stats.badAcks++;
      this.opts.log?.('warn', `telemetry ack for site ${ack.siteId} refused (this is ${this.opts.siteId})`);
      return false;
    }
    this.stats.acked += this.opts.buffer.ack(ack.ranges);
    for (const [seq, batch] of this.inFlight) {
      if (!ack.ranges.some(([from, to]) => seq >= from && seq <= to)) continue;
      this.inFlight.delete(seq);
      if (--batch.remaining === 0) this.batches.delete(batch);
    }
    this.opts.onChange?.();
    this.pump();
    return true;
  }

  /** Send again from the oldest unacked record. */
  private restart(why: string): void {
    this.opts.log?.('debug', `resending unacked records from the start: ${why}`);
    this.forgetInFlight();
    this.opts.onChange?.();
    this.pump();
  }

  private forgetInFlight(): void {
    this.cursor = 0;
    this.inFlight.clear();
    this.batches.clear();
  }

  private checkAckTimeout(): void {
    const oldest = this.batches.values().next();
    if (oldest.done || Date.now() - oldest.value.sentAt < this.opts.ackTimeoutMs) return;
    this.stats.resends++;
    this.restart(`no ack for seq ${oldest.value.first}-${oldest.value.last} within ${this.opts.ackTimeoutMs} ms`);
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.opts.batchSize, this.tokens + ((now - this.lastRefill) / 1000) * this.opts.drainRatePerS);
    this.lastRefill = now;
  }

  private pump(): void {
    if (this.stopped || this.pumpTimer || !this.opts.link.connected) return;
    for (;;) {
      const room = this.opts.maxInFlight - this.inFlight.size;
      if (room <= 0) return;
      this.refill();
      const want = Math.min(this.opts.batchSize, room);
      const peek = this.opts.buffer.pending(this.cursor, want, MAX_BATCH_BYTES);
      if (peek.length === 0) return;
      // Rate: a batch goes when the bucket holds enough tokens for it; else come back when it will.
      if (this.tokens < peek.length) {
        const waitMs = Math.ceil(((peek.length - this.tokens) / this.opts.drainRatePerS) * 1000);
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, Math.max(1, waitMs));
        return;
      }
      this.tokens -= peek.length;
      const batch: Batch = { first: peek[0]!.seq, last: peek.at(-1)!.seq, sentAt: Date.now(), remaining: peek.length };
      for (const r of peek) this.inFlight.set(r.seq, batch);
      this.batches.add(batch);
      this.cursor = batch.last;
      const payload = `{"v":1,"siteId":${JSON.stringify(this.opts.siteId)},"records":[${peek.map((r) => r.json).join(',')}]}`;
      this.stats.batches++;
      this.stats.sent += peek.length;
      this.opts.link.publish(topics.telemetry(this.opts.siteId), payload, { qos: 1 }).catch((err: Error) => {
        // The client gave up on it (e.g. closed): the ack timeout or the next connect resends it.
        this.opts.log?.('debug', `batch ${batch.first}-${batch.last} not published: ${err.message}`);
      });
    }
  }
}
