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
// exists), so the brake reveals nothing. Kept in memory per process and bounded: the oldest
// entries go first when `maxAccounts` is reached.

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
  retryAfterMs(account: string): number {
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
  begin(account: string): AttemptOrWait {
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
  failures(account: string): number {
    return this.#accounts.get(keyOf(account))?.failures ?? 0;
  }
}

function keyOf(account: string): string {
  return account.trim().toLowerCase().slice(0, 320);
}
