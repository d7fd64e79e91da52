// The per-account brake on guessing passwords and TOTP codes, one for the API's login and the
// editor's sign-in alike, keyed on the account name as typed (lower-cased), never on the client's
// address: an attacker with many addresses gets no more tries than one with one.
//
// A growing delay, not a lockout: the first `freeFailures` failures cost nothing; from then on each
// failure closes the account to attempts for `baseDelayMs`, doubling per further failure up to
// `maxDelayMs` (5 s, 10 s, ... 60 s by default). So an attacker gets about one guess a minute per
// account from any number of addresses, and the real user waits at most a minute for the next try,
// however long the attack runs. An attempt refused during the delay is not judged and does not
// lengthen it. A success clears the account; failures are forgotten after `forgetAfterMs` without
// a new one. Attempts being judged count as failures until they are, so parallel guesses cannot
// slip through while the first ones are still hashing.
//
// Unknown accounts are braked exactly like known ones (the key is the name, whether or not it
// exists), so the brake reveals nothing. A single process keeps it in memory, bounded: the oldest
// entries go first when `maxAccounts` is reached. Cloud processes that share a PostgreSQL share
// the brake too (SharedAccounts below, on rate-limiter-flexible's RateLimiterPostgres): an
// attacker gets no more tries by spreading them over the processes behind a load balancer.
import { RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type pg from 'pg';
import { createLimiterTable } from '../cloud-db/rate-limit-store';

export interface ThrottleLimits {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetAfterMs: number;
  maxAccounts: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  freeFailures: 5, baseDelayMs: 5_000, maxDelayMs: 60_000, forgetAfterMs: 15 * 60_000, maxAccounts: 50_000,
};

interface Account {
  failures: number;
  judging: number;
  blockedUntil: number;
  lastFailure: number;
}

/** An attempt that may go ahead: settle it once, true (success), false (failure) or undefined (not judged, e.g. the server was busy). */
export interface Attempt {
  settle(ok: boolean | undefined): void;
}

export type AttemptOrWait = { attempt: Attempt; retryAfterMs?: undefined } | { attempt?: undefined; retryAfterMs: number };

export class LoginThrottle {
  readonly #accounts = new Map<string, Account>();
  readonly #limits: ThrottleLimits;

  constructor(
    limits: Partial<ThrottleLimits> = {},
    private readonly now: () => number = Date.now,
    /** Where the accounts are kept when several processes share them (default: this process's memory). */
    private readonly shared: SharedAccounts | null = null,
  ) {
    this.#limits = { ...DEFAULT_THROTTLE_LIMITS, ...limits };
  }

  /** The delay after `failures` failures in a row. */
  delayAfter(failures: number): number {
    const { freeFailures, baseDelayMs, maxDelayMs } = this.#limits;
    if (failures < freeFailures) return 0;
    return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(30, failures - freeFailures));
  }

  /** How long an attempt on `account` must wait now (0 = it may go ahead); changes nothing. */
  async retryAfterMs(account: string): Promise<number> {
    if (this.shared) return (await this.shared.wait(keyOf(account), this.#limits, (n) => this.delayAfter(n))).waitMs;
    const a = this.#current(keyOf(account), this.now());
    return a ? this.#wait(a, this.now()) : 0;
  }

  /** The account's entry, unless its failures are old enough to forget. */
  #current(key: string, now: number): Account | undefined {
    const a = this.#accounts.get(key);
    if (a && a.judging === 0 && now - a.lastFailure >= this.#limits.forgetAfterMs) {
      this.#accounts.delete(key);
      return undefined;
    }
    return a;
  }

  #wait(a: Account, now: number): number {
    if (now < a.blockedUntil) return a.blockedUntil - now;
    // Attempts still being judged count as failures: beyond the free ones, one at a time.
    if (a.judging > 0 && this.delayAfter(a.failures + a.judging) > 0) return this.#limits.baseDelayMs;
    return 0;
  }

  /** Asks to judge one attempt on `account`: an Attempt to settle, or how long to wait first. */
  async begin(account: string): Promise<AttemptOrWait> {
    if (this.shared) return this.shared.begin(keyOf(account), this.#limits, (n) => this.delayAfter(n));
    const key = keyOf(account);
    const now = this.now();
    let a = this.#current(key, now);
    const wait = a ? this.#wait(a, now) : 0;
    if (wait > 0) return { retryAfterMs: wait };
    if (!a) {
      a = { failures: 0, judging: 0, blockedUntil: 0, lastFailure: now };
      this.#remember(key, a);
    }
    const account_ = a;
    account_.judging++;
    let settled = false;
    return {
      attempt: {
        settle: (ok: boolean | undefined) => {
          if (settled) return;
          settled = true;
          account_.judging--;
          if (ok === undefined) return;
          if (ok) {
            this.#accounts.delete(key);
            return;
          }
          const t = this.now();
          account_.failures++;
          account_.lastFailure = t;
          account_.blockedUntil = t + this.delayAfter(account_.failures);
          // Deleted meanwhile (evicted, or cleared by a success): counted again.
          if (!this.#accounts.has(key) && account_.judging === 0) this.#remember(key, account_);
        },
      },
    };
  }

  #remember(key: string, a: Account): void {
    if (this.#accounts.size >= this.#limits.maxAccounts) {
      const oldest = this.#accounts.keys().next();
      if (!oldest.done) this.#accounts.delete(oldest.value);
    }
    this.#accounts.set(key, a);
  }

  /** Failures in a row recorded for an account (for tests and the audit). */
  async failures(account: string): Promise<number> {
    if (this.shared) return this.shared.failures(keyOf(account));
    return this.#accounts.get(keyOf(account))?.failures ?? 0;
  }
}

/**
 * The brake's accounts in a database every cloud process reaches, as three counters per account
 * in rate-limiter-flexible's table: failures in a row (forgotten `forgetAfterMs` after the last
 * one), the end of the current delay, and attempts being judged (forgotten after a minute, should
 * a process die while judging). Each counter moves with one atomic upsert, so parallel attempts
 * through different processes are counted like parallel attempts through one.
 */
export class SharedAccounts {
  readonly #failures: RateLimiterAbstract;
  readonly #blocked: RateLimiterAbstract;
  readonly #judging: RateLimiterAbstract;

  private constructor(make: (keyPrefix: string) => RateLimiterAbstract) {
    this.#failures = make('login-failures');
    this.#blocked = make('login-blocked');
    this.#judging = make('login-judging');
  }

  /** On a PostgreSQL pool; resolves once the limiter's table exists. */
  static async postgres(pool: pg.Pool): Promise<SharedAccounts> {
    await createLimiterTable(pool, 'login_brake');
    // One table for the three counters (keys carry their prefix); points: never a refusal of
    // rate-limiter-flexible's own, the brake decides from the counts.
    return new SharedAccounts((keyPrefix) => new RateLimiterPostgres({
      storeClient: pool, storeType: 'pool', tableName: 'login_brake', tableCreated: true, keyPrefix, points: 2 ** 30, duration: JUDGING_FORGET_S,
    }));
  }

  async failures(key: string): Promise<number> {
    return (await this.#failures.get(key))?.consumedPoints ?? 0;
  }

  async wait(key: string, limits: ThrottleLimits, delayAfter: (failures: number) => number): Promise<{ waitMs: number; failures: number; judging: number }> {
    const [f, b, j] = await Promise.all([this.#failures.get(key), this.#blocked.get(key), this.#judging.get(key)]);
    const failures = f?.consumedPoints ?? 0;
    const judging = Math.max(0, j?.consumedPoints ?? 0);
    const blockedMs = b && b.consumedPoints > 0 ? b.msBeforeNext : 0;
    if (blockedMs > 0) return { waitMs: blockedMs, failures, judging };
    if (judging > 0 && delayAfter(failures + judging) > 0) return { waitMs: limits.baseDelayMs, failures, judging };
    return { waitMs: 0, failures, judging };
  }

  async begin(key: string, limits: ThrottleLimits, delayAfter: (failures: number) => number): Promise<AttemptOrWait> {
    const w = await this.wait(key, limits, delayAfter);
    if (w.waitMs > 0) return { retryAfterMs: w.waitMs };
    // Counted before judged; the count the upsert returns includes parallel attempts of other
    // processes that got here first, and beyond the free failures only one of them goes ahead.
    const judging = (await this.#judging.penalty(key, 1)).consumedPoints;
    if (judging > 1 && delayAfter(w.failures + judging - 1) > 0) {
      await this.#judging.reward(key, 1);
      return { retryAfterMs: limits.baseDelayMs };
    }
    let settled = false;
    return {
      attempt: {
        settle: (ok: boolean | undefined) => {
          if (settled) return;
          settled = true;
          void this.#settle(key, ok, limits, delayAfter).catch((err: unknown) => {
            console.error(`login brake: settling an attempt: ${err instanceof Error ? err.message : String(err)}`);
          });
        },
      },
    };
  }

  async #settle(key: string, ok: boolean | undefined, limits: ThrottleLimits, delayAfter: (failures: number) => number): Promise<void> {
    await this.#judging.reward(key, 1);
    if (ok === undefined) return;
    if (ok) {
      await Promise.all([this.#failures.delete(key), this.#blocked.delete(key)]);
      return;
    }
    const failures = (await this.#failures.penalty(key, 1)).consumedPoints;
    // Forgotten forgetAfterMs after the LAST failure: the window restarts with each one.
    await this.#failures.set(key, failures, seconds(limits.forgetAfterMs));
    const delay = delayAfter(failures);
    if (delay > 0) await this.#blocked.set(key, 1, seconds(delay));
  }
}

/** Attempts being judged are forgotten after this long (a process died while judging one), s. */
const JUDGING_FORGET_S = 60;

/** ms as the seconds rate-limiter-flexible takes, whole milliseconds once it multiplies them back. */
function seconds(ms: number): number {
  const s = Math.round(ms) / 1000;
  return s * 1000 === Math.round(ms) ? s : Math.ceil(ms / 1000);
}

function keyOf(account: string): string {
  return account.trim().toLowerCase().slice(0, 320);
}
