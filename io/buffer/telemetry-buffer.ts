// The edge's store-and-forward buffer: every telemetry record is written here, with its per-site
// sequence number, before it is sent, and leaves only when the cloud acknowledges that it has
// stored it. One SQLite file per site (better-sqlite3, WAL), owned by one process.
//
// Durability: appends commit with synchronous=FULL. In WAL mode NORMAL survives a process crash
// but a power loss may roll back the last commits, and with them the sequence counter: the next
// records would then reuse seqs the cloud already stored and be dropped there as duplicates. FULL
// costs one WAL fsync per commit (about 0.1 ms here; at 1 record/s nothing on an SD card either).
// Acks delete with synchronous=NORMAL: a delete lost to a power loss only resends records that
// the cloud recognises by seq and acknowledges again. Bulk appends go through appendMany, one
// transaction (and one fsync) for all of them.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { TelemetryRecord } from '../../domain/contracts';

/** A record before the buffer numbers it. */
export type NewRecord = Omit<TelemetryRecord, 'seq'>;

/** A buffered record: `json` is the complete TelemetryRecord (with seq) as JSON text. */
export interface BufferedRecord {
  seq: number;
  ts: number;
  json: string;
}

export interface TelemetryBufferOptions {
  /** The SQLite file; its directory is created. */
  path: string;
  siteId: string;
  /** Most records kept; beyond it the oldest are dropped and counted. Default 200,000. */
  maxRecords?: number;
  /** Oldest record kept, s (by the time it was buffered). Default 7 days. */
  maxAgeS?: number;
  /** The clock, ms; tests pass their own. */
  now?: () => number;
}

export interface BufferStats {
  siteId: string;
  /** Records waiting for the cloud's ack. */
  count: number;
  /** Lowest and highest seq waiting, null when empty. */
  firstSeq: number | null;
  lastSeq: number | null;
  /** The last seq ever assigned (0 before the first record). */
  lastAssigned: number;
  /** Records dropped unacknowledged because the buffer was full or they were too old, ever. */
  dropped: number;
}

export interface AppendResult {
  firstSeq: number;
  lastSeq: number;
  /** Oldest records dropped by this append to stay within the limits. */
  dropped: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- AUTOINCREMENT: a seq is never reused, even after every record up to it was acked and deleted.
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  ts INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_stored_at ON records (stored_at);
`;

export class TelemetryBuffer {
  readonly siteId: string;
  readonly path: string;
  readonly maxRecords: number;
  readonly maxAgeMs: number;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private count: number;
  private droppedTotal: number;
  private readonly stmt: {
    insert: Database.Statement<[number, number, string]>;
    pending: Database.Statement<[number, number], { seq: number; ts: number; body: string }>;
    deleteRange: Database.Statement<[number, number]>;
    dropOldest: Database.Statement<[number]>;
    dropOlderThan: Database.Statement<[number]>;
    oldestStoredAt: Database.Statement<[], { stored_at: number }>;
    oldestTs: Database.Statement<[], { ts: number }>;
    bounds: Database.Statement<[], { first: number | null; last: number | null }>;
    lastAssigned: Database.Statement<[], { seq: number }>;
    setMeta: Database.Statement<[string, string]>;
  };
  private readonly appendTx: (records: readonly NewRecord[]) => AppendResult;
  private readonly ackTx: (ranges: ReadonlyArray<readonly [number, number]>) => number;

  constructor(opts: TelemetryBufferOptions) {
    this.siteId = opts.siteId;
    this.path = opts.path;
    this.maxRecords = opts.maxRecords ?? 200_000;
    this.maxAgeMs = (opts.maxAgeS ?? 7 * 24 * 3600) * 1000;
    if (!(this.maxRecords >= 1) || !(this.maxAgeMs > 0)) throw new Error('telemetry buffer: maxRecords >= 1 and maxAgeS > 0 required');
    this.now = opts.now ?? Date.now;
    mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    try {
      // command-in keeps its replay ledger in the same file on its own connection.
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
      const site = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'siteId'").get();
      if (site && site.value !== opts.siteId) throw new Error(`telemetry buffer ${opts.path} belongs to site ${site.value}, not ${opts.siteId}`);
      this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('siteId', ?), ('dropped', '0')").run(opts.siteId);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.stmt = {
      insert: this.db.prepare('INSERT INTO records (ts, stored_at, body) VALUES (?, ?, ?)'),
      pending: this.db.prepare('SELECT seq, ts, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?'),
      deleteRange: this.db.prepare('DELETE FROM records WHERE seq BETWEEN ? AND ?'),
      dropOldest: this.db.prepare('DELETE FROM records WHERE seq IN (SELECT seq FROM records ORDER BY seq LIMIT ?)'),
      dropOlderThan: this.db.prepare('DELETE FROM records WHERE stored_at < ?'),
      oldestStoredAt: this.db.prepare('SELECT stored_at FROM records ORDER BY seq LIMIT 1'),
      oldestTs: this.db.prepare('SELECT ts FROM records ORDER BY seq LIMIT 1'),
      bounds: this.db.prepare('SELECT min(seq) AS first, max(seq) AS last FROM records'),
      lastAssigned: this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'"),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    };
    this.count = (this.db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
    this.droppedTotal = Number((this.db.prepare("SELECT value FROM meta WHERE key = 'dropped'").get() as { value: string }).value);

    this.appendTx = this.db.transaction((records: readonly NewRecord[]) => {
      const storedAt = this.now();
      let firstSeq = 0;
      let lastSeq = 0;
      for (const r of records) {
        if (r.siteId !== this.siteId) throw new Error(`telemetry buffer for ${this.siteId}: record of site ${r.siteId}`);
        // The body is kept without seq (the row's key); `pending` splices it back in.
        const { seq: _ignored, ...rest } = r as NewRecord & { seq?: unknown };
        const seq = Number(this.stmt.insert.run(r.ts, storedAt, JSON.stringify(rest)).lastInsertRowid);
        if (!firstSeq) firstSeq = seq;
        lastSeq = seq;
      }
      this.count += records.length;
      const dropped = this.enforceLimits(storedAt);
      return { firstSeq, lastSeq, dropped };
    });
    this.ackTx = this.db.transaction((ranges: ReadonlyArray<readonly [number, number]>) => {
      let deleted = 0;
      for (const [from, to] of ranges) if (from <= to) deleted += this.stmt.deleteRange.run(from, to).changes;
      this.count -= deleted;
      return deleted;
    });
  }

  /** Number `record` with the site's next seq and store it (committed before this returns). */
  append(record: NewRecord): AppendResult {
    return this.appendTx([record]);
  }

  /** Store many records in one transaction, numbered in order. */
  appendMany(records: readonly NewRecord[]): AppendResult {
    if (records.length === 0) return { firstSeq: 0, lastSeq: 0, dropped: 0 };
    return this.appendTx(records);
  }

  /**
   * Up to `limit` records with seq > afterSeq, in seq order, their JSON together at most
   * `maxBytes` long (but always at least one record, if there is one).
   */
  pending(afterSeq = 0, limit = 500, maxBytes = Infinity): BufferedRecord[] {
    const out: BufferedRecord[] = [];
    let bytes = 0;
    for (const row of this.stmt.pending.iterate(afterSeq, limit)) {
      // body is a JSON object with at least siteId, so "{" + seq + "," + the rest is valid JSON.
      const json = `{"seq":${row.seq},${row.body.slice(1)}`;
      bytes += json.length + 1;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push({ seq: row.seq, ts: row.ts, json });
    }
    return out;
  }

  /** Forget exactly the acknowledged records (inclusive ranges); returns how many were deleted. */
  ack(ranges: ReadonlyArray<readonly [number, number]>): number {
    if (ranges.length === 0) return 0;
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.ackTx(ranges);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  stats(): BufferStats {
    const b = this.stmt.bounds.get() ?? { first: null, last: null };
    return {
      siteId: this.siteId,
      count: this.count,
      firstSeq: b.first,
      lastSeq: b.last,
      lastAssigned: this.stmt.lastAssigned.get()?.seq ?? 0,
      dropped: this.droppedTotal,
    };
  }

  /** The time of the oldest record waiting for the cloud's ack (ms epoch), null when none waits. */
  oldestTs(): number | null {
    if (this.count === 0) return null;
    return this.stmt.oldestTs.get()?.ts ?? null;
  }

  get size(): number {
    return this.count;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Inside the append transaction: drop the oldest records beyond the size and age limits. */
  private enforceLimits(now: number): number {
    let dropped = 0;
    if (this.count > this.maxRecords) dropped += this.stmt.dropOldest.run(this.count - this.maxRecords).changes;
    const oldest = this.stmt.oldestStoredAt.get();
    if (oldest && oldest.stored_at < now - this.maxAgeMs) dropped += this.stmt.dropOlderThan.run(now - this.maxAgeMs).changes;
    if (dropped > 0) {
      this.count -= dropped;
      this.droppedTotal += dropped;
      this.stmt.setMeta.run('dropped', String(this.droppedTotal));
    }
    return dropped;
  }
}
