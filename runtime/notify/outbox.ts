// The durable queue of notifications in cloud.db (notify_outbox): every e-mail and webhook
// delivery is a row before anything is sent, so a restart or a mail server that is down delays a
// message and loses none. A row is 'queued' (due at next_at), 'held' (quiet hours: due when they
// end), 'sent', 'failed' (given up after the maximum age) or 'cancelled' (its alarm was silenced).
// The rows stay as the delivery log of each alarm and each webhook.
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

  enqueue(m: NewMessage): number {
    const now = this.now();
    const at = Math.max(now, m.notBefore ?? now);
    const r = this.db
      .prepare('INSERT INTO notify_outbox (channel, recipient, user_id, alarm_id, kind, level, payload, state, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.channel, m.recipient, m.userId ?? null, m.alarmId ?? null, m.kind, m.level ?? 0, JSON.stringify(m.payload), m.held ? 'held' : 'queued', at, now);
    return Number(r.lastInsertRowid);
  }

  /** The rows due now, oldest first. */
  due(limit = 20): OutboxRow[] {
    return this.db.prepare("SELECT * FROM notify_outbox WHERE state IN ('queued', 'held') AND next_at <= ? ORDER BY next_at, id LIMIT ?").all(this.now(), limit) as OutboxRow[];
  }

  get(id: number): OutboxRow | undefined {
    return this.db.prepare('SELECT * FROM notify_outbox WHERE id = ?').get(id) as OutboxRow | undefined;
  }

  sent(id: number, status: number | null): void {
    this.db.prepare("UPDATE notify_outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, last_status = ?, last_error = NULL WHERE id = ?").run(this.now(), status, id);
  }

  /** A failed attempt: tried again at `nextAt`, or given up ('failed') when `nextAt` is null. */
  failed(id: number, error: string, status: number | null, nextAt: number | null): void {
    this.db
      .prepare('UPDATE notify_outbox SET state = ?, attempts = attempts + 1, next_at = COALESCE(?, next_at), last_error = ?, last_status = ? WHERE id = ?')
      .run(nextAt === null ? 'failed' : 'queued', nextAt, error.slice(0, 500), status, id);
  }

  cancel(id: number, reason: string): void {
    this.db.prepare("UPDATE notify_outbox SET state = 'cancelled', last_error = ? WHERE id = ? AND state IN ('queued', 'held')").run(reason, id);
  }

  /** Drops what is still waiting for an alarm (it was silenced); returns how many. */
  cancelForAlarm(alarmId: number, reason: string): number {
    return this.db.prepare("UPDATE notify_outbox SET state = 'cancelled', last_error = ? WHERE alarm_id = ? AND state IN ('queued', 'held')").run(reason, alarmId).changes;
  }

  forAlarm(alarmId: number): DeliveryView[] {
    return (this.db.prepare('SELECT * FROM notify_outbox WHERE alarm_id = ? ORDER BY id').all(alarmId) as OutboxRow[]).map(deliveryView);
  }

  forAlarms(alarmIds: readonly number[]): Map<number, OutboxRow[]> {
    const out = new Map<number, OutboxRow[]>();
    // SQLite's limit on parameters: a page of alarms is at most 1000 (routes.ts), so chunks of 500.
    for (let i = 0; i < alarmIds.length; i += 500) {
      const ids = alarmIds.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT * FROM notify_outbox WHERE alarm_id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`).all(...ids) as OutboxRow[];
      for (const r of rows) {
        const list = out.get(r.alarm_id as number);
        if (list) list.push(r);
        else out.set(r.alarm_id as number, [r]);
      }
    }
    return out;
  }

  forRecipient(channel: Channel, recipient: string, limit: number): DeliveryView[] {
    return (this.db.prepare('SELECT * FROM notify_outbox WHERE channel = ? AND recipient = ? ORDER BY id DESC LIMIT ?').all(channel, recipient, limit) as OutboxRow[]).map(deliveryView);
  }
}
