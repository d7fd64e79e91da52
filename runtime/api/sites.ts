// Sites and who sees them. A site appears when the hub first hears of it (a record or a state
// message: auto-registered into the default organisation, the one `lifo4 start` simulates for) or
// when an ADMIN creates it; lat/lon place it on the dashboard's map.
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

  get(id: string): SiteRow | undefined {
    return this.db.prepare('SELECT * FROM sites WHERE id = ?').get(id) as SiteRow | undefined;
  }

  view(row: SiteRow): SiteView {
    const seen = this.#lastSeen.get(row.id)?.ts ?? row.last_seen;
    return {
      id: row.id, orgId: row.org_id, name: row.name, lat: row.lat, lon: row.lon,
      state: row.state, stateSince: iso(row.state_ts), lastSeen: iso(seen === undefined ? null : seen),
    };
  }

  /** Registers an unknown site into the default organisation; true when it was new. */
  ensure(siteId: string): boolean {
    if (this.#known.has(siteId)) return false;
    const created = this.db
      .prepare('INSERT OR IGNORE INTO sites (id, org_id, name, created_at) VALUES (?, ?, ?, ?)')
      .run(siteId, DEFAULT_ORG_ID, siteId, Date.now()).changes === 1;
    this.#known.add(siteId);
    return created;
  }

  create(s: { id: string; orgId: string; name?: string | undefined; lat?: number | undefined; lon?: number | undefined }): SiteRow {
    // One answer whether the id is this organisation's, another's or held by a claim: it does not
    // say whose. (Ownership is decided by claims: provisioning moves a site to its claim's organisation.)
    if (this.get(s.id)) throw conflict(`site id ${s.id} is not available`);
    if (this.db.prepare('SELECT 1 FROM orgs WHERE id = ?').get(s.orgId) === undefined) throw notFound(`organisation ${s.orgId}`);
    this.db
      .prepare('INSERT INTO sites (id, org_id, name, lat, lon, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(s.id, s.orgId, s.name ?? s.id, s.lat ?? null, s.lon ?? null, Date.now());
    this.#known.add(s.id);
    return this.get(s.id) as SiteRow;
  }

  update(id: string, patch: { name?: string | undefined; lat?: number | null | undefined; lon?: number | null | undefined }): SiteRow {
    const row = this.get(id);
    if (!row) throw notFound(`site ${id}`);
    this.db
      .prepare('UPDATE sites SET name = ?, lat = ?, lon = ? WHERE id = ?')
      .run(patch.name ?? row.name, patch.lat === undefined ? row.lat : patch.lat, patch.lon === undefined ? row.lon : patch.lon, id);
    return this.get(id) as SiteRow;
  }

  setState(siteId: string, state: 'online' | 'offline', ts: number): void {
    this.ensure(siteId);
    // A retained state replayed on reconnect may be older than what we know: keep the newest.
    this.db.prepare('UPDATE sites SET state = ?, state_ts = ? WHERE id = ? AND (state_ts IS NULL OR state_ts <= ?)').run(state, ts, siteId, ts);
  }

  seen(siteId: string, ts: number): void {
    this.ensure(siteId);
    const prev = this.#lastSeen.get(siteId);
    if (prev && ts <= prev.ts) return;
    const written = prev && ts - prev.written < LAST_SEEN_WRITE_MS ? prev.written : ts;
    if (written === ts) this.db.prepare('UPDATE sites SET last_seen = ? WHERE id = ?').run(ts, siteId);
    this.#lastSeen.set(siteId, { ts, written });
  }

  /** Writes the last-seen times held in memory (on close). */
  flush(): void {
    const stmt = this.db.prepare('UPDATE sites SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?');
    for (const [id, s] of this.#lastSeen) stmt.run(s.ts, id);
  }

  /** The sites a principal sees, by id. */
  visible(p: Pick<Principal, 'userId' | 'role' | 'orgId'>): SiteRow[] {
    switch (siteScope(p.role)) {
      case 'all':
        return this.db.prepare('SELECT * FROM sites ORDER BY id').all() as SiteRow[];
      case 'org':
        return this.db.prepare('SELECT * FROM sites WHERE org_id = ? ORDER BY id').all(p.orgId) as SiteRow[];
      case 'assigned':
        return this.db
          .prepare('SELECT s.* FROM sites s JOIN user_sites u ON u.site_id = s.id WHERE u.user_id = ? AND s.org_id = ? ORDER BY s.id')
          .all(p.userId, p.orgId) as SiteRow[];
    }
  }

  canSee(p: Pick<Principal, 'userId' | 'role' | 'orgId'>, siteId: string): boolean {
    const row = this.get(siteId);
    if (!row) return false;
    switch (siteScope(p.role)) {
      case 'all':
        return true;
      case 'org':
        return row.org_id === p.orgId;
      case 'assigned':
        return row.org_id === p.orgId && this.db.prepare('SELECT 1 FROM user_sites WHERE user_id = ? AND site_id = ?').get(p.userId, siteId) !== undefined;
    }
  }
}
