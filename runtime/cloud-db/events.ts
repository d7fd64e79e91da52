// The cloud's cross-process event bus: what one cloud process learns that the others must pass on
// (a telemetry record that only it received from the shared ingest queue, an alarm it raised or
// one of its users acknowledged, a roll-out it advanced) reaches every process, which passes it to
// its own realtime clients (docs/ARCHITECTURE.md, "Leases and the event bus").
//
// publish() hands the payload to this process's subscribers at once (in order, synchronously) and,
// on PostgreSQL, to the other processes by NOTIFY; each process LISTENs on one dedicated
// connection and skips its own notifications, so every subscriber gets each event once. Events
// published while a NOTIFY is on its way travel together in the next one. A NOTIFY payload is
// limited to 8000 bytes: a larger event is written to the table bus_payloads and only its id is
// sent, and the receivers read it from there. The listening connection is reopened after
// it is lost (events published meanwhile are not replayed: the realtime clients reload what they
// show when they reconnect). Without PostgreSQL (a single process) the bus is in-process only.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { isPgCloudDb, type CloudDb } from './cloud-db';

export interface EventBus {
  /** To every subscriber of `channel` in every process, once. `payload` must survive JSON. */
  publish(channel: string, payload: unknown): void;
  /** Calls `cb` for each event on `channel`; returns the unsubscribe. */
  subscribe(channel: string, cb: (payload: unknown) => void): () => void;
  close(): Promise<void>;
}

/** One process: an EventEmitter. */
export class LocalEventBus implements EventBus {
  protected readonly local = new EventEmitter();

  constructor() {
    this.local.setMaxListeners(0);
  }

  publish(channel: string, payload: unknown): void {
    this.local.emit(channel, payload);
  }

  subscribe(channel: string, cb: (payload: unknown) => void): () => void {
    this.local.on(channel, cb);
    return () => this.local.off(channel, cb);
  }

  close(): Promise<void> {
    this.local.removeAllListeners();
    return Promise.resolve();
  }
}

/** The longest NOTIFY payload sent as it is (PostgreSQL's limit is 8000 bytes). */
export const MAX_NOTIFY_BYTES = 7900;
/** How long a large payload stays readable in bus_payloads, ms. */
const PAYLOAD_KEEP_MS = 60_000;
const PG_CHANNEL = 'lifo4_bus';

/** One event: its channel and its payload, or the id of the payload's row in bus_payloads. */
interface Item {
  c: string;
  p?: unknown;
  id?: number;
}

/** One NOTIFY: the publishing bus (its own notifications are skipped) and the events, in order. */
interface Envelope {
  o: string;
  e: Item[];
}

export interface PgEventBusOptions {
  /** Delay before the listening connection is reopened, ms (default 1000). */
  reconnectMs?: number;
  log?: (line: string) => void;
}

/** NOTIFY/LISTEN on PostgreSQL: `pool` publishes and reads large payloads; one connection of its own listens. */
export class PgEventBus extends LocalEventBus {
  readonly #origin = randomUUID();
  readonly #pool: pg.Pool;
  readonly #reconnectMs: number;
  readonly #log: (line: string) => void;
  #listener: pg.Client | null = null;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #table: Promise<void> | null = null;
  /**
   * Publishes in order: a NOTIFY leaves after the ones before it, and what is published while one
   * is on its way goes in the next together (one NOTIFY carries many events up to its size).
   */
  #queue: Promise<void> = Promise.resolve();
  #pending: { c: string; text: string; payload: unknown }[] = [];
  #sweptAt = 0;
  /** Received events are handed on in the order they arrived, also while a large one is read. */
  #inbox: Promise<void> = Promise.resolve();

  private constructor(pool: pg.Pool, opts: PgEventBusOptions) {
    super();
    this.#pool = pool;
    this.#reconnectMs = opts.reconnectMs ?? 1000;
    this.#log = opts.log ?? ((line) => console.error(line));
  }

  /** Opens the bus; resolves once it listens, so nothing published after that is missed. */
  static async open(pool: pg.Pool, opts: PgEventBusOptions = {}): Promise<PgEventBus> {
    const bus = new PgEventBus(pool, opts);
    try {
      await bus.#listen();
    } catch (err) {
      await bus.close();
      throw err;
    }
    return bus;
  }

  async #listen(): Promise<void> {
    const c = new pg.Client({ ...this.#pool.options, keepAlive: true, application_name: 'lifo4 event bus' });
    const lost = (why: string) => {
      if (this.#listener !== c) return;
      this.#listener = null;
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      if (this.#closed) return;
      this.#log(`event bus: listening connection lost (${why}); reconnecting`);
      this.#retry = setTimeout(() => void this.#reopen(), this.#reconnectMs);
      this.#retry.unref();
    };
    c.on('error', (err) => lost(err.message));
    c.on('end', () => lost('ended'));
    c.on('notification', (n) => {
      const text = n.payload;
      if (n.channel === PG_CHANNEL && text !== undefined) this.#inbox = this.#inbox.then(() => this.#received(text));
    });
    this.#listener = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${PG_CHANNEL}`);
    } catch (err) {
      lost(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  async #reopen(): Promise<void> {
    if (this.#closed || this.#listener) return;
    try {
      await this.#listen();
      this.#log('event bus: listening again');
    } catch {
      // #listen's lost() scheduled the next try.
    }
  }

  async #received(text: string): Promise<void> {
    let env: Envelope;
    try {
      env = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    if (env.o === this.#origin || !Array.isArray(env.e)) return;
    for (const item of env.e) {
      if (typeof item.c !== 'string') continue;
      let payload = item.p;
      if (typeof item.id === 'number') {
        try {
          const r = await this.#pool.query<{ body: string }>('SELECT body FROM bus_payloads WHERE id = $1', [item.id]);
          const body = r.rows[0]?.body;
          if (body === undefined) continue;
          payload = JSON.parse(body) as unknown;
        } catch (err) {
          this.#log(`event bus: reading payload ${item.id}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
      }
      this.local.emit(item.c, payload);
    }
  }

  override publish(channel: string, payload: unknown): void {
    super.publish(channel, payload);
    this.#pending.push({ c: channel, text: JSON.stringify({ c: channel, p: payload } satisfies Item), payload });
    if (this.#pending.length > 1) return;
    // The first event since the last send schedules the next one, after the send in flight.
    this.#queue = this.#queue
      .then(() => this.#send())
      .catch((err: unknown) => this.#log(`event bus: publish: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Sends what is pending: as few NOTIFYs as fit, each under the size limit, in order. */
  async #send(): Promise<void> {
    const items = this.#pending;
    this.#pending = [];
    const head = `{"o":${JSON.stringify(this.#origin)},"e":[`;
    let batch: string[] = [];
    let bytes = Buffer.byteLength(head) + 2;
    const flush = async () => {
      if (batch.length) await this.#notify(`${head}${batch.join(',')}]}`);
      batch = [];
      bytes = Buffer.byteLength(head) + 2;
    };
    for (const item of items) {
      let text = item.text;
      let size = Buffer.byteLength(text);
      if (Buffer.byteLength(head) + 2 + size > MAX_NOTIFY_BYTES) {
        text = JSON.stringify({ c: item.c, id: await this.#store(item.payload) } satisfies Item);
        size = Buffer.byteLength(text);
      }
      if (bytes + size + 1 > MAX_NOTIFY_BYTES) await flush();
      batch.push(text);
      bytes += size + 1;
    }
    await flush();
  }

  async #notify(text: string): Promise<void> {
    await this.#pool.query('SELECT pg_notify($1, $2)', [PG_CHANNEL, text]);
  }

  /** A payload too large for a NOTIFY, kept a minute in bus_payloads; resolves to its row id. */
  async #store(payload: unknown): Promise<number> {
    await this.#ensureTable();
    const now = Date.now();
    const r = await this.#pool.query<{ id: string }>('INSERT INTO bus_payloads (created_at, body) VALUES ($1, $2) RETURNING id', [now, JSON.stringify(payload)]);
    if (now - this.#sweptAt > PAYLOAD_KEEP_MS) {
      this.#sweptAt = now;
      await this.#pool.query('DELETE FROM bus_payloads WHERE created_at < $1', [now - PAYLOAD_KEEP_MS]);
    }
    return Number(r.rows[0]?.id);
  }

  /** The table of large payloads belongs to the bus alone; made on first use, under a lock so two processes make it once. */
  #ensureTable(): Promise<void> {
    this.#table ??= (async () => {
      const c = await this.#pool.connect();
      try {
        await c.query('BEGIN');
        await c.query("SELECT pg_advisory_xact_lock(hashtext('lifo4 bus_payloads'))");
        await c.query('CREATE TABLE IF NOT EXISTS bus_payloads (id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL, body TEXT NOT NULL)');
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        this.#table = null;
        throw err;
      } finally {
        c.release();
      }
    })();
    return this.#table;
  }

  /** Resolves when what was published so far has been sent (tests, and close). */
  flushed(): Promise<void> {
    return this.#queue;
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#queue;
    const c = this.#listener;
    this.#listener = null;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
    await super.close();
  }
}

/** The event bus of the processes sharing `db`: NOTIFY/LISTEN on PostgreSQL, in-process on SQLite. */
export async function openEventBus(db: CloudDb, opts: PgEventBusOptions = {}): Promise<EventBus> {
  return isPgCloudDb(db) ? PgEventBus.open(db.pool, opts) : new LocalEventBus();
}
