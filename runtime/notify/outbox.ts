// The durable queue of notifications in cloud.db (notify_outbox): every e-mail and webhook
// delivery is a row before anything is sent, so a restart or a mail server that is down delays a
// message and loses none. A row is 'queued' (due at next_at), 'held' (quiet hours: due when they
// end), 'sent', 'failed' (given up after the maximum age) or 'cancelled' (its alarm was silenced).
// The rows stay as the delivery log of each alarm and each webhook. Every cloud process delivers:
// claim() hands each due row to one of them.
import { sql } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';

export const OUTBOX_STATES = ['queued', 'held', 'sent', 'failed', 'cancelled'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];
export type Channel = 'email' | 'webhook';
export type MessageKind = 'alarm' | 'escalation' | 'test' | 'mail';

export interface MailAttachment {
  filename: string;
  contentType?: string | undefined;
  /** The bytes, base64 (the row is JSON). */
  contentBase64: string;
}

export interface MailPayload {
  subject: string;
  text: string;
  attachments?: MailAttachment[];
}

export interface OutboxRow {
  id: number;
  channel: Channel;
  recipient: string;
  user_id: string | null;
  alarm_id: number | null;
  kind: MessageKind;
  level: number;
  payload: string;
  state: OutboxState;
  attempts: number;
  next_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
  last_status: number | null;
}

export interface NewMessage {
  channel: Channel;
  recipient: string;
  userId?: string | null;
  alarmId?: number | null;
  kind: MessageKind;
  level?: number;
  payload: unknown;
  /** Not before this time; default now. */
  notBefore?: number;
  /** Held back by the recipient's quiet hours (shown as such). */
  held?: boolean;
}

/** What the API shows of one delivery. */
export interface DeliveryView {
  id: number;
  channel: Channel;
  recipient: string;
  kind: MessageKind;
  level: number;
  state: OutboxState;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  sentAt: string | null;
  lastError: string | null;
  lastStatus: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function deliveryView(r: OutboxRow): DeliveryView {
  return {
    id: r.id, channel: r.channel, recipient: r.recipient, kind: r.kind, level: r.level, state: r.state, attempts: r.attempts,
    createdAt: iso(r.created_at) as string, nextAttemptAt: r.state === 'queued' || r.state === 'held' ? iso(r.next_at) : null,
    sentAt: iso(r.sent_at), lastError: r.last_error, lastStatus: r.last_status,
  };
}

export class Outbox {
  constructor(private readonly db: CloudDb, private readonly now: () => number = Date.now) {}

  /** Queues a message; `within`: the transaction to write it in (default its own statement). */
  async enqueue(m: NewMessage, within: CloudDb = this.db): Promise<number> {
    const now = this.now();
    const at = Math.max(now, m.notBefore ?? now);
    const r = await within.one(sql<{ id: number }>`INSERT INTO notify_outbox (channel, recipient, user_id, alarm_id, kind, level, payload, state, next_at, created_at)
      VALUES (${m.channel}, ${m.recipient}, ${m.userId ?? null}, ${m.alarmId ?? null}, ${m.kind}, ${m.level ?? 0}, ${JSON.stringify(m.payload)}, ${m.held ? 'held' : 'queued'}, ${at}, ${now})
      RETURNING id`);
    return Number(r?.id);
  }

  /** The rows due now, oldest first (what claim() takes; changes nothing). */
  due(limit = 20): Promise<OutboxRow[]> {
    return this.db.all(sql<OutboxRow>`SELECT * FROM notify_outbox WHERE state IN ('queued', 'held') AND next_at <= ${this.now()} ORDER BY next_at, id LIMIT ${limit}`);
  }

  /**
   * Takes the rows due now for one delivery attempt, oldest first: their next_at moves `forMs`
   * ahead in the same statement, so another cloud process's pass skips them, and a process that
   * dies while sending leaves them due again after `forMs`. (The repeated conditions outside the
   * subquery make PostgreSQL look at a row again after waiting for another claim of it.) `channel`:
   * only rows of that channel.
   */
  async claim(limit = 20, forMs = 5 * 60_000, channel?: Channel): Promise<OutboxRow[]> {
    const now = this.now();
    const of = channel === undefined ? sql`` : sql` AND channel = ${channel}`;
    const rows = await this.db.all(sql<OutboxRow>`UPDATE notify_outbox SET next_at = ${now + forMs}
      WHERE id IN (SELECT id FROM notify_outbox WHERE state IN ('queued', 'held') AND next_at <= ${now}${of} ORDER BY next_at, id LIMIT ${limit})
        AND state IN ('queued', 'held') AND next_at <= ${now}
      RETURNING *`);
    return rows.sort((x, y) => x.id - y.id);
  }

  get(id: number): Promise<OutboxRow | undefined> {
    return this.db.one(sql<OutboxRow>`SELECT * FROM notify_outbox WHERE id = ${id}`);
  }

  async sent(id: number, status: number | null): Promise<void> {
    await this.db.run(sql`UPDATE notify_outbox SET state = 'sent', attempts = attempts + 1, sent_at = ${this.now()}, last_status = ${status}, last_error = NULL WHERE id = ${id}`);
  }

  /** A failed attempt: tried again at `nextAt`, or given up ('failed') when `nextAt` is null. */
  async failed(id: number, error: string, status: number | null, nextAt: number | null): Promise<void> {
    await this.db.run(sql`UPDATE notify_outbox SET state = ${nextAt === null ? 'failed' : 'queued'}, attempts = attempts + 1,
      next_at = COALESCE(${nextAt}, next_at), last_error = ${error.slice(0, 500)}, last_status = ${status} WHERE id = ${id}`);
  }

  async cancel(id: number, reason: string): Promise<void> {
    await this.db.run(sql`UPDATE notify_outbox SET state = 'cancelled', last_error = ${reason} WHERE id = ${id} AND state IN ('queued', 'held')`);
  }

  /** Drops what is still waiting for an alarm (it was silenced); resolves to how many. */
  cancelForAlarm(alarmId: number, reason: string): Promise<number> {
    return this.db.run(sql`UPDATE notify_outbox SET state = 'cancelled', last_error = ${reason} WHERE alarm_id = ${alarmId} AND state IN ('queued', 'held')`);
  }

  async forAlarm(alarmId: number): Promise<DeliveryView[]> {
    return (await this.db.all(sql<OutboxRow>`SELECT * FROM notify_outbox WHERE alarm_id = ${alarmId} ORDER BY id`)).map(deliveryView);
  }

  async forAlarms(alarmIds: readonly number[]): Promise<Map<number, OutboxRow[]>> {
    const out = new Map<number, OutboxRow[]>();
    // SQLite's limit on parameters: a page of alarms is at most 1000 (routes.ts), so chunks of 500.
    for (let i = 0; i < alarmIds.length; i += 500) {
      const ids = alarmIds.slice(i, i + 500);
      const rows = await this.db.all(sql<OutboxRow>`SELECT * FROM notify_outbox WHERE alarm_id IN (${sql.join(ids)}) ORDER BY id`);
      for (const r of rows) {
        const list = out.get(r.alarm_id as number);
        if (list) list.push(r);
        else out.set(r.alarm_id as number, [r]);
      }
    }
    return out;
  }

  async forRecipient(channel: Channel, recipient: string, limit: number): Promise<DeliveryView[]> {
    return (await this.db.all(sql<OutboxRow>`SELECT * FROM notify_outbox WHERE channel = ${channel} AND recipient = ${recipient} ORDER BY id DESC LIMIT ${limit}`)).map(deliveryView);
  }
}
