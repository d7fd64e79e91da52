// Fleet alarms: raised from the sites' own alarm messages and from cloud rules, deduplicated to
// one open alarm per (site, code, source), each walking active -> acknowledged -> cleared with
// every step kept in alarm_events. Silencing mutes an alarm's notifications until a time; the
// alarm itself stays as it is. A cleared alarm that comes back is a new alarm (new id), so the
// history of each occurrence stays readable. Alarms set off by one root event form an episode
// (domain/alarm-episodes.ts), named by the root's id and acknowledged together; a cloud rule that
// only repeats an open edge alarm is not raised; a site whose telemetry stopped gets
// COMMUNICATION_LOST (domain/freshness.ts), cleared by its next record.
import { EventEmitter } from 'node:events';
import { EPISODE_WINDOW_MS, episodeRoots, remedyOf, repeatersOf, repeatsOpenAlarm } from '../../domain/alarm-episodes';
import type { Alarm, SiteState, TelemetryRecord } from '../../domain/contracts';
import { cloudLimits, freshness, type FreshnessLimits } from '../../domain/freshness';
import { sql, type RawBuilder } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';
import { conflict, notFound } from './errors';

export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];
type Severity = Alarm['severity'];

interface AlarmRow {
  id: number; site_id: string; code: string; source: string; severity: Severity; message: string; state: AlarmState;
  raised_at: number; last_seen: number; occurrences: number; acked_by: string | null; acked_at: number | null;
  cleared_at: number | null; silenced_until: number | null; silenced_by: string | null;
}

export interface AlarmView {
  id: number;
  siteId: string;
  code: string;
  source: string;
  severity: Severity;
  message: string;
  state: AlarmState;
  raisedAt: string;
  lastSeen: string;
  occurrences: number;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  clearedAt: string | null;
  silencedUntil: string | null;
  /** Silenced now (the silence has not expired). */
  silenced: boolean;
  /** The id of the episode's root alarm (this alarm's own id when it is the root). */
  episodeId: number;
  /** What to do about this code, in a sentence. */
  remedy: string;
}

export interface AlarmEventView {
  ts: string;
  event: 'raised' | 'repeated' | 'acknowledged' | 'silenced' | 'cleared';
  by: string | null;
  note: string | null;
}

export interface AlarmFilter {
  /** The sites the caller sees (already narrowed to `siteId` when given). */
  siteIds: readonly string[];
  state?: AlarmState | undefined;
  severity?: Severity | undefined;
  from?: number | undefined;
  to?: number | undefined;
  limit: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface AlarmEvents {
  /** Any change of an alarm, with what happened. */
  change: [AlarmView, AlarmEventView['event']];
}

export class AlarmStore extends EventEmitter<AlarmEvents> {
  /**
   * Open alarms by site\0code\0source -> id and severity: a repeat of an open alarm costs no query.
   * Loaded when the store is made; reload() when another process may have changed alarms (a
   * process taking over the alarm engine).
   */
  #open = new Map<string, { id: number; severity: Severity }>();
  #loaded: Promise<void>;

  constructor(private readonly db: CloudDb, private readonly now: () => number = Date.now) {
    super();
    this.#loaded = this.reload();
    // Seen by the first call that needs the open alarms; not an unhandled rejection meanwhile.
    this.#loaded.catch(() => undefined);
  }

  /** Reads the open alarms again. */
  reload(): Promise<void> {
    this.#loaded = (async () => {
      const open = new Map<string, { id: number; severity: Severity }>();
      for (const r of await this.db.all<AlarmRow>(sql`SELECT id, site_id, code, source, severity FROM alarms WHERE state != 'cleared'`)) {
        open.set(key(r.site_id, r.code, r.source), { id: r.id, severity: r.severity });
      }
      this.#open = open;
    })();
    return this.#loaded;
  }

  private view(r: AlarmRow, episodeId: number): AlarmView {
    return {
      id: r.id, siteId: r.site_id, code: r.code, source: r.source, severity: r.severity, message: r.message, state: r.state,
      raisedAt: iso(r.raised_at) as string, lastSeen: iso(r.last_seen) as string, occurrences: r.occurrences,
      acknowledgedBy: r.acked_by, acknowledgedAt: iso(r.acked_at), clearedAt: iso(r.cleared_at),
      silencedUntil: iso(r.silenced_until), silenced: r.silenced_until !== null && r.silenced_until > this.now(),
      episodeId, remedy: remedyOf(r.code),
    };
  }

  /**
   * The alarms raised near each of `rows` at its site: everything that may share an episode with
   * one of them. One indexed window per row, so a page of a long history reads only its surroundings.
   */
  private async neighbours(rows: readonly AlarmRow[]): Promise<AlarmRow[]> {
    const window = (site: string, from: number, to: number) =>
      this.db.all<AlarmRow>(sql`SELECT * FROM alarms WHERE site_id = ${site} AND raised_at BETWEEN ${from} AND ${to}`);
    const out = new Map<number, AlarmRow>();
    // A cause is itself within the window of its consequence, and so on up a chain: two windows cover a chain of three.
    const reach = 2 * EPISODE_WINDOW_MS;
    let last: { site: string; to: number } | null = null;
    for (const r of [...rows].sort((a, b) => a.site_id.localeCompare(b.site_id) || a.raised_at - b.raised_at)) {
      // Rows close together share one read.
      if (last && last.site === r.site_id && r.raised_at - reach <= last.to) {
        if (r.raised_at + reach <= last.to) continue;
        for (const x of await window(r.site_id, last.to, r.raised_at + reach)) out.set(x.id, x);
        last.to = r.raised_at + reach;
        continue;
      }
      for (const x of await window(r.site_id, r.raised_at - reach, r.raised_at + reach)) out.set(x.id, x);
      last = { site: r.site_id, to: r.raised_at + reach };
    }
    return [...out.values()];
  }

  private async views(rows: readonly AlarmRow[]): Promise<AlarmView[]> {
    if (rows.length === 0) return [];
    const roots = episodeRoots((await this.neighbours(rows)).map((r) => ({ id: r.id, siteId: r.site_id, code: r.code, raisedAt: r.raised_at })));
    return rows.map((r) => this.view(r, roots.get(r.id) ?? r.id));
  }

  /** Every alarm of the episode `id` belongs to (itself included), oldest first. */
  private async episodeRows(id: number): Promise<AlarmRow[]> {
    const r = await this.row(id);
    if (!r) return [];
    const near = await this.neighbours([r]);
    const roots = episodeRoots(near.map((x) => ({ id: x.id, siteId: x.site_id, code: x.code, raisedAt: x.raised_at })));
    const episode = roots.get(id) ?? id;
    return near.filter((x) => (roots.get(x.id) ?? x.id) === episode).sort((a, b) => a.raised_at - b.raised_at || a.id - b.id);
  }

  private row(id: number, db: CloudDb = this.db): Promise<AlarmRow | undefined> {
    return db.one<AlarmRow>(sql`SELECT * FROM alarms WHERE id = ${id}`);
  }

  private async event(db: CloudDb, id: number, ts: number, event: AlarmEventView['event'], by: string | null, note: string | null): Promise<void> {
    await db.run(sql`INSERT INTO alarm_events (alarm_id, ts, event, "by", note) VALUES (${id}, ${ts}, ${event}, ${by}, ${note})`);
  }

  private async changed(id: number, event: AlarmEventView['event']): Promise<AlarmView> {
    const v = (await this.views([(await this.row(id)) as AlarmRow]))[0] as AlarmView;
    this.emit('change', v, event);
    return v;
  }

  /** True when raising `a` would change nothing: it is open already at the same or a higher severity. */
  keeps(a: { siteId: string; code: string; source: string; severity: Severity }): boolean {
    const open = this.#open.get(key(a.siteId, a.code, a.source));
    return open !== undefined && SEVERITY_RANK[a.severity] <= SEVERITY_RANK[open.severity];
  }

  /** Raises (or, when open already, keeps) the alarm of a site, code and source. */
  async raise(a: { siteId: string; code: string; source: string; severity: Severity; message: string; ts: number }): Promise<AlarmView | null> {
    await this.#loaded;
    const k = key(a.siteId, a.code, a.source);
    const open = this.#open.get(k);
    if (open !== undefined) {
      // Escalation is news; a repeat at the same or a lower severity is not.
      if (SEVERITY_RANK[a.severity] <= SEVERITY_RANK[open.severity]) return null;
      this.#open.set(k, { id: open.id, severity: a.severity });
      const updated = await this.db.tx(async (t) => {
        const n = await t.run(sql`UPDATE alarms SET severity = ${a.severity}, message = ${a.message}, last_seen = ${a.ts}, occurrences = occurrences + 1
          WHERE id = ${open.id} AND state != 'cleared'`);
        if (n === 1) await this.event(t, open.id, a.ts, 'repeated', null, `severity ${a.severity}: ${a.message}`);
        return n === 1;
      });
      if (updated) return this.changed(open.id, 'repeated');
      // Cleared meanwhile by another process: this is a new occurrence.
      this.#open.delete(k);
    }
    // The partial unique index allows one open alarm per site, code and source: when another
    // process raised it first, this one adopts it instead of raising it twice.
    const id = await this.db.tx(async (t) => {
      const r = await t.one<{ id: number }>(sql`INSERT INTO alarms (site_id, code, source, severity, message, state, raised_at, last_seen)
        VALUES (${a.siteId}, ${a.code}, ${a.source}, ${a.severity}, ${a.message}, 'active', ${a.ts}, ${a.ts})
        ON CONFLICT (site_id, code, source) WHERE state != 'cleared' DO NOTHING RETURNING id`);
      if (r) await this.event(t, r.id, a.ts, 'raised', null, a.message);
      return r?.id ?? null;
    });
    if (id === null) {
      const other = await this.db.one<AlarmRow>(sql`SELECT * FROM alarms WHERE site_id = ${a.siteId} AND code = ${a.code} AND source = ${a.source} AND state != 'cleared'`);
      if (other) this.#open.set(k, { id: other.id, severity: other.severity });
      return null;
    }
    this.#open.set(k, { id, severity: a.severity });
    return this.changed(id, 'raised');
  }

  async clear(siteId: string, code: string, source: string, ts: number, note: string | null = null): Promise<AlarmView | null> {
    await this.#loaded;
    const k = key(siteId, code, source);
    const open = this.#open.get(k);
    if (open === undefined) return null;
    this.#open.delete(k);
    const cleared = await this.db.tx(async (t) => {
      const n = await t.run(sql`UPDATE alarms SET state = 'cleared', cleared_at = ${ts}, last_seen = CASE WHEN last_seen > ${ts} THEN last_seen ELSE ${ts} END
        WHERE id = ${open.id} AND state != 'cleared'`);
      if (n === 1) await this.event(t, open.id, ts, 'cleared', null, note);
      return n === 1;
    });
    return cleared ? this.changed(open.id, 'cleared') : null;
  }

  async get(id: number): Promise<AlarmView | undefined> {
    const r = await this.row(id);
    return r ? (await this.views([r]))[0] : undefined;
  }

  /** The alarm's episode: its root and every consequence, oldest first. */
  async episode(id: number): Promise<AlarmView[]> {
    const rows = await this.episodeRows(id);
    if (rows.length === 0) throw notFound(`alarm ${id}`);
    return this.views(rows);
  }

  /** Open (not cleared) alarms of a site. */
  async openCount(siteId: string): Promise<number> {
    return (await this.db.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM alarms WHERE site_id = ${siteId} AND state != 'cleared'`))?.n ?? 0;
  }

  /** Codes of the site's open alarms from sources other than the cloud's own rules. */
  async openSiteCodes(siteId: string): Promise<string[]> {
    return (await this.db.all<{ code: string }>(sql`SELECT code FROM alarms WHERE site_id = ${siteId} AND source != ${CLOUD_SOURCE} AND state != 'cleared'`)).map(
      (r) => r.code,
    );
  }

  async history(id: number): Promise<AlarmEventView[]> {
    const rows = await this.db.all<{ ts: number; event: AlarmEventView['event']; by: string | null; note: string | null }>(
      sql`SELECT ts, event, "by", note FROM alarm_events WHERE alarm_id = ${id} ORDER BY id`,
    );
    return rows.map((e) => ({ ts: new Date(e.ts).toISOString(), event: e.event, by: e.by, note: e.note }));
  }

  /** Acknowledges an active alarm; acknowledging twice is harmless, a cleared alarm is history. */
  async ack(id: number, by: string, note: string | null): Promise<AlarmView> {
    const r = await this.row(id);
    if (!r) throw notFound(`alarm ${id}`);
    if (r.state === 'cleared') throw conflict(`alarm ${id} is cleared`);
    if (r.state === 'acknowledged') return (await this.views([r]))[0] as AlarmView;
    await this.ackRows([r], by, note);
    return this.changed(id, 'acknowledged');
  }

  /**
   * Acknowledges every active alarm of the episode `id` belongs to, in one transaction; returns the
   * whole episode. Acknowledged and cleared members stay as they are.
   */
  async ackEpisode(id: number, by: string, note: string | null): Promise<AlarmView[]> {
    const rows = await this.episodeRows(id);
    if (rows.length === 0) throw notFound(`alarm ${id}`);
    await this.ackAll(rows, by, note);
    return this.episode(id);
  }

  /** Acknowledges every active alarm of a site; returns those it acknowledged. */
  async ackSite(siteId: string, by: string, note: string | null): Promise<AlarmView[]> {
    const rows = await this.db.all<AlarmRow>(sql`SELECT * FROM alarms WHERE site_id = ${siteId} AND state = 'active' ORDER BY raised_at, id`);
    await this.ackAll(rows, by, note);
    const now: AlarmRow[] = [];
    for (const r of rows) now.push((await this.row(r.id)) as AlarmRow);
    return this.views(now);
  }

  private async ackAll(rows: readonly AlarmRow[], by: string, note: string | null): Promise<void> {
    const active = rows.filter((r) => r.state === 'active');
    await this.ackRows(active, by, note);
    for (const r of active) await this.changed(r.id, 'acknowledged');
  }

  private async ackRows(rows: readonly AlarmRow[], by: string, note: string | null): Promise<void> {
    const ts = this.now();
    await this.db.tx(async (t) => {
      for (const r of rows) {
        await t.run(sql`UPDATE alarms SET state = 'acknowledged', acked_by = ${by}, acked_at = ${ts} WHERE id = ${r.id} AND state = 'active'`);
        await this.event(t, r.id, ts, 'acknowledged', by, note);
      }
    });
  }

  async silence(id: number, by: string, untilMs: number, note: string | null): Promise<AlarmView> {
    const r = await this.row(id);
    if (!r) throw notFound(`alarm ${id}`);
    if (r.state === 'cleared') throw conflict(`alarm ${id} is cleared`);
    await this.db.tx(async (t) => {
      await t.run(sql`UPDATE alarms SET silenced_until = ${untilMs}, silenced_by = ${by} WHERE id = ${id}`);
      await this.event(t, id, this.now(), 'silenced', by, `until ${new Date(untilMs).toISOString()}${note ? `: ${note}` : ''}`);
    });
    return this.changed(id, 'silenced');
  }

  async list(f: AlarmFilter): Promise<AlarmView[]> {
    if (f.siteIds.length === 0) return [];
    const where: RawBuilder<unknown>[] = [sql`site_id IN (${sql.join(f.siteIds)})`];
    if (f.state) where.push(sql`state = ${f.state}`);
    if (f.severity) where.push(sql`severity = ${f.severity}`);
    if (f.from !== undefined) where.push(sql`raised_at >= ${f.from}`);
    if (f.to !== undefined) where.push(sql`raised_at < ${f.to}`);
    const rows = await this.db.all<AlarmRow>(sql`SELECT * FROM alarms WHERE ${sql.join(where, sql` AND `)} ORDER BY raised_at DESC, id DESC LIMIT ${f.limit}`);
    return this.views(rows);
  }

  /** Open alarms per severity (for /metrics). */
  async openCounts(): Promise<Record<Severity, number>> {
    const out: Record<Severity, number> = { info: 0, warning: 0, critical: 0 };
    for (const r of await this.db.all<{ severity: Severity; n: number }>(sql`SELECT severity, COUNT(*) AS n FROM alarms WHERE state != 'cleared' GROUP BY severity`)) {
      out[r.severity] = r.n;
    }
    return out;
  }
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

function key(siteId: string, code: string, source: string): string {
  return `${siteId}\u0000${code}\u0000${source}`;
}

/**
 * Cloud-side limits. Defaults follow the LiFePO4 window (docs/ARCHITECTURE.md, "LiFePO4 defaults"): SoC 5-95 %, discharge
 * temperature -20..55 degC (the edge's envelope already keeps the battery inside; the cloud rule
 * catches a site whose envelope or BMS misbehaves). A rule clears only `hysteresis` inside the
 * band, so a value hovering on the limit does not flap.
 */
export interface AlarmRuleLimits {
  socLowPct: number;
  socHighPct: number;
  socHysteresisPct: number;
  tempLowC: number;
  tempHighC: number;
  tempHysteresisC: number;
}

export const DEFAULT_ALARM_LIMITS: AlarmRuleLimits = {
  socLowPct: 5, socHighPct: 95, socHysteresisPct: 2, tempLowC: -20, tempHighC: 55, tempHysteresisC: 3,
};

export const CLOUD_SOURCE = 'cloud';

export const COMMUNICATION_LOST = 'COMMUNICATION_LOST';

/** Applies the site's own alarms and the cloud rules to what the hub delivers. */
export class AlarmRules {
  /** When the cloud last received a record of each site (its own clock: the link's liveness, not the data's age). */
  readonly #received = new Map<string, number>();

  constructor(
    private readonly alarms: AlarmStore,
    private readonly limits: AlarmRuleLimits = DEFAULT_ALARM_LIMITS,
    private readonly fresh: FreshnessLimits = cloudLimits(),
  ) {}

  /** Sites heard of before this start (their last record): silent ones are found lost on the first tick. */
  knownSince(siteId: string, ts: number): void {
    if (!this.#received.has(siteId)) this.#received.set(siteId, ts);
  }

  async onSiteAlarm(a: Alarm & { siteId: string }): Promise<void> {
    if (a.active) {
      await this.alarms.raise({ siteId: a.siteId, code: a.code, source: a.source, severity: a.severity, message: a.message, ts: a.ts });
      // The cloud's own rule that only repeated this edge alarm gives way to it.
      for (const code of repeatersOf(a.code)) await this.alarms.clear(a.siteId, code, CLOUD_SOURCE, a.ts, `the site raised ${a.code} itself`);
    } else await this.alarms.clear(a.siteId, a.code, a.source, a.ts, a.message || null);
  }

  async onState(s: SiteState): Promise<void> {
    // The edge's MQTT last will says 'offline' when its connection dies without a goodbye.
    if (s.state === 'offline') {
      await this.alarms.raise({ siteId: s.siteId, code: 'SITE_OFFLINE', source: CLOUD_SOURCE, severity: 'critical', message: 'the site stopped talking to the cloud (MQTT last will or goodbye)', ts: s.ts });
    } else await this.alarms.clear(s.siteId, 'SITE_OFFLINE', CLOUD_SOURCE, s.ts, 'the site is back online');
  }

  /** A record's alarms and bands; an alarm that is open already (or not open) costs no query. */
  async onRecord(r: TelemetryRecord, receivedAt: number = Date.now()): Promise<void> {
    this.#received.set(r.siteId, Math.max(this.#received.get(r.siteId) ?? 0, receivedAt));
    await this.alarms.clear(r.siteId, COMMUNICATION_LOST, CLOUD_SOURCE, receivedAt, 'telemetry is back');
    for (const a of r.alarms ?? []) await this.onSiteAlarm({ ...a, siteId: r.siteId });
    const b = r.telemetry?.battery;
    if (!b) return;
    const L = this.limits;
    await this.band(r, 'SOC_OUT_OF_BAND', 'warning', b.soc, L.socLowPct, L.socHighPct, L.socHysteresisPct, '%');
    // A BMS without temperatures (null) neither raises nor clears the band: the edge's envelope derates for it.
    if (b.tempMax === null || b.tempMin === null) return;
    const tempOut = b.tempMax > L.tempHighC || b.tempMin < L.tempLowC;
    const tempIn = b.tempMax <= L.tempHighC - L.tempHysteresisC && b.tempMin >= L.tempLowC + L.tempHysteresisC;
    if (tempOut) {
      const msg = `battery temperature ${b.tempMin.toFixed(1)}..${b.tempMax.toFixed(1)} degC outside ${L.tempLowC}..${L.tempHighC} degC`;
      await this.raiseUnlessRepeat({ siteId: r.siteId, code: 'TEMPERATURE_OUT_OF_BAND', source: CLOUD_SOURCE, severity: 'critical', message: msg, ts: r.ts });
    } else if (tempIn) await this.alarms.clear(r.siteId, 'TEMPERATURE_OUT_OF_BAND', CLOUD_SOURCE, r.ts, 'temperature back in band');
  }

  /**
   * The link rule, run about once a second: a site whose records stopped for the lost limit gets
   * COMMUNICATION_LOST (once; its next record clears it).
   */
  async tick(now: number): Promise<void> {
    for (const [siteId, at] of [...this.#received]) {
      if (freshness(at, now, this.fresh) !== 'lost') continue;
      await this.alarms.raise({
        siteId, code: COMMUNICATION_LOST, source: CLOUD_SOURCE, severity: 'critical', ts: now,
        message: `no telemetry since ${new Date(at).toISOString()} (lost after ${Math.round(this.fresh.lostAfterMs / 1000)} s)`,
      });
    }
  }

  /** A cloud rule's alarm, unless the site itself has the alarm it would repeat open. */
  private async raiseUnlessRepeat(a: Parameters<AlarmStore['raise']>[0]): Promise<void> {
    // Open already: a record that keeps a band alarm up costs no query.
    if (this.alarms.keeps(a)) return;
    if (repeatsOpenAlarm(a.code, await this.alarms.openSiteCodes(a.siteId))) return;
    await this.alarms.raise(a);
  }

  private async band(r: TelemetryRecord, code: string, severity: Severity, v: number, lo: number, hi: number, hyst: number, unit: string): Promise<void> {
    if (v < lo || v > hi) {
      await this.raiseUnlessRepeat({ siteId: r.siteId, code, source: CLOUD_SOURCE, severity, message: `${v.toFixed(1)} ${unit} outside ${lo}..${hi} ${unit}`, ts: r.ts });
    } else if (v >= lo + hyst && v <= hi - hyst) await this.alarms.clear(r.siteId, code, CLOUD_SOURCE, r.ts, 'back in band');
  }
}
