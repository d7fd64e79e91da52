// Coalesces the acks telemetry-in owes each site: at most one TelemetryAck per site per interval,
// naming every range committed since the last one. A site that was not acked within the interval
// is acked at once (a 1 Hz site sees no added latency); committed ranges that arrive sooner wait
// until the interval since its last ack has passed and go out merged (a draining backlog gets one
// ack a second instead of one per store write). A held ack counts as sent when it was due, not when
// the timer got to it: a site committing exactly once per interval would otherwise drift a little
// later with every ack. The interval must stay well inside the edge's ack timeout, or the edge would
// resend what is already stored.
import type { SeqRange } from '../../io/timeseries/store';

interface SiteAcks {
  /** Sorted, disjoint, non-adjacent inclusive ranges owed to the site. */
  owed: SeqRange[];
  /** When the site was last acked (or its held ack was due), ms. */
  lastAt: number;
}

export interface DueAck {
  siteId: string;
  ranges: SeqRange[];
}

/** Merges `add` into the sorted, disjoint ranges `into` (adjacent ranges join). */
export function mergeRanges(into: readonly SeqRange[], add: readonly SeqRange[]): SeqRange[] {
  const all = [...into, ...add].sort((a, b) => a[0] - b[0]);
  const out: SeqRange[] = [];
  for (const [from, to] of all) {
    const last = out.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

export class AckCoalescer {
  private readonly sites = new Map<string, SiteAcks>();
  /** Sites with ranges owed. */
  private readonly waiting = new Set<string>();

  constructor(private readonly intervalMs: number) {}

  /** Ranges of `siteId` were committed: returns the ack to send now, or null when it waits. */
  committed(siteId: string, ranges: readonly SeqRange[], now: number): DueAck | null {
    let site = this.sites.get(siteId);
    if (!site) this.sites.set(siteId, (site = { owed: [], lastAt: -Infinity }));
    site.owed = mergeRanges(site.owed, ranges);
    if (now - site.lastAt >= this.intervalMs) return this.take(siteId, site, now);
    this.waiting.add(siteId);
    return null;
  }

  /** The acks whose interval has passed (call this a few times per interval). */
  due(now: number): DueAck[] {
    const out: DueAck[] = [];
    for (const siteId of this.waiting) {
      const site = this.sites.get(siteId)!;
      const dueAt = site.lastAt + this.intervalMs;
      // Counted from when it was due, unless it was due a whole interval ago (no burst of acks then).
      if (now >= dueAt) out.push(this.take(siteId, site, now - dueAt < this.intervalMs ? dueAt : now));
    }
    return out;
  }

  /** Every ack still owed, whatever the interval (on close). */
  drain(now: number): DueAck[] {
    return [...this.waiting].map((siteId) => this.take(siteId, this.sites.get(siteId)!, now));
  }

  /** Sites with an ack waiting. */
  get waitingSites(): number {
    return this.waiting.size;
  }

  private take(siteId: string, site: SiteAcks, at: number): DueAck {
    const ranges = site.owed;
    site.owed = [];
    site.lastAt = at;
    this.waiting.delete(siteId);
    return { siteId, ranges };
  }
}
