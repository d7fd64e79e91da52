// The cloud's notifier (README, "Notifications"): listens to the alarm store's changes, decides
// who gets what (domain/notifications), queues e-mails and webhook deliveries in the durable
// outbox, escalates unacknowledged critical alarms up the roles, and delivers the outbox with
// retries and backoff. Everything it decides is in cloud.db before anything is sent, so a restart
// resumes where it stopped.
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
  readonly #onChange = (a: AlarmView, event: AlarmEventView['event']) => {
    try {
      this.onAlarm(a, event);
    } catch (err) {
      this.#o.log(`notify: alarm ${a.id} ${event}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  };

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

  rulesOf(userId: string): NotificationRules | null {
    const row = this.#o.db.prepare('SELECT rules FROM notify_rules WHERE user_id = ?').get(userId) as { rules: string } | undefined;
    if (!row) return null;
    const parsed = NotificationRulesSchema.safeParse(JSON.parse(row.rules));
    if (!parsed.success) this.#o.log(`notify: stored rules of user ${userId} are unreadable; using the defaults`);
    return parsed.success ? parsed.data : null;
  }

  effectiveRules(userId: string, role: Role): { rules: NotificationRules; saved: boolean } {
    const saved = this.rulesOf(userId);
    return { rules: saved ?? defaultRules(role), saved: saved !== null };
  }

  setRules(userId: string, rules: NotificationRules): void {
    this.#o.db
      .prepare('INSERT INTO notify_rules (user_id, rules, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at')
      .run(userId, JSON.stringify(rules), this.#now());
  }

  /** Everyone (not disabled) who sees the site, with their rules. */
  private seeing(siteId: string): Candidate[] {
    const users = this.#o.db.prepare('SELECT id, email, role, org_id FROM users WHERE disabled = 0').all() as UserLine[];
    return users
      .filter((u) => this.#o.sites.canSee({ userId: u.id, role: u.role, orgId: u.org_id }, siteId))
      .map((u) => ({ userId: u.id, email: u.email, role: u.role, rules: this.rulesOf(u.id) }));
  }

  // ------------------------------------------------------------------ alarms in

  private onAlarm(a: AlarmView, event: AlarmEventView['event']): void {
    const now = this.#now();
    const raisedAt = Date.parse(a.raisedAt);
    switch (event) {
      case 'raised':
        return this.raised(a, raisedAt, now);
      case 'repeated':
        // Raised again at a higher severity: news when nothing was queued for this alarm yet (say a
        // warning nobody subscribed to that turned critical).
        if (a.severity === 'critical' && this.outbox.forAlarm(a.id).length === 0) this.notify(a, now);
        return;
      case 'cleared':
        this.#o.db.prepare('UPDATE notify_episodes SET last_active = MAX(last_active, ?) WHERE site_id = ? AND code = ?').run(Date.parse(a.clearedAt ?? a.lastSeen), a.siteId, a.code);
        this.stopEscalation(a.id, 'cleared');
        return;
      case 'acknowledged':
        this.stopEscalation(a.id, `acknowledged by ${a.acknowledgedBy ?? 'someone'}`);
        return;
      case 'silenced':
        this.stopEscalation(a.id, 'silenced');
        this.outbox.cancelForAlarm(a.id, `silenced until ${a.silencedUntil ?? '?'}`);
        return;
    }
  }

  private raised(a: AlarmView, raisedAt: number, now: number): void {
    const near = this.#o.db
      .prepare('SELECT site_id AS siteId, code, episode_id AS episodeId, last_active AS lastActive FROM notify_episodes WHERE site_id = ? AND last_active >= ?')
      .all(a.siteId, raisedAt - 2 * EPISODE_WINDOW_MS) as NotifiedEpisode[];
    const handled = this.#o.db.prepare('SELECT episode_id FROM notify_episode_alarms WHERE alarm_id = ?');
    const continued = continuedEpisode({ id: a.id, siteId: a.siteId, code: a.code, episodeId: a.episodeId, raisedAt }, near, (id) => (handled.get(id) as { episode_id: number } | undefined)?.episode_id);
    const episode = continued ?? a.episodeId;
    this.#o.db.transaction(() => {
      this.#o.db
        .prepare('INSERT INTO notify_episodes (site_id, code, episode_id, last_active) VALUES (?, ?, ?, ?) ON CONFLICT (site_id, code) DO UPDATE SET episode_id = excluded.episode_id, last_active = MAX(last_active, excluded.last_active)')
        .run(a.siteId, a.code, episode, raisedAt);
      this.#o.db.prepare('INSERT OR REPLACE INTO notify_episode_alarms (alarm_id, episode_id) VALUES (?, ?)').run(a.id, episode);
    })();
    if (continued === null) this.notify(a, now);
    else if (escalates(a)) this.carryEscalation(a, continued, now);
  }

  /**
   * A flap is a new alarm in an episode already notified: when the episode's escalation stopped
   * only because its alarm cleared, the new alarm takes it over where it was, so an alarm that
   * keeps coming back unacknowledged still climbs the roles.
   */
  private carryEscalation(a: AlarmView, episode: number, now: number): void {
    const members = 'SELECT e.level, e.next_at, e.stopped FROM notify_escalations e JOIN notify_episode_alarms m ON m.alarm_id = e.alarm_id WHERE m.episode_id = ?';
    const rows = this.#o.db.prepare(members).all(episode) as { level: number; next_at: number; stopped: string | null }[];
    if (rows.some((r) => r.stopped === null)) return;
    const cleared = rows.filter((r) => r.stopped === 'cleared').sort((x, y) => y.level - x.level)[0];
    if (!cleared) return;
    this.#o.db
      .prepare('INSERT OR IGNORE INTO notify_escalations (alarm_id, site_id, level, next_at) VALUES (?, ?, ?, ?)')
      .run(a.id, a.siteId, cleared.level, Math.max(cleared.next_at, now));
  }

  /** Queues the first messages of an alarm and starts its escalation. */
  private notify(a: AlarmView, now: number): void {
    const seeing = this.seeing(a.siteId);
    this.queueFor(a, 0, this.#o.mail ? recipientsOf(a, seeing) : [], now);
    if (escalates(a)) {
      this.#o.db
        .prepare('INSERT OR IGNORE INTO notify_escalations (alarm_id, site_id, level, next_at) VALUES (?, ?, 0, ?)')
        .run(a.id, a.siteId, now + this.#o.escalateAfterMs);
    }
  }

  private queueFor(a: AlarmView, level: number, to: readonly Candidate[], now: number): void {
    const n = notice(a);
    const mail = alarmMail(n, level, this.#o.escalateAfterMs);
    const kind = level === 0 ? 'alarm' : 'escalation';
    const grouped = level === 0 ? now + (this.#o.groupMs ?? 2000) : now;
    for (const c of to) {
      const quietEnd = deliverAt(now, (c.rules ?? defaultRules(c.role)).quietHours);
      this.outbox.enqueue({
        channel: 'email', recipient: c.email, userId: c.userId, alarmId: a.id, kind, level, payload: mail satisfies MailPayload,
        notBefore: Math.max(grouped, quietEnd), held: quietEnd > now,
      });
    }
    const site = this.#o.sites.get(a.siteId);
    if (!site) return;
    for (const w of this.#o.webhooks.forAlarm(site.org_id, a.severity)) {
      this.outbox.enqueue({ channel: 'webhook', recipient: w.id, alarmId: a.id, kind, level, payload: alarmWebhook(n, level, now) satisfies WebhookBody, notBefore: grouped });
    }
  }

  private stopEscalation(alarmId: number, why: string): void {
    this.#o.db.prepare('UPDATE notify_escalations SET stopped = ? WHERE alarm_id = ? AND stopped IS NULL').run(why, alarmId);
  }

  /** The next role up for every escalation that is due. */
  private escalate(now: number): void {
    const due = this.#o.db.prepare('SELECT alarm_id, level FROM notify_escalations WHERE stopped IS NULL AND next_at <= ?').all(now) as { alarm_id: number; level: number }[];
    for (const e of due) {
      const a = this.#o.alarms.get(e.alarm_id);
      if (!a || a.state !== 'active') {
        this.stopEscalation(e.alarm_id, a ? a.state : 'gone');
        continue;
      }
      if (a.silenced) {
        this.stopEscalation(e.alarm_id, 'silenced');
        continue;
      }
      // Raised before its cause, it turned out a consequence: the root's escalation carries the episode.
      const merged = this.mergedInto(a);
      if (merged !== null) {
        this.stopEscalation(e.alarm_id, `part of alarm episode ${merged}`);
        continue;
      }
      const seeing = this.seeing(a.siteId);
      const level = e.level + 1;
      if (level >= escalationLadder(seeing).length) {
        this.stopEscalation(e.alarm_id, 'no role higher up');
        continue;
      }
      this.queueFor(a, level, this.#o.mail ? escalationRecipients(level, seeing) : [], now);
      this.#o.db.prepare('UPDATE notify_escalations SET level = ?, next_at = ? WHERE alarm_id = ?').run(level, now + this.#o.escalateAfterMs, e.alarm_id);
    }
  }

  // ------------------------------------------------------------------ other mail

  /**
   * Queues an e-mail of any kind (a report, a test): delivered by the same queue, with the same
   * retries. Throws when no SMTP server is configured.
   */
  enqueueMail(m: OutgoingMail, opts: { userId?: string; kind?: 'mail' | 'test' } = {}): number {
    if (!this.#o.mail) throw new Error('no SMTP server is configured (--smtp-url)');
    const attachments: MailAttachment[] = (m.attachments ?? []).map((x) => ({
      filename: x.filename, contentType: x.contentType, contentBase64: Buffer.from(x.content).toString('base64'),
    }));
    return this.outbox.enqueue({
      channel: 'email', recipient: m.to, userId: opts.userId ?? null, kind: opts.kind ?? 'mail',
      payload: { subject: m.subject, text: m.text, ...(attachments.length ? { attachments } : {}) } satisfies MailPayload,
    });
  }

  /** Queues a test delivery to a webhook. */
  enqueueWebhookTest(webhookId: string): number {
    return this.outbox.enqueue({ channel: 'webhook', recipient: webhookId, kind: 'test', payload: { event: 'test', level: 0, alarm: null, ts: new Date(this.#now()).toISOString() } satisfies WebhookBody });
  }

  // ------------------------------------------------------------------ what the API shows

  deliveryOf(alarmIds: readonly number[]): Map<number, AlarmDelivery> {
    const rows = this.outbox.forAlarms(alarmIds);
    return new Map(alarmIds.map((id) => [id, summariseDelivery(rows.get(id) ?? [])]));
  }

  deliveriesOf(alarmId: number): { deliveries: DeliveryView[]; escalation: { level: number; nextAt: string | null; stopped: string | null } | null } {
    const e = this.#o.db.prepare('SELECT level, next_at, stopped FROM notify_escalations WHERE alarm_id = ?').get(alarmId) as { level: number; next_at: number; stopped: string | null } | undefined;
    return {
      deliveries: this.outbox.forAlarm(alarmId),
      escalation: e ? { level: e.level, nextAt: e.stopped ? null : new Date(e.next_at).toISOString(), stopped: e.stopped } : null,
    };
  }

  // ------------------------------------------------------------------ delivery

  /** One pass: escalations due, then the outbox's due rows, one at a time. */
  async tick(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      this.escalate(this.#now());
      // A mail server that cannot be reached fails every mail alike: the rest wait for the next pass.
      let mailUnreachable = false;
      for (const row of this.outbox.due()) {
        if (this.#closed) break;
        if (row.channel === 'email' && mailUnreachable) continue;
        if ((await this.deliver(row)) === 'unreachable' && row.channel === 'email') mailUnreachable = true;
      }
    } catch (err) {
      this.#o.log(`notify: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      this.#busy = false;
    }
  }

  /** The episode root an alarm turned out to belong to, when that root was handled already. */
  private mergedInto(a: AlarmView | undefined): number | null {
    if (!a || a.episodeId === a.id) return null;
    const root = this.#o.db.prepare('SELECT episode_id FROM notify_episode_alarms WHERE alarm_id = ?').get(a.episodeId) as { episode_id: number } | undefined;
    return root ? root.episode_id : null;
  }

  private async deliver(row: OutboxRow): Promise<'done' | 'failed' | 'unreachable'> {
    const merged = row.kind === 'alarm' && row.alarm_id !== null ? this.mergedInto(this.#o.alarms.get(row.alarm_id)) : null;
    if (merged !== null) {
      this.outbox.cancel(row.id, `part of alarm episode ${merged}, notified with its root`);
      return 'done';
    }
    try {
      const status = row.channel === 'email' ? await this.sendMail(row) : await this.postWebhook(row);
      this.outbox.sent(row.id, status);
      return 'done';
    } catch (err) {
      const status = err instanceof DeliveryError ? err.status : null;
      const message = err instanceof Error ? err.message : String(err);
      const now = this.#now();
      const giveUp = now - row.created_at >= (this.#o.maxAgeMs ?? 3 * 86_400_000) || (err instanceof DeliveryError && err.permanent);
      this.outbox.failed(row.id, message, status, giveUp ? null : now + retryDelayMs(row.attempts + 1, this.#o.backoff));
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
    const target = this.#o.webhooks.target(row.recipient);
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
    // A delivery in flight finishes (its row is marked), so it is not sent twice after a restart.
    for (let i = 0; i < 200 && this.#busy; i++) await new Promise((r) => setTimeout(r, 50));
    this.#o.mail?.close();
  }
}

class DeliveryError extends Error {
  constructor(message: string, readonly status: number | null, readonly permanent = false) {
    super(message);
  }
}
