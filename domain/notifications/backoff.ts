// Retry delays of the notification queue: doubling from a base, capped, with no randomness (one
// cloud process sends; there is no herd to spread).
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** The delay before attempt `attempts + 1`, after `attempts` failures (>= 1). */
export function retryDelayMs(attempts: number, b: Backoff): number {
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, Math.min(30, attempts - 1)));
}
