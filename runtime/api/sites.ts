// Sites and who sees them. A site appears when the hub first hears of it (a record or a state
// message: auto-registered into the default organisation, the one `lifo4 start` simulates for) or
// when an ADMIN creates it; lat/lon place it on the dashboard's map.
import { sql } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';
import { DEFAULT_ORG_ID } from '../cloud-db/cloud-db';
import { conflict, notFound } from './errors';
import { siteScope } from '../../domain/permissions';
import type { Principal } from './tokens';

export interface SiteRow {
  id: string;
  org_id: string;
  name: string;
  lat: number | null;
  lon: number | null;
  state: 'online' | 'offline' | 'unknown';
  state_ts: number | null;
  last_seen: number | null;
  created_at: number;
}

export interface SiteView {
  id: string;
  orgId: string;
  name: string;
  lat: number | null;
  lon: number | null;
  state: SiteRow['state'];
  stateSince: string | null;
  lastSeen: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** last_seen is written at most this often per site: one row update per record would be 1 write/s/site. */
const LAST_SEEN_WRITE_MS = 30_000;

export class SiteStore {
  readonly #lastSeen = new Map<string, { ts: number; written: number }>();
  readonly #known = new Set<string>();

  constructor(private readonly db: CloudDb) {}

  get(id: string): Promise<SiteRow | undefined> {
    return this.db.one<SiteRow>(sql`SELECT * FROM sites WHERE id = ${id}`);
  }

  view(row: SiteRow): SiteView {
    const seen = this.#lastSeen.get(row.id)?.ts ?? row.last_seen;
    return {
      id: row.id, orgId: row.org_id, name: row.name, lat: row.lat, lon: row.lon,
      state: row.state, stateSince: iso(row.state_ts), lastSeen: iso(seen === undefined ? null : seen),
    };
  }

  /** Registers an unknown site into the default organisation; true when it was new. A known site costs no query. */
  async ensure(siteId: string): Promise<boolean> {
    if (this.#known.has(siteId)) return false;
    const created = (await this.db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${siteId}, ${DEFAULT_ORG_ID}, ${siteId}, ${Date.now()})
      ON CONFLICT (id) DO NOTHING`)) === 1;
    this.#known.add(siteId);
    return created;
  }

  async create(s: { id: string; orgId: string; name?: string | undefined; lat?: number | undefined; lon?: number | undefined }): Promise<SiteRow> {
    // One answer whether the id is this organisation's, another's or held by a claim: it does not
    // say whose. (Ownership is decided by claims: provisioning moves a site to its claim's organisation.)
    const taken = conflict(`site id ${s.id} is not available`);
    if (await this.get(s.id)) throw taken;
    if ((await this.db.one(sql`SELECT 1 AS x FROM orgs WHERE id = ${s.orgId}`)) === undefined) throw notFound(`organisation ${s.orgId}`);
    // The primary key decides between two requests (or processes) creating the same id at once.
    const added = await this.db.run(sql`INSERT INTO sites (id, org_id, name, lat, lon, created_at)
      VALUES (${s.id}, ${s.orgId}, ${s.name ?? s.id}, ${s.lat ?? null}, ${s.lon ?? null}, ${Date.now()}) ON CONFLICT (id) DO NOTHING`);
    if (added === 0) throw taken;
    this.#known.add(s.id);
    return (await this.get(s.id)) as SiteRow;
  }

  async update(id: string, patch: { name?: string | undefined; lat?: number | null | undefined; lon?: number | null | undefined }): Promise<SiteRow> {
    const row = await this.get(id);
    if (!row) throw notFound(`site ${id}`);
    await this.db.run(sql`UPDATE sites SET name = ${patch.name ?? row.name}, lat = ${patch.lat === undefined ? row.lat : patch.lat},
      lon = ${patch.lon === undefined ? row.lon : patch.lon} WHERE id = ${id}`);
    return (await this.get(id)) as SiteRow;
  }

  async setState(siteId: string, state: 'online' | 'offline', ts: number): Promise<void> {
    await this.ensure(siteId);
    // A retained state replayed on reconnect may be older than what we know: keep the newest.
    await this.db.run(sql`UPDATE sites SET state = ${state}, state_ts = ${ts} WHERE id = ${siteId} AND (state_ts IS NULL OR state_ts <= ${ts})`);
  }

  /** A record's time: kept in memory, written at most every LAST_SEEN_WRITE_MS per site. */
  async seen(siteId: string, ts: number): Promise<void> {
    await this.ensure(siteId);
    const prev = this.#lastSeen.get(siteId);
    if (prev && ts <= prev.ts) return;
    const written = prev && ts - prev.written < LAST_SEEN_WRITE_MS ? prev.written : ts;
    this.#lastSeen.set(siteId, { ts, written });
    if (written === ts) await this.writeLastSeen(this.db, siteId, ts);
  }

  // Never backwards: another process (or an older flush) may have written a later time.
  private async writeLastSeen(db: CloudDb, siteId: string, ts: number): Promise<void> {
    await db.run(sql`UPDATE sites SET last_seen = ${ts} WHERE id = ${siteId} AND (last_seen IS NULL OR last_seen < ${ts})`);
  }

  /** Writes the last-seen times held in memory (on close), in one transaction. */
  async flush(): Promise<void> {
    const pending = [...this.#lastSeen].filter(([, s]) => s.written !== s.ts);
    if (pending.length === 0) return;
    await this.db.tx(async (t) => {
      for (const [id, s] of pending) await this.writeLastSeen(t, id, s.ts);
    });
  }

  /** The sites a principal sees, by id. */
  visible(p: Pick<Principal, 'userId' | 'role' | 'orgId'>): Promise<SiteRow[]> {
    switch (siteScope(p.role)) {
      case 'all':
        return this.db.all<SiteRow>(sql`SELECT * FROM sites ORDER BY id`);
      case 'org':
        return this.db.all<SiteRow>(sql`SELECT * FROM sites WHERE org_id = ${p.orgId} ORDER BY id`);
      case 'assigned':
        return this.db.all<SiteRow>(
          sql`SELECT s.* FROM sites s JOIN user_sites u ON u.site_id = s.id WHERE u.user_id = ${p.userId} AND s.org_id = ${p.orgId} ORDER BY s.id`,
        );
    }
  }

  async canSee(p: Pick<Principal, 'userId' | 'role' | 'orgId'>, siteId: string): Promise<boolean> {
    const row = await this.get(siteId);
    if (!row) return false;
    switch (siteScope(p.role)) {
      case 'all':
        return true;
      case 'org':
        return row.org_id === p.orgId;
      case 'assigned':
        return row.org_id === p.orgId && (await this.db.one(sql`SELECT 1 AS x FROM user_sites WHERE user_id = ${p.userId} AND site_id = ${siteId}`)) !== undefined;
    }
  }

  /** How many sites are in each state (for /metrics). */
  async countByState(): Promise<Record<string, number>> {
    const out: Record<string, number> = { online: 0, offline: 0, unknown: 0 };
    for (const r of await this.db.all<{ state: string; n: number }>(sql`SELECT state, COUNT(*) AS n FROM sites GROUP BY state`)) out[r.state] = r.n;
    return out;
  }

  /** Every site's id, by id. */
  async ids(): Promise<string[]> {
    return (await this.db.all<{ id: string }>(sql`SELECT id FROM sites ORDER BY id`)).map((r) => r.id);
  }
}
