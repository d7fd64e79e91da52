// The API's per-address and per-user request limits (runtime/api/router.ts, express-rate-limit)
// counted in the PostgreSQL every cloud process shares, so a client spreading its requests over the
// processes behind the load balancer meets the same limits as one talking to a single process:
// an express-rate-limit Store on rate-limiter-flexible's RateLimiterPostgres, the same fixed window
// as express-rate-limit's MemoryStore (the window starts with a key's first hit).
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type pg from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';

/** Where one limiter keeps its counts: `prefix` names the limiter (one store per limiter). */
export type RateStoreFactory = (prefix: string) => Store;

const TABLE = 'rate_limits';

/** Stores on `pool`; resolves once their table exists. */
export async function postgresRateStores(pool: pg.Pool): Promise<RateStoreFactory> {
  await createLimiterTable(pool, TABLE);
  return (prefix) => new PostgresRateStore(pool, prefix);
}

/**
 * rate-limiter-flexible's table (its own layout), made here under a transaction-level advisory lock:
 * two processes starting together would otherwise race on CREATE TABLE IF NOT EXISTS.
 */
export async function createLimiterTable(pool: pg.Pool, table: string): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`lifo4 table ${table}`]);
    await c.query(`CREATE TABLE IF NOT EXISTS "${table}" (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

class PostgresRateStore implements Store {
  readonly localKeys = false;
  #limiter: RateLimiterPostgres | null = null;
  #windowMs = 60_000;

  constructor(private readonly pool: pg.Pool, readonly prefix: string) {}

  init(options: Options): void {
    this.#windowMs = options.windowMs;
    // The limit is express-rate-limit's to apply: this only counts (points never run out).
    this.#limiter = new RateLimiterPostgres({
      storeClient: this.pool, storeType: 'pool', tableName: TABLE, tableCreated: true, keyPrefix: this.prefix,
      points: 2 ** 30, duration: Math.max(1, Math.ceil(options.windowMs / 1000)),
    });
  }

  #l(): RateLimiterPostgres {
    if (!this.#limiter) throw new Error('rate limit store used before init');
    return this.#limiter;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const r = await this.#l().get(key);
    return r ? { totalHits: r.consumedPoints, resetTime: new Date(Date.now() + r.msBeforeNext) } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const r = await this.#l().consume(key, 1);
    return { totalHits: r.consumedPoints, resetTime: new Date(Date.now() + (r.msBeforeNext > 0 ? r.msBeforeNext : this.#windowMs)) };
  }

  async decrement(key: string): Promise<void> {
    await this.#l().reward(key, 1);
  }

  async resetKey(key: string): Promise<void> {
    await this.#l().delete(key);
  }
}
