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
  await new Promise<void>((resolve, reject) => {
    // Made once here (concurrent creation by two processes is tolerated by rate-limiter-flexible).
    void new RateLimiterPostgres({ storeClient: pool, storeType: 'pool', tableName: TABLE, keyPrefix: 'init', points: 1, duration: 1, clearExpiredByTimeout: false }, (err) =>
      err ? reject(err as Error) : resolve());
  });
  return (prefix) => new PostgresRateStore(pool, prefix);
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
