// The InfluxDB 1.x back end (`influx` package). Measurement `telemetry`: tag siteId, integer field
// seq and a float field per name in fields.ts; measurement `alarms`: tags siteId, code, source.
// InfluxDB identifies a point by measurement, tags and timestamp, and a point written again with
// the same identity overwrites the old one: so the timestamp is deterministic, ts in ms followed
// by the seq modulo 10^6 as the nanoseconds (ts * 10^6 + seq % 10^6), and a rewrite never
// duplicates. Interval queries still see the record at its ms (the extra ns are under one ms).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { FieldType, InfluxDB, type IPoint } from 'influx';
import type { TelemetryRecord } from '../../domain/contracts';
import { FIELD_NAMES, flattenRecord } from './fields';
import { queuedStore, roundMean, type Aggregate, type LatestPoint, type RangeBucket, type StoredAlarm, type TimeseriesBackend, type TimeseriesStore } from './store';
import type { QueueOptions } from './write-queue';

const TELEMETRY = 'telemetry';
const ALARMS = 'alarms';
/** Points per HTTP write: InfluxDB's documented sweet spot is 5,000-10,000. */
const WRITE_CHUNK = 5000;
/** Existence checks: sites per statement and statements per request. */
const SITES_PER_STATEMENT = 200;
const STATEMENTS_PER_QUERY = 50;
/** Sites whose records fall within this window share one existence check. */
const CHECK_WINDOW_MS = 60_000;

export interface InfluxStoreOptions {
  /** http(s)://[user:password@]host:port/<database>, e.g. http://127.0.0.1:8086/lifo4 */
  url: string;
  /** Per HTTP request, ms. */
  requestTimeoutMs?: number;
  queue?: Partial<QueueOptions>;
}

/** The point's timestamp, ns, as a string (it exceeds 2^53). */
export function pointTimeNs(tsMs: number, seq: number): string {
  return (BigInt(tsMs) * 1_000_000n + BigInt(seq % 1_000_000)).toString();
}
const nsOfMs = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();

/** Site ids are [A-Za-z0-9_-] (SiteIdSchema), so they are safe inside quotes and regexes. */
const siteMatch = (sites: readonly string[]): string =>
  sites.length === 1 ? `"siteId" = '${sites[0]}'` : `"siteId" =~ /^(${sites.join('|')})$/`;
const ident = (name: string): string => `"${name}"`;

interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
interface RawResponse {
  results: { statement_id: number; series?: RawSeries[]; error?: string }[];
}

function seriesOf(raw: unknown): RawSeries[][] {
  const res = raw as RawResponse;
  return res.results.map((r) => {
    if (r.error) throw new Error(`InfluxDB: ${r.error}`);
    return r.series ?? [];
  });
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

class InfluxBackend implements TimeseriesBackend {
  readonly kind = 'influxdb' as const;
  private readonly influx: InfluxDB;
  private readonly database: string;
  private readonly agent: HttpAgent;
  private databaseReady = false;

  constructor(opts: InfluxStoreOptions) {
    const url = new URL(opts.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`InfluxDB url ${opts.url}: http: or https: only`);
    const database = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
    if (!/^[A-Za-z0-9_-]+$/.test(database)) throw new Error(`InfluxDB url ${opts.url}: name the database in the path, e.g. http://127.0.0.1:8086/lifo4`);
    this.database = database;
    const https = url.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    const fields: Record<string, FieldType> = { seq: FieldType.INTEGER };
    for (const f of FIELD_NAMES) fields[f] = FieldType.FLOAT;
    this.influx = new InfluxDB({
      host: url.hostname,
      port: url.port ? Number(url.port) : 8086,
      protocol: https ? 'https' : 'http',
      database,
      ...(url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : {}),
      options: { agent: this.agent },
      // Our queue retries with its own backoff; the pool must neither retry nor bench the host.
      pool: {
        maxRetries: 0,
        requestTimeout: opts.requestTimeoutMs ?? 10_000,
        backoff: { getDelay: () => 0, next() { return this; }, reset() { return this; } },
      },
      schema: [
        { measurement: TELEMETRY, tags: ['siteId'], fields },
        { measurement: ALARMS, tags: ['siteId', 'code', 'source'], fields: { seq: FieldType.INTEGER, severity: FieldType.STRING, message: FieldType.STRING, active: FieldType.BOOLEAN } },
      ],
    });
  }

  private async query(statements: string | string[]): Promise<RawSeries[][]> {
    return seriesOf(await this.influx.queryRaw(statements, { precision: 'ms', method: 'POST' }));
  }

  private async ensureDatabase(): Promise<void> {
    if (this.databaseReady) return;
    // CREATE DATABASE is a no-op when it exists.
    await this.influx.createDatabase(this.database);
    this.databaseReady = true;
  }

  /** Which of the records' seqs are already stored, as "siteId\0seq". */
  private async existing(records: readonly TelemetryRecord[]): Promise<Set<string>> {
    const windows = new Map<string, { min: number; max: number }>();
    for (const r of records) {
      const w = windows.get(r.siteId);
      if (!w) windows.set(r.siteId, { min: r.ts, max: r.ts });
      else { w.min = Math.min(w.min, r.ts); w.max = Math.max(w.max, r.ts); }
    }
    // Live batches hold every site's newest record, all within a moment: one statement covers many
    // sites. A site draining a backlog spans hours and gets its own statement.
    const statements: string[] = [];
    const sorted = [...windows].sort((a, b) => a[1].min - b[1].min);
    let group: string[] = [];
    let gMin = 0;
    let gMax = 0;
    const flush = (): void => {
      if (!group.length) return;
      statements.push(`SELECT "seq" FROM ${TELEMETRY} WHERE time >= ${nsOfMs(gMin)} AND time < ${nsOfMs(gMax + 1)} AND ${siteMatch(group)} GROUP BY "siteId"`);
      group = [];
    };
    for (const [siteId, w] of sorted) {
      if (group.length && (w.max - gMin > CHECK_WINDOW_MS || group.length >= SITES_PER_STATEMENT)) flush();
      if (!group.length) { gMin = w.min; gMax = w.max; }
      group.push(siteId);
      gMax = Math.max(gMax, w.max);
    }
    flush();
    const found = new Set<string>();
    for (let i = 0; i < statements.length; i += STATEMENTS_PER_QUERY) {
      for (const result of await this.query(statements.slice(i, i + STATEMENTS_PER_QUERY))) {
        for (const s of result) {
          const seqAt = s.columns.indexOf('seq');
          for (const row of s.values) found.add(`${s.tags?.['siteId']}\u0000${String(row[seqAt])}`);
        }
      }
    }
    return found;
  }

  async commit(records: readonly TelemetryRecord[]): Promise<number> {
    await this.ensureDatabase();
    const existing = await this.existing(records);
    const fresh = records.filter((r) => !existing.has(`${r.siteId}\u0000${r.seq}`));
    const points: IPoint[] = [];
    for (const r of fresh) {
      // Alarms first: a stored telemetry point then implies its alarms landed too.
      for (const a of r.alarms ?? []) {
        points.push({
          measurement: ALARMS, tags: { siteId: r.siteId, code: a.code, source: a.source },
          fields: { seq: r.seq, severity: a.severity, message: a.message, active: a.active }, timestamp: pointTimeNs(a.ts, r.seq),
        });
      }
    }
    for (const r of fresh) points.push({ measurement: TELEMETRY, tags: { siteId: r.siteId }, fields: { seq: r.seq, ...flattenRecord(r) }, timestamp: pointTimeNs(r.ts, r.seq) });
    for (let i = 0; i < points.length; i += WRITE_CHUNK) await this.influx.writePoints(points.slice(i, i + WRITE_CHUNK), { precision: 'n' });
    return fresh.length;
  }

  isTransient(err: unknown): boolean {
    // The package's RequestError (an HTTP status 300-500) carries the response; it is not exported.
    const status = (err as { res?: { statusCode?: number } } | null)?.res?.statusCode;
    if (typeof status === 'number') {
      // 404: the database went away (dropped, a fresh server): create it again on the next try.
      if (status === 404) this.databaseReady = false;
      return status >= 500 || status === 404 || status === 408 || status === 429;
    }
    // Connection refused or reset, timeouts, "No host available", a bad gateway: the server may return.
    return true;
  }

  async latest(siteIds: readonly string[] | null): Promise<LatestPoint[]> {
    if (siteIds && siteIds.length === 0) return [];
    const where = siteIds ? `WHERE ${siteMatch(siteIds)}` : '';
    const [series = []] = await this.query(`SELECT * FROM ${TELEMETRY} ${where} GROUP BY "siteId" ORDER BY time DESC LIMIT 1`);
    const out: LatestPoint[] = [];
    for (const s of series) {
      const row = s.values[0];
      const siteId = s.tags?.['siteId'];
      if (!row || !siteId) continue;
      const fields: Record<string, number> = {};
      let seq = 0;
      s.columns.forEach((c, i) => {
        const v = num(row[i]);
        if (c === 'seq') seq = v ?? 0;
        else if (c !== 'time' && v !== null && FIELD_NAMES.includes(c)) fields[c] = v;
      });
      out.push({ siteId, ts: Number(row[0]), seq, fields });
    }
    return out.sort((a, b) => (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : 0));
  }

  async range(q: { siteId: string; from: number; to: number; everyMs: number; fields: string[] }): Promise<RangeBucket[]> {
    const aggregates = q.fields.map((f) => `mean(${ident(f)}), min(${ident(f)}), max(${ident(f)})`).join(', ');
    const [series = []] = await this.query(
      `SELECT count("seq"), ${aggregates} FROM ${TELEMETRY} WHERE ${siteMatch([q.siteId])} AND time >= ${nsOfMs(q.from)} AND time < ${nsOfMs(q.to)}
       GROUP BY time(${q.everyMs}ms) fill(none)`,
    );
    const rows = series[0]?.values ?? [];
    return rows
      .filter((row) => (num(row[1]) ?? 0) > 0)
      .map((row) => {
        const fields: Record<string, Aggregate> = {};
        q.fields.forEach((f, i) => {
          fields[f] = { mean: roundMean(num(row[2 + 3 * i])), min: num(row[3 + 3 * i]), max: num(row[4 + 3 * i]) };
        });
        return { start: Number(row[0]), count: Number(row[1]), fields };
      });
  }

  async alarms(q: { siteId?: string | undefined; from?: number | undefined; to?: number | undefined; limit: number }): Promise<StoredAlarm[]> {
    const where: string[] = [];
    if (q.siteId !== undefined) where.push(siteMatch([q.siteId]));
    if (q.from !== undefined) where.push(`time >= ${nsOfMs(q.from)}`);
    if (q.to !== undefined) where.push(`time < ${nsOfMs(q.to)}`);
    const [series = []] = await this.query(`SELECT * FROM ${ALARMS} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time LIMIT ${q.limit}`);
    const out: StoredAlarm[] = [];
    for (const s of series) {
      const at = (name: string): number => s.columns.indexOf(name);
      for (const row of s.values) {
        out.push({
          siteId: String(row[at('siteId')]), seq: Number(row[at('seq')]), ts: Number(row[at('time')]),
          code: String(row[at('code')]), severity: row[at('severity')] as StoredAlarm['severity'], message: String(row[at('message')]),
          source: String(row[at('source')]), active: row[at('active')] === true,
        });
      }
    }
    // The same order as SQLite's ORDER BY ts, site_id, seq, code, source.
    const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
    return out.sort((a, b) => a.ts - b.ts || cmp(a.siteId, b.siteId) || a.seq - b.seq || cmp(a.code, b.code) || cmp(a.source, b.source));
  }

  async highestSeq(siteId: string): Promise<number> {
    const [series = []] = await this.query(`SELECT max("seq") FROM ${TELEMETRY} WHERE ${siteMatch([siteId])}`);
    return num(series[0]?.values[0]?.[1]) ?? 0;
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/** An InfluxDB 1.x time-series store; the database is created on the first write. */
export function openInfluxStore(opts: InfluxStoreOptions): TimeseriesStore {
  return queuedStore(new InfluxBackend(opts), opts.queue ?? {});
}
