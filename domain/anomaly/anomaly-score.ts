// The cycle a sample belongs to: one site-local day, the span the anomaly-score node scores.


const DAY_MS = 86_400_000;

/** Index of the site-local day holding `ts` (offsetMs = local time minus UTC). */
export function cycleIndex(ts: number, offsetMs: number): number {
  return Math.floor((ts + offsetMs) / DAY_MS);
}

/** [start, end) of cycle `index`, ms UTC. */
export function cycleBounds(index: number, offsetMs: number): [number, number] {
  return [index * DAY_MS - offsetMs, (index + 1) * DAY_MS - offsetMs];
}
