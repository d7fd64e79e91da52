// The cloud's notifier (README, "Notifications"): listens to the alarm store's changes, decides
// who gets what (domain/notifications), queues e-mails and webhook deliveries in the durable
// outbox, escalates unacknowledged critical alarms up the roles, and delivers the outbox with
// retries and backoff. Everything it decides is in cloud.db before anything is sent, so a restart
// resumes where it stopped. Several cloud processes on one database each run one: an alarm change
// is handled by the process where it happened, an escalation step and an outbox row by the one
// process whose update claimed it.
import { sql } from 'kysely';
import type { Role } from '../../domain/roles';
import { retryDelayMs, type Backoff } from '../../domain/notifications/backoff';
import { summariseDelivery, type DeliverySummary } from '../../domain/notifications/delivery';
import { continuedEpisode, type NotifiedEpisode } from '../../domain/notifications/episodes';
import { deliverAt } from '../../domain/notifications/quiet-hours';
import { escalates, escalationLadder, escalationRecipients, recipientsOf, type Candidate } from '../../domain/notifications/recipients';
import { defaultRules, type NotificationRules } from '../../domain/notifications/rules';
import { EPISODE_WINDOW_MS } from '../../domain/alarm-episodes';
import type { AlarmEventView, AlarmStore, AlarmView } from '../api/alarms';
import type { CloudDb } from '../cloud-db/cloud-db';
import type { SiteStore } from '../api/sites';
import { alarmMail, alarmWebhook, notice, type WebhookBody } from './messages';
import type { MailSender } from './mailer';
import { Outbox, type DeliveryView, type MailAttachment, type MailPayload, type OutboxRow } from './outbox';
import { NotificationRulesSchema } from './rules-schema';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature, type WebhookStore } from './webhooks';

export interface NotifierOptions {
  db: CloudDb;
  alarms: AlarmStore;
  sites: SiteStore;
  webhooks: WebhookStore;
  /** The SMTP sender, or null when no --smtp-url is set (no e-mail is queued). */
  mail: MailSender | null;
  /** How long a critical alarm may stay unacknowledged before the next role up is told (--notify-escalate-s). */
  escalateAfterMs: number;
  /** Retry delays of a failed delivery (--notify-retry-s is the base). */
  backoff: Backoff;
  /** A delivery still failing this long after it was queued is given up (default 3 days). */
  maxAgeMs?: number;
  /** How often the queue and the escalations are looked at, ms (default 1000). */
  tickMs?: number;
  /**
   * How long the first message of an alarm waits for the rest of its episode, ms (default 2000): a
   * BMS warns a moment before the controller's own over-temperature alarm, and the warning then
   * turns out to be a consequence; its message is dropped and the root's message tells the story.
   */
  groupMs?: number;
  /** How long a webhook may take to answer, ms (default 10 s). */
  webhookTimeoutMs?: number;
  log: (line: string) => void;
  now?: () => number;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  attachments?: { filename: string; content: Uint8Array | string; contentType?: string }[];
}

interface UserLine { id: string; email: string; role: Role; org_id: string }

export type AlarmDelivery = DeliverySummary;

export class Notifier {
  readonly outbox: Outbox;
  readonly #o: NotifierOptions;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #busy = false;
  #closed = false;
  /** Alarm changes are handled one after the other, in the order they happened. */
  #changes: Promise<void> = Promise.resolve();
  readonly #onChange = (a: AlarmView, event: AlarmEventView['event']) => {
    this.#changes = this.#changes.then(() => this.onAlarm(a, event)).catch((err: unknown) => {
      this.#o.log(`notify: alarm ${a.id} ${event}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    });
  };

  /** Resolves once the alarm changes seen so far are handled (their messages queued). */
  settled(): Promise<void> {
    return this.#changes;
  }

  constructor(o: NotifierOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.outbox = new Outbox(o.db, this.#now);
    o.alarms.on('change', this.#onChange);
    this.#timer = setInterval(() => void this.tick(), o.tickMs ?? 1000);
    this.#timer.unref();
  }

  get emailConfigured(): boolean {
    return this.#o.mail !== null;
  }

  // ------------------------------------------------------------------ rules

  async rulesOf(userId: string): Promise<NotificationRules | null> {
    const row = await this.#o.db.one(sql<{ rules: string }>`SELECT rules FROM notify_rules WHERE user_id = ${userId}`);
    if (!row) return null;
    const parsed = NotificationRulesSchema.safeParse(JSON.parse(row.rules));
    if (!parsed.success) this.#o.log(`notify: stored rules of user ${userId} are unreadable; using the defaults`);
    return parsed.success ? parsed.data : null;
  }

  async effectiveRules(userId: string, role: Role): Promise<{ rules: NotificationRules; saved: boolean }> {
    const saved = await this.rulesOf(userId);
    return { rules: saved ?? defaultRules(role), saved: saved !== null };
  }

  async setRules(userId: string, rules: NotificationRules): Promise<void> {
    await this.#o.db.run(sql`INSERT INTO notify_rules (user_id, rules, updated_at) VALUES (${userId}, ${JSON.stringify(rules)}, ${this.#now()})
      ON CONFLICT (user_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`);
  }

  /** Everyone (not disabled) who sees the site, with their rules. */
  private async seeing(siteId: string): Promise<Candidate[]> {
    const users = await this.#o.db.all(sql<UserLine>`SELECT id, email, role, org_id FROM users WHERE disabled = 0 ORDER BY id`);
    const out: Candidate[] = [];
    for (const u of users) {
      if (!(await this.#o.sites.canSee({ userId: u.id, role: u.role, orgId: u.org_id }, siteId))) continue;
      out.push({ userId: u.id, email: u.email, role: u.role, rules: await this.rulesOf(u.id) });
    }
    return out;
  }

  // ------------------------------------------------------------------ alarms in

  private async onAlarm(a: AlarmView, event: AlarmEventView['event']): Promise<void> {
    const now = this.#now();
    const raisedAt = Date.parse(a.raisedAt);
    switch (event) {
      case 'raised':
        return this.raised(a, raisedAt, now);
      case 'repeated':
        // Raised again at a higher severity: news when nothing was queued for this alarm yet (say a
        // warning nobody subscribed to that turned critical).
        if (a.severity === 'critical' && (await this.outbox.forAlarm(a.id)).length === 0) await this.notify(a, now);
        return;
      case 'cleared': {
        const at = Date.parse(a.clearedAt ?? a.lastSeen);
        await this.#o.db.run(sql`UPDATE notify_episodes SET last_active = CASE WHEN last_active > ${at} THEN last_active ELSE ${at} END
          WHERE site_id = ${a.siteId} AND code = ${a.code}`);
        await this.stopEscalation(a.id, 'cleared');
        return;
      }
      case 'acknowledged':
        await this.stopEscalation(a.id, `acknowledged by ${a.acknowledgedBy ?? 'someone'}`);
        return;
      case 'silenced':
        await this.stopEscalation(a.id, 'silenced');
        await this.outbox.cancelForAlarm(a.id, `silenced until ${a.silencedUntil ?? '?'}`);
        return;
    }
  }

  private async raised(a: AlarmView, raisedAt: number, now: number): Promise<void> {
    const near = await this.#o.db.all(sql<NotifiedEpisode>`SELECT site_id AS "siteId", code, episode_id AS "episodeId", last_active AS "lastActive"
      FROM notify_episodes WHERE site_id = ${a.siteId} AND last_active >= ${raisedAt - 2 * EPISODE_WINDOW_MS}`);
    // The episode this alarm's root was handled in, if it was (continuedEpisode asks for no other).
    const root = a.episodeId === a.id ? undefined
      : (await this.#o.db.one(sql<{ episode_id: number }>`SELECT episode_id FROM notify_episode_alarms WHERE alarm_id = ${a.episodeId}`))?.episode_id;
    const continued = continuedEpisode({ id: a.id, siteId: a.siteId, code: a.code, episodeId: a.episodeId, raisedAt }, near, (id) => (id === a.episodeId ? root : undefined));
    const episode = continued ?? a.episodeId;
    await this.#o.db.tx(async (db) => {
      await db.run(sql`INSERT INTO notify_episodes (site_id, code, episode_id, last_active) VALUES (${a.siteId}, ${a.code}, ${episode}, ${raisedAt})
        ON CONFLICT (site_id, code) DO UPDATE SET episode_id = excluded.episode_id,
          last_active = CASE WHEN notify_episodes.last_active > excluded.last_active THEN notify_episodes.last_active ELSE excluded.last_active END`);
      await db.run(sql`INSERT INTO notify_episode_alarms (alarm_id, episode_id) VALUES (${a.id}, ${episode})
        ON CONFLICT (alarm_id) DO UPDATE SET episode_id = excluded.episode_id`);
    });
    if (continued === null) await this.notify(a, now);
    else if (escalates(a)) await this.carryEscalation(a, continued, now);
  }

  /**
   * A flap is a new alarm in an episode already notified: when the episode's escalation stopped
   * only because its alarm cleared, the new alarm takes it over where it was, so an alarm that
   * keeps coming back unacknowledged still climbs the roles.
   */
  private async carryEscalation(a: AlarmView, episode: number, now: number): Promise<void> {
    const rows = await this.#o.db.all(sql<{ level: number; next_at: number; stopped: string | null }>`SELECT e.level, e.next_at, e.stopped
      FROM notify_escalations e JOIN notify_episode_alarms m ON m.alarm_id = e.alarm_id WHERE m.episode_id = ${episode}`);
    if (rows.some((r) => r.stopped === null)) return;
    const cleared = rows.filter((r) => r.stopped === 'cleared').sort((x, y) => y.level - x.level)[0];
    if (!cleared) return;
    await this.#o.db.run(sql`INSERT INTO notify_escalations (alarm_id, site_id, level, next_at)
      VALUES (${a.id}, ${a.siteId}, ${cleared.level}, ${Math.max(cleared.next_at, now)}) ON CONFLICT (alarm_id) DO NOTHING`);
  }

  /** Queues the first messages of an alarm and starts its escalation. */
  private async notify(a: AlarmView, now: number): Promise<void> {
    const seeing = await this.seeing(a.siteId);
    await this.queueFor(a, 0, this.#o.mail ? recipientsOf(a, seeing) : [], now);
    if (escalates(a)) {
      await this.#o.db.run(sql`INSERT INTO notify_escalations (alarm_id, site_id, level, next_at)
        VALUES (${a.id}, ${a.siteId}, 0, ${now + this.#o.escalateAfterMs}) ON CONFLICT (alarm_id) DO NOTHING`);
    }
  }

  private async queueFor(a: AlarmView, level: number, to: readonly Candidate[], now: number): Promise<void> {
    const n = notice(a);
    const mail = alarmMail(n, level, this.#o.escalateAfterMs);
    const kind = level === 0 ? 'alarm' : 'escalation';
    const grouped = level === 0 ? now + (this.#o.groupMs ?? 2000) : now;
    for (const c of to) {
      const quietEnd = deliverAt(now, (c.rules ?? defaultRules(c.role)).quietHours);
      await this.outbox.enqueue({
        channel: 'email', recipient: c.email, userId: c.userId, alarmId: a.id, kind, level, payload: mail satisfies MailPayload,
        notBefore: Math.max(grouped, quietEnd), held: quietEnd > now,
      });
    }
    const site = await this.#o.sites.get(a.siteId);
    if (!site) return;
    for (const w of await this.#o.webhooks.forAlarm(site.org_id, a.severity)) {
      await this.outbox.enqueue({ channel: 'webhook', recipient: w.id, alarmId: a.id, kind, level, payload: alarmWebhook(n, level, now) satisfies WebhookBody, notBefore: grouped });
    }
  }

  private async stopEscalation(alarmId: number, why: string): Promise<void> {
    await this.#o.db.run(sql`UPDATE notify_escalations SET stopped = ${why} WHERE alarm_id = ${alarmId} AND stopped IS NULL`);
  }

  /** The next role up for every escalation that is due. */
  private async escalate(now: number): Promise<void> {
    const due = await this.#o.db.all(sql<{ alarm_id: number; level: number }>`SELECT alarm_id, level FROM notify_escalations WHERE stopped IS NULL AND next_at <= ${now}`);
    for (const e of due) {
      const a = await this.#o.alarms.get(e.alarm_id);
      if (!a || a.state !== 'active') {
        await this.stopEscalation(e.alarm_id, a ? a.state : 'gone');
        continue;
      }
      if (a.silenced) {
        await this.stopEscalation(e.alarm_id, 'silenced');
        continue;
      }
      // Raised before its cause, it turned out a consequence: the root's escalation carries the episode.
      const merged = await this.mergedInto(a);
      if (merged !== null) {
        await this.stopEscalation(e.alarm_id, `part of alarm episode ${merged}`);
        continue;
      }
      const seeing = await this.seeing(a.siteId);
      const level = e.level + 1;
      if (level >= escalationLadder(seeing).length) {
        await this.stopEscalation(e.alarm_id, 'no role higher up');
        continue;
      }
      // The step is taken by the one process whose update still finds it at its level.
      const took = await this.#o.db.run(sql`UPDATE notify_escalations SET level = ${level}, next_at = ${now + this.#o.escalateAfterMs}
        WHERE alarm_id = ${e.alarm_id} AND level = ${e.level} AND stopped IS NULL`);
      if (took === 1) await this.queueFor(a, level, this.#o.mail ? escalationRecipients(level, seeing) : [], now);
    }
  }

  // ------------------------------------------------------------------ other mail

  /**
   * Queues an e-mail of any kind (a report, a test): delivered by the same queue, with the same
   * retries. Throws when no SMTP server is configured.
   */
  enqueueMail(m: OutgoingMail, opts: { userId?: string; kind?: 'mail' | 'test'; within?: CloudDb } = {}): Promise<number> {
    if (!this.#o.mail) return Promise.reject(new Error('no SMTP server is configured (--smtp-url)'));
    const attachments: MailAttachment[] = (m.attachments ?? []).map((x) => ({
      filename: x.filename, contentType: x.contentType, contentBase64: Buffer.from(x.content).toString('base64'),
    }));
    return this.outbox.enqueue({
      channel: 'email', recipient: m.to, userId: opts.userId ?? null, kind: opts.kind ?? 'mail',
      payload: { subject: m.subject, text: m.text, ...(attachments.length ? { attachments } : {}) } satisfies MailPayload,
    }, opts.within);
  }

  /** Queues a test delivery to a webhook. */
  enqueueWebhookTest(webhookId: string): Promise<number> {
    return this.outbox.enqueue({ channel: 'webhook', recipient: webhookId, kind: 'test', payload: { event: 'test', level: 0, alarm: null, ts: new Date(this.#now()).toISOString() } satisfies WebhookBody });
  }

  // ------------------------------------------------------------------ what the API shows

  async deliveryOf(alarmIds: readonly number[]): Promise<Map<number, AlarmDelivery>> {
    const rows = await this.outbox.forAlarms(alarmIds);
    return new Map(alarmIds.map((id) => [id, summariseDelivery(rows.get(id) ?? [])]));
  }

  async deliveriesOf(alarmId: number): Promise<{ deliveries: DeliveryView[]; escalation: { level: number; nextAt: string | null; stopped: string | null } | null }> {
    const e = await this.#o.db.one(sql<{ level: number; next_at: number; stopped: string | null }>`SELECT level, next_at, stopped FROM notify_escalations WHERE alarm_id = ${alarmId}`);
    return {
      deliveries: await this.outbox.forAlarm(alarmId),
      escalation: e ? { level: e.level, nextAt: e.stopped ? null : new Date(e.next_at).toISOString(), stopped: e.stopped } : null,
    };
  }

  // ------------------------------------------------------------------ delivery

  /** One pass: escalations due, then the outbox's due rows, one at a time. */
  async tick(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      await this.escalate(this.#now());
      // A mail server that cannot be reached fails every mail alike: the rest wait for the next pass.
      // One row claimed at a time: rows not yet taken stay for this pass of any process.
      let mailUnreachable = false;
      for (let n = 0; n < 20 && !this.#closed; n++) {
        const row = (await this.outbox.claim(1, CLAIM_MS, mailUnreachable ? 'webhook' : undefined))[0];
        if (!row) break;
        if ((await this.deliver(row)) === 'unreachable' && row.channel === 'email') mailUnreachable = true;
      }
    } catch (err) {
      this.#o.log(`notify: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      this.#busy = false;
    }
  }

  /** The episode root an alarm turned out to belong to, when that root was handled already. */
  private async mergedInto(a: AlarmView | undefined): Promise<number | null> {
    if (!a || a.episodeId === a.id) return null;
    const root = await this.#o.db.one(sql<{ episode_id: number }>`SELECT episode_id FROM notify_episode_alarms WHERE alarm_id = ${a.episodeId}`);
    return root ? root.episode_id : null;
  }

  private async deliver(row: OutboxRow): Promise<'done' | 'failed' | 'unreachable'> {
    const merged = row.kind === 'alarm' && row.alarm_id !== null ? await this.mergedInto(await this.#o.alarms.get(row.alarm_id)) : null;
    if (merged !== null) {
      await this.outbox.cancel(row.id, `part of alarm episode ${merged}, notified with its root`);
      return 'done';
    }
    try {
      const status = row.channel === 'email' ? await this.sendMail(row) : await this.postWebhook(row);
      await this.outbox.sent(row.id, status);
      return 'done';
    } catch (err) {
      const status = err instanceof DeliveryError ? err.status : null;
      const message = err instanceof Error ? err.message : String(err);
      const now = this.#now();
      const giveUp = now - row.created_at >= (this.#o.maxAgeMs ?? 3 * 86_400_000) || (err instanceof DeliveryError && err.permanent);
      await this.outbox.failed(row.id, message, status, giveUp ? null : now + retryDelayMs(row.attempts + 1, this.#o.backoff));
      if (giveUp) this.#o.log(`notify: gave up ${row.channel} delivery ${row.id} to ${row.recipient}: ${message}`);
      // nodemailer: an SMTP answer carries responseCode; a connection that failed does not.
      return typeof (err as { responseCode?: unknown }).responseCode === 'number' || err instanceof DeliveryError ? 'failed' : 'unreachable';
    }
  }

  private async sendMail(row: OutboxRow): Promise<null> {
    if (!this.#o.mail) throw new DeliveryError('no SMTP server is configured (--smtp-url)', null);
    await this.#o.mail.send(row.recipient, JSON.parse(row.payload) as MailPayload);
    return null;
  }

  private async postWebhook(row: OutboxRow): Promise<number> {
    const target = await this.#o.webhooks.target(row.recipient);
    if (!target) throw new DeliveryError('the webhook was removed', null, true);
    const ts = Math.floor(this.#now() / 1000);
    const event = (JSON.parse(row.payload) as WebhookBody).event;
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', 'user-agent': 'lifo4-notify',
        [EVENT_HEADER]: event, [DELIVERY_HEADER]: String(row.id), [TIMESTAMP_HEADER]: String(ts),
        [SIGNATURE_HEADER]: webhookSignature(target.secret, ts, row.payload),
      },
      body: row.payload,
      redirect: 'error',
      signal: AbortSignal.timeout(this.#o.webhookTimeoutMs ?? 10_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new DeliveryError(`the webhook answered ${res.status}`, res.status);
    return res.status;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#o.alarms.off('change', this.#onChange);
    await this.#changes;
    // A delivery in flight finishes (its row is marked), so it is not sent twice after a restart.
    for (let i = 0; i < 200 && this.#busy; i++) await new Promise((r) => setTimeout(r, 50));
    this.#o.mail?.close();
  }
}

/** How long a claimed outbox row is left to the process that claimed it, ms (it dies while sending: due again after). */
const CLAIM_MS = 5 * 60_000;

class DeliveryError extends Error {
  constructor(message: string, readonly status: number | null, readonly permanent = false) {
    super(message);
  }
}
