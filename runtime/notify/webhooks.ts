// An organisation's webhooks: an ADMIN registers a URL (README, "Notifications"); the cloud
// generates its signing secret, shows it once, and keeps it sealed in cloud.db. Every delivery is
// a JSON POST signed with HMAC-SHA256 over "<timestamp>.<body>" in the X-Lifo4-Signature header, so
// the receiver can check both who sent it and that it is not a replay of an old one.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Severity } from '../../domain/notifications/rules';
import { sql } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';
import { notFound } from '../api/errors';
import type { SecretBox } from '../api/totp';

export const SIGNATURE_HEADER = 'x-lifo4-signature';
export const TIMESTAMP_HEADER = 'x-lifo4-timestamp';
export const EVENT_HEADER = 'x-lifo4-event';
export const DELIVERY_HEADER = 'x-lifo4-delivery';

/** "sha256=<hex>" of HMAC-SHA256(secret, "<timestamp>.<body>"). */
export function webhookSignature(secret: string, timestampS: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex')}`;
}

interface WebhookRow {
  id: string; org_id: string; url: string; secret: string; min_severity: Severity; created_by: string | null; created_at: number; disabled: number;
}

export interface WebhookView {
  id: string;
  orgId: string;
  url: string;
  minSeverity: Severity;
  createdBy: string | null;
  createdAt: string;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export class WebhookStore {
  constructor(private readonly db: CloudDb, private readonly box: SecretBox) {}

  private view(r: WebhookRow): WebhookView {
    return { id: r.id, orgId: r.org_id, url: r.url, minSeverity: r.min_severity, createdBy: r.created_by, createdAt: new Date(r.created_at).toISOString() };
  }

  /** Registers a webhook; the answer carries its secret, which is never shown again. */
  async create(w: { orgId: string; url: string; minSeverity: Severity; createdBy: string }): Promise<WebhookView & { secret: string }> {
    const id = randomUUID();
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    await this.db.run(sql`INSERT INTO notify_webhooks (id, org_id, url, secret, min_severity, created_by, created_at)
      VALUES (${id}, ${w.orgId}, ${w.url}, ${this.box.seal(secret)}, ${w.minSeverity}, ${w.createdBy}, ${Date.now()})`);
    return { ...this.view((await this.row(id)) as WebhookRow), secret };
  }

  private row(id: string): Promise<WebhookRow | undefined> {
    return this.db.one(sql<WebhookRow>`SELECT * FROM notify_webhooks WHERE id = ${id} AND disabled = 0`);
  }

  /** The webhook if the caller's organisation owns it (null org = any: SUPER_ADMIN). */
  async get(id: string, orgId: string | null): Promise<WebhookView | undefined> {
    const r = await this.row(id);
    return r && (orgId === null || r.org_id === orgId) ? this.view(r) : undefined;
  }

  async list(orgId: string | null): Promise<WebhookView[]> {
    const rows = await (orgId === null
      ? this.db.all(sql<WebhookRow>`SELECT * FROM notify_webhooks WHERE disabled = 0 ORDER BY created_at`)
      : this.db.all(sql<WebhookRow>`SELECT * FROM notify_webhooks WHERE disabled = 0 AND org_id = ${orgId} ORDER BY created_at`));
    return rows.map((r) => this.view(r));
  }

  /** Removes a webhook; its delivery log stays (the outbox rows name it by id). */
  async remove(id: string, orgId: string | null): Promise<WebhookView> {
    const v = await this.get(id, orgId);
    if (!v) throw notFound(`webhook ${id}`);
    await this.db.run(sql`UPDATE notify_webhooks SET disabled = 1 WHERE id = ${id}`);
    return v;
  }

  /** Where and with which secret to deliver, or undefined when the webhook is gone. */
  async target(id: string): Promise<{ url: string; secret: string } | undefined> {
    const r = await this.row(id);
    return r ? { url: r.url, secret: this.box.open(r.secret) } : undefined;
  }

  /** The webhooks of an organisation that want an alarm of this severity. */
  async forAlarm(orgId: string, severity: Severity): Promise<WebhookView[]> {
    return (await this.list(orgId)).filter((w) => RANK[severity] >= RANK[w.minSeverity]);
  }
}
