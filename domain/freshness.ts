// How old a value may be and still be shown as now: the one definition the edge (the safety
// envelope, the site sidebar) and the cloud (the fleet API, the COMMUNICATION_LOST rule, the
// dashboard) share. A value is expected once per period (the edge's control cycle, the cloud's
// telemetry interval); missing STALE_PERIODS of them makes it stale (shown, marked as old), missing
// LOST_PERIODS makes the link lost (the cloud raises COMMUNICATION_LOST). The cloud adds the
// transport's slack (edge -> broker -> cloud) so a late record does not flap a healthy site.

export type Freshness = 'fresh' | 'stale' | 'lost';

/** Periods missed before a value is stale: the safety envelope's default staleCycles too. */
export const STALE_PERIODS = 3;
/** Periods missed before the link counts as lost. */
export const LOST_PERIODS = 10;
/** Allowance for the path from the edge through the broker to the cloud, ms. */
export const TRANSPORT_SLACK_MS = 2000;
/** The edge's telemetry interval in the shipped flow (telemetry-out, 1 Hz). */
export const DEFAULT_TELEMETRY_MS = 1000;

export interface FreshnessLimits {
  /** Age from which a value is stale, ms. */
  staleAfterMs: number;
  /** Age from which the link is lost, ms (>= staleAfterMs). */
  lostAfterMs: number;
}

/** The edge's limits, in control cycles of `cycleMs`. */
export function edgeLimits(cycleMs: number, staleCycles = STALE_PERIODS): FreshnessLimits {
  return { staleAfterMs: staleCycles * cycleMs, lostAfterMs: Math.max(staleCycles, LOST_PERIODS) * cycleMs };
}

/** The cloud's limits for telemetry sent every `telemetryMs`: 5 s stale, 12 s lost at 1 Hz. */
export function cloudLimits(telemetryMs = DEFAULT_TELEMETRY_MS): FreshnessLimits {
  return { staleAfterMs: STALE_PERIODS * telemetryMs + TRANSPORT_SLACK_MS, lostAfterMs: LOST_PERIODS * telemetryMs + TRANSPORT_SLACK_MS };
}

/** Limits given in seconds (a setting), checked: stale first, lost no earlier. */
export function limitsFromSeconds(staleS: number, lostS: number): FreshnessLimits {
  if (!(staleS > 0) || !(lostS >= staleS)) throw new Error(`freshness limits: need 0 < stale (${staleS} s) <= lost (${lostS} s)`);
  return { staleAfterMs: staleS * 1000, lostAfterMs: lostS * 1000 };
}

/**
 * How fresh a value of time `ts` is at `now`. Never seen (null) is lost: nothing can be shown as
 * current. A value from the future (clock skew) counts as fresh, not as an error.
 */
export function freshness(ts: number | null, now: number, limits: FreshnessLimits): Freshness {
  if (ts === null || !Number.isFinite(ts)) return 'lost';
  const age = now - ts;
  if (age >= limits.lostAfterMs) return 'lost';
  if (age >= limits.staleAfterMs) return 'stale';
  return 'fresh';
}
