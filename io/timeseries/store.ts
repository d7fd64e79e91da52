// The time-series store the cloud writes telemetry records into and the API reads from, with two
// back ends behind it (SQLite by default, InfluxDB 1.x at scale: docs/ARCHITECTURE.md, "Embedded defaults and production").
// Writes are idempotent on (siteId, seq), so a record the edge sends again (its ack was lost) is
// stored once; they wait in a bounded queue while a back end is down, and a full queue refuses new
// input, so the ack is never sent for a record that is not stored and the edge keeps its copy.
import { z } from 'zod';
import { describeIssues, SiteIdSchema, TelemetryRecordSchema, type Alarm, type TelemetryRecord } from '../../domain/contracts';
import { FIELD_NAMES, isFieldName } from './fields';
import { isSealedValidRecord } from './valid-records';
import { WriteQueue, type QueueOptions } from './write-queue';

export type SeqRange = [from: number, to: number];

/** The seqs of one site a write has committed (new or already there): what the ack carries. */
export interface CommittedSite {
  siteId: string;
  ranges: SeqRange[];
  /** The highest seq in `ranges`. */
  seq: number;
}

export interface WriteResult {
  /** Records stored by this write. */
  inserted: number;
  /** Valid records that were already stored (a resend): still committed, so still acknowledged. */
  duplicates: number;
  /** Records that failed the TelemetryRecord schema: never stored. */
  rejected: { index: number; reason: string }[];
  committed: CommittedSite[];
}

export interface LatestPoint {
  siteId: string;
  ts: number;
  seq: number;
  /** The fields the latest record carried (see fields.ts). */
  fields: Record<string, number>;
}

const MAX_BUCKETS = 10_000;

export const RangeQuerySchema = z
  .object({
    siteId: SiteIdSchema,
    from: z.number().int().nonnegative(),
    /** Exclusive. */
    to: z.number().int().positive(),
    everyMs: z.number().int().min(1000).max(31 * 86_400_000),
    fields: z.array(z.string().refine(isFieldName, 'unknown field')).min(1).optional(),
  })
  .refine((q) => q.to > q.from, { message: 'to must be after from' })
  .refine((q) => (q.to - q.from) / q.everyMs <= MAX_BUCKETS, { message: `at most ${MAX_BUCKETS} intervals` });
export type RangeQuery = z.input<typeof RangeQuerySchema>;

export interface Aggregate {
  mean: number | null;
  min: number | null;
  max: number | null;
}

export interface RangeBucket {
  /** Interval start, ms; intervals are aligned to the epoch (UTC), like InfluxDB's GROUP BY time. */
  start: number;
  /** Records in the interval. */
  count: number;
  fields: Record<string, Aggregate>;
}

export interface RangeResult {
  siteId: string;
  everyMs: number;
  fields: string[];
  /** Only intervals holding records, oldest first. */
  buckets: RangeBucket[];
}

/**
 * The buckets of a range longer than one query may ask for (MAX_BUCKETS intervals): queried in
 * consecutive parts that end on interval boundaries, so no epoch-aligned bucket is split.
 */
export async function rangeBuckets(store: Pick<TimeseriesStore, 'range'>, query: z.output<typeof RangeQuerySchema>): Promise<RangeBucket[]> {
  const out: RangeBucket[] = [];
  for (let from = query.from; from < query.to; ) {
    const to = Math.min(query.to, Math.floor((from + MAX_BUCKETS * query.everyMs) / query.everyMs) * query.everyMs);
    out.push(...(await store.range({ ...query, from, to })).buckets);
    from = to;
  }
  return out;
}

export const AlarmQuerySchema = z.object({
  siteId: SiteIdSchema.optional(),
  from: z.number().int().nonnegative().optional(),
  to: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(10_000).default(1000),
});
export type AlarmQuery = z.input<typeof AlarmQuerySchema>;

/** An alarm transition as stored: the Alarm and the record that carried it. */
export type StoredAlarm = Alarm & { siteId: string; seq: number };

export interface StoreHealth {
  /** Records waiting to be committed. */
  queued: number;
  /** The back end failed and the queue is retrying. */
  retrying: boolean;
  lastError: string | null;
}

export interface TimeseriesStore {
  readonly kind: 'sqlite' | 'influxdb';
  /**
   * Stores the valid records, resolving once they are committed; rejects with StoreQueueFullError
   * at once when the queue is full, and with StoreClosedError when closed first.
   */
  write(records: readonly unknown[]): Promise<WriteResult>;
  /** Per site the newest record (by ts, then seq); all sites when `siteIds` is omitted. Sorted by siteId. */
  latest(siteIds?: readonly string[]): Promise<LatestPoint[]>;
  /** Mean, min and max of each field per interval [from, to); the same answer from both back ends. */
  range(query: RangeQuery): Promise<RangeResult>;
  /** Alarm transitions carried by records, oldest first. */
  alarms(query?: AlarmQuery): Promise<StoredAlarm[]>;
  /** The highest seq stored for a site, 0 when none. */
  highestSeq(siteId: string): Promise<number>;
  health(): StoreHealth;
  /** Waits for a commit in progress, refuses what still waits (it is not acked), closes the back end. */
  close(): Promise<void>;
}

/** What a back end implements; the store adds validation, the queue and the results. */
export interface TimeseriesBackend {
  readonly kind: 'sqlite' | 'influxdb';
  /** Commits records (valid, unique by site and seq) and returns how many were new. */
  commit(records: readonly TelemetryRecord[]): Promise<number>;
  /** False for errors that retrying cannot cure (the queue then refuses that write). */
  isTransient(err: unknown): boolean;
  latest(siteIds: readonly string[] | null): Promise<LatestPoint[]>;
  range(query: z.output<typeof RangeQuerySchema> & { fields: string[] }): Promise<RangeBucket[]>;
  alarms(query: z.output<typeof AlarmQuerySchema>): Promise<StoredAlarm[]>;
  highestSeq(siteId: string): Promise<number>;
  close(): Promise<void>;
}

/** Inclusive ranges of a set of seqs, ascending: [1,2,3,7] -> [[1,3],[7,7]]. */
export function seqRanges(seqs: Iterable<number>): SeqRange[] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const out: SeqRange[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

/**
 * Means are sums divided by counts, and the two back ends add in different orders, so they can
 * differ in the last bits: 10 significant digits are far finer than any sensor and make the answers
 * identical.
 */
export function roundMean(v: number | null): number | null {
  return v === null ? null : Number(v.toPrecision(10));
}

class QueuedTimeseriesStore implements TimeseriesStore {
  readonly kind: 'sqlite' | 'influxdb';
  private readonly queue: WriteQueue<readonly TelemetryRecord[], number>;

  constructor(private readonly backend: TimeseriesBackend, queue: Partial<QueueOptions>) {
    this.kind = backend.kind;
    this.queue = new WriteQueue((records) => backend.commit(records), (err) => backend.isTransient(err), (records) => records.length, queue);
  }

  async write(input: readonly unknown[]): Promise<WriteResult> {
    const rejected: WriteResult['rejected'] = [];
    const unique = new Map<string, TelemetryRecord>();
    input.forEach((raw, index) => {
      // Parsed once already by the ingest (valid-records.ts): not again.
      const r = isSealedValidRecord(raw) ? { success: true as const, data: raw } : TelemetryRecordSchema.safeParse(raw);
      if (!r.success) rejected.push({ index, reason: describeIssues(r.error) });
      // A record twice in one write is stored once (the first); both are committed.
      else if (!unique.has(`${r.data.siteId}\u0000${r.data.seq}`)) unique.set(`${r.data.siteId}\u0000${r.data.seq}`, r.data);
    });
    const records = [...unique.values()];
    const inserted = records.length ? await this.queue.enqueue(records) : 0;
    const bySite = new Map<string, number[]>();
    for (const r of records) {
      const seqs = bySite.get(r.siteId) ?? [];
      seqs.push(r.seq);
      bySite.set(r.siteId, seqs);
    }
    const committed = [...bySite].map(([siteId, seqs]) => ({ siteId, ranges: seqRanges(seqs), seq: Math.max(...seqs) }));
    return { inserted, duplicates: input.length - rejected.length - inserted, rejected, committed };
  }

  latest(siteIds?: readonly string[]): Promise<LatestPoint[]> {
    if (siteIds) for (const s of siteIds) SiteIdSchema.parse(s);
    return this.backend.latest(siteIds ? [...new Set(siteIds)] : null);
  }

  async range(query: RangeQuery): Promise<RangeResult> {
    const r = RangeQuerySchema.safeParse(query);
    if (!r.success) throw new Error(`range query: ${describeIssues(r.error)}`);
    const fields = r.data.fields ? [...new Set(r.data.fields)] : [...FIELD_NAMES];
    const buckets = await this.backend.range({ ...r.data, fields });
    return { siteId: r.data.siteId, everyMs: r.data.everyMs, fields, buckets };
  }

  alarms(query: AlarmQuery = {}): Promise<StoredAlarm[]> {
    const r = AlarmQuerySchema.safeParse(query);
    if (!r.success) throw new Error(`alarm query: ${describeIssues(r.error)}`);
    return this.backend.alarms(r.data);
  }

  highestSeq(siteId: string): Promise<number> {
    return this.backend.highestSeq(SiteIdSchema.parse(siteId));
  }

  health(): StoreHealth {
    return this.queue.health();
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.backend.close();
  }
}

/** Wraps a back end in validation and the bounded retry queue. */
export function queuedStore(backend: TimeseriesBackend, queue: Partial<QueueOptions> = {}): TimeseriesStore {
  return new QueuedTimeseriesStore(backend, queue);
}
