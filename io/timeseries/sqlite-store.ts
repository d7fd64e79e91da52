// The SQLite back end (better-sqlite3, WAL): one wide table with a REAL column per field of
// fields.ts and the primary key (site_id, seq), so INSERT OR IGNORE makes a resend a no-op, and
// one table of alarm transitions. A write is one transaction: all of it is committed, or none.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TelemetryRecord } from '../../domain/contracts';
import { FIELD_NAMES, flattenRecord } from './fields';
import { queuedStore, roundMean, type Aggregate, type LatestPoint, type StoredAlarm, type TimeseriesBackend, type TimeseriesStore } from './store';
import type { QueueOptions } from './write-queue';

/** Distinct read statements kept prepared: the range query's SQL varies with its fields. */
const MAX_STATEMENTS = 64;

/** Field names come from fields.ts only; quoting keeps them SQL identifiers whatever their case. */
const col = (name: string): string => `"${name}"`;

const ALARM_COLUMNS = 'site_id AS siteId, seq, ts, code, severity, message, source, active';

class SqliteBackend implements TimeseriesBackend {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly insertRecord: Database.Statement;
  private readonly insertAlarm: Database.Statement;
  private readonly commitTx: (records: readonly TelemetryRecord[]) => number;
  /** Prepared reads by their SQL: preparing costs about as much as a small query (per site and cycle in the cloud's ML pass). */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash; only a power cut may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS telemetry (
      site_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
      PRIMARY KEY (site_id, seq)) WITHOUT ROWID`);
    const have = new Set((this.db.pragma('table_info(telemetry)') as { name: string }[]).map((c) => c.name));
    for (const f of FIELD_NAMES) if (!have.has(f)) this.db.exec(`ALTER TABLE telemetry ADD COLUMN ${col(f)} REAL`);
    this.db.exec(`CREATE INDEX IF NOT EXISTS telemetry_site_ts ON telemetry (site_id, ts);
      CREATE TABLE IF NOT EXISTS alarms (
        site_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, code TEXT NOT NULL, source TEXT NOT NULL,
        severity TEXT NOT NULL, message TEXT NOT NULL, active INTEGER NOT NULL,
        PRIMARY KEY (site_id, seq, code, source, ts)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS alarms_ts ON alarms (ts);`);
    this.insertRecord = this.db.prepare(
      `INSERT OR IGNORE INTO telemetry (site_id, seq, ts, ${FIELD_NAMES.map(col).join(', ')})
       VALUES (?, ?, ?, ${FIELD_NAMES.map(() => '?').join(', ')})`,
    );
    this.insertAlarm = this.db.prepare(
      'INSERT OR IGNORE INTO alarms (site_id, seq, ts, code, source, severity, message, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.commitTx = this.db.transaction((records: readonly TelemetryRecord[]) => {
      let inserted = 0;
      for (const r of records) {
        const fields = flattenRecord(r);
        const changes = this.insertRecord.run(r.siteId, r.seq, r.ts, ...FIELD_NAMES.map((f) => fields[f] ?? null)).changes;
        if (changes === 0) continue;
        inserted += 1;
        for (const a of r.alarms ?? []) this.insertAlarm.run(r.siteId, r.seq, a.ts, a.code, a.source, a.severity, a.message, a.active ? 1 : 0);
      }
      return inserted;
    });
  }

  /** The prepared statement of `sql`, prepared once (the few query shapes here stay well under the bound). */
  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.delete(this.statements.keys().next().value as string);
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  commit(records: readonly TelemetryRecord[]): Promise<number> {
    return Promise.resolve().then(() => this.commitTx(records));
  }

  isTransient(err: unknown): boolean {
    // A locked or busy database (another writer, a checkpoint) or a full disk clears by itself;
    // anything else (corruption, a read-only file) will not.
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|FULL|IOERR)/.test(code);
  }

  async latest(siteIds: readonly string[] | null): Promise<LatestPoint[]> {
    const sites = siteIds ?? (this.statement('SELECT DISTINCT site_id AS s FROM telemetry ORDER BY s').all() as { s: string }[]).map((r) => r.s);
    const stmt = this.statement(`SELECT * FROM telemetry WHERE site_id = ? ORDER BY ts DESC, seq DESC LIMIT 1`);
    const out: LatestPoint[] = [];
    for (const siteId of [...sites].sort()) {
      const row = stmt.get(siteId) as Record<string, number | string | null> | undefined;
      if (!row) continue;
      const fields: Record<string, number> = {};
      for (const f of FIELD_NAMES) if (typeof row[f] === 'number') fields[f] = row[f];
      out.push({ siteId, ts: Number(row['ts']), seq: Number(row['seq']), fields });
    }
    return out;
  }

  async range(q: { siteId: string; from: number; to: number; everyMs: number; fields: string[] }) {
    const aggregates = q.fields.map((f) => `AVG(${col(f)}), MIN(${col(f)}), MAX(${col(f)})`).join(', ');
    // Integer division floors for ts >= 0: intervals start at multiples of everyMs from the epoch.
    // (better-sqlite3 binds a JS number as REAL, which would make it a real division: hence the CAST.)
    const rows = this
      .statement(`SELECT (ts / CAST(@every AS INTEGER)) * CAST(@every AS INTEGER) AS start, COUNT(*) AS n, ${aggregates}
        FROM telemetry WHERE site_id = @site AND ts >= @from AND ts < @to GROUP BY start ORDER BY start`)
      .raw()
      .all({ every: q.everyMs, site: q.siteId, from: q.from, to: q.to }) as (number | null)[][];
    return rows.map((row) => {
      const fields: Record<string, Aggregate> = {};
      q.fields.forEach((f, i) => {
        fields[f] = { mean: roundMean(row[2 + 3 * i] ?? null), min: row[3 + 3 * i] ?? null, max: row[4 + 3 * i] ?? null };
      });
      return { start: Number(row[0]), count: Number(row[1]), fields };
    });
  }

  async alarms(q: { siteId?: string | undefined; from?: number | undefined; to?: number | undefined; limit: number }): Promise<StoredAlarm[]> {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: q.limit };
    if (q.siteId !== undefined) { where.push('site_id = @siteId'); params['siteId'] = q.siteId; }
    if (q.from !== undefined) { where.push('ts >= @from'); params['from'] = q.from; }
    if (q.to !== undefined) { where.push('ts < @to'); params['to'] = q.to; }
    const rows = this
      .statement(`SELECT ${ALARM_COLUMNS} FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ts, site_id, seq, code, source LIMIT @limit`)
      .all(params) as (Omit<StoredAlarm, 'active'> & { active: number })[];
    return rows.map((r) => ({ ...r, active: r.active === 1 }));
  }

  async highestSeq(siteId: string): Promise<number> {
    const row = this.statement('SELECT MAX(seq) AS s FROM telemetry WHERE site_id = ?').get(siteId) as { s: number | null };
    return row.s ?? 0;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** A SQLite time-series store in the file `path` (created with its directory when missing). */
export function openSqliteStore(path: string, queue: Partial<QueueOptions> = {}): TimeseriesStore {
  return queuedStore(new SqliteBackend(path), queue);
}
