// Leader leases: the jobs that must run on one cloud process at a time (the cloud's alarm rules,
// the OTA roll-out scheduler, the retraining, the monthly mailing) run only where their lease is
// held. On PostgreSQL a lease is a session-level advisory lock (pg_try_advisory_lock) held on one
// dedicated connection: the holder keeps it for as long as that connection lives, and when the
// holder process dies (even kill -9) the server ends its session, the lock goes with it, and the
// next process to try takes it (docs/ARCHITECTURE.md, "Leases and the event bus"). Every process
// tries every `retryMs`; the holder checks its connection as often, so a holder cut off from the
// server steps down about as fast as another one steps up; having lost it, it lets the others try
// first for a few rounds. On SQLite there is one process: the
// lease is always held.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { isPgCloudDb, type CloudDb } from './cloud-db';

export const LEASE_NAMES = ['alarms', 'ota-rollout', 'retrain', 'monthly-mailing'] as const;
export type LeaseName = (typeof LEASE_NAMES)[number];

export interface Lease {
  readonly name: LeaseName;
  /** True while this process holds the lease: its job may run. */
  isHolder(): boolean;
  /** Calls back on every change (true: taken, false: lost); returns the unsubscribe. */
  onChange(cb: (held: boolean) => void): () => void;
  /** Resolves after the first attempt to take the lease, whichever way it went. */
  readonly settled: Promise<void>;
  /** Stops trying and gives the lease up (another process takes it on its next try). */
  close(): Promise<void>;
}

/** The advisory-lock key of a lease: 64 bits of a hash of its name, as PostgreSQL's bigint (decimal text). */
export function leaseKey(name: string): string {
  return createHash('sha256').update(`lifo4 lease ${name}`).digest().readBigInt64BE(0).toString();
}

/** The lease of a single-process store (SQLite): always held. */
export function soleLease(name: LeaseName): Lease {
  return { name, isHolder: () => true, onChange: () => () => undefined, settled: Promise.resolve(), close: () => Promise.resolve() };
}

export interface PgLeaseOptions {
  /** How often a non-holder tries to take the lease and a holder checks its connection, ms (default 1000). */
  retryMs?: number;
  /** Where connection failures are reported (default: nowhere; they are retried). */
  log?: (line: string) => void;
}

export const DEFAULT_LEASE_RETRY_MS = 1000;

/** A lease on a PostgreSQL advisory lock, on a connection of its own opened from `config`. */
export class PgLease implements Lease {
  readonly #config: pg.ClientConfig;
  readonly #key: string;
  readonly #retryMs: number;
  readonly #log: (line: string) => void;
  readonly #events = new EventEmitter<{ change: [boolean] }>();
  #client: pg.Client | null = null;
  #held = false;
  #closed = false;
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #lastError = '';
  /** A holder that lost its session waits a few rounds before trying again: the others go first. */
  #notBefore = 0;
  readonly settled: Promise<void>;

  constructor(readonly name: LeaseName, config: pg.ClientConfig, opts: PgLeaseOptions = {}) {
    // The connection must not time out idle queries' sessions; keepalive finds a dead server.
    // The session names the lease and the process (pg_stat_activity shows who holds what).
    this.#config = { ...config, keepAlive: true, application_name: `lifo4 lease ${name} ${process.pid}` };
    this.#key = leaseKey(name);
    this.#retryMs = opts.retryMs ?? DEFAULT_LEASE_RETRY_MS;
    this.#log = opts.log ?? (() => undefined);
    this.settled = this.#attempt();
    this.#timer = setInterval(() => void this.#attempt(), this.#retryMs);
    this.#timer.unref();
  }

  isHolder(): boolean {
    return this.#held;
  }

  onChange(cb: (held: boolean) => void): () => void {
    this.#events.on('change', cb);
    return () => this.#events.off('change', cb);
  }

  #set(held: boolean): void {
    if (this.#held === held) return;
    this.#held = held;
    this.#events.emit('change', held);
  }

  /** The connection is gone (or unusable): the lock went with its session. */
  #drop(client: pg.Client, why: string): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (why !== this.#lastError) this.#log(`lease ${this.name}: ${why}`);
    this.#lastError = why;
    if (this.#held) this.#notBefore = Date.now() + 3 * this.#retryMs;
    this.#set(false);
  }

  async #attempt(): Promise<void> {
    if (this.#closed || this.#busy || Date.now() < this.#notBefore) return;
    this.#busy = true;
    try {
      let client = this.#client;
      if (!client) {
        const c = new pg.Client(this.#config);
        c.on('error', (err) => this.#drop(c, `connection lost: ${err.message}`));
        c.on('end', () => this.#drop(c, 'connection ended'));
        this.#client = c;
        try {
          await c.connect();
        } catch (err) {
          this.#drop(c, `cannot connect: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        if (this.#closed) return void (await c.end().catch(() => undefined));
        client = c;
      }
      try {
        if (this.#held) {
          // The holder's check that its session (and so the lock) still exists.
          await withTimeout(client.query('SELECT 1'), this.#retryMs * 2);
        } else {
          const r = await withTimeout(client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.#key]), this.#retryMs * 2);
          if (this.#client === client && r.rows[0]?.ok === true) {
            this.#lastError = '';
            this.#set(true);
          }
        }
      } catch (err) {
        this.#drop(client, `query failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    } finally {
      this.#busy = false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.settled;
    const c = this.#client;
    this.#client = null;
    this.#set(false);
    if (!c) return;
    c.removeAllListeners();
    c.on('error', () => undefined);
    // Ending the session releases its advisory locks.
    await c.end().catch(() => undefined);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The lease `name` for the processes sharing `db`: an advisory lock on PostgreSQL, always held on SQLite. */
export function openLease(db: CloudDb, name: LeaseName, opts: PgLeaseOptions = {}): Lease {
  return isPgCloudDb(db) ? new PgLease(name, db.pool.options, opts) : soleLease(name);
}
