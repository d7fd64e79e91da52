// The ingest's memory of what it has seen of each site's stream, for deduplication by seq.
// A record is new, in flight (handed to the store, not yet committed: a resend is dropped, the ack
// follows the commit), or stored (committed: a resend is answered with an ack at once, because the
// edge resends exactly when an ack was lost). Stored seqs are kept as merged ranges, which stay few
// because a site's seqs are contiguous; the oldest ranges are forgotten beyond a bound, and the
// store's idempotent write is the final guard for whatever the window no longer remembers.
import type { SeqRange } from '../../io/timeseries/store';

export type SeqVerdict = 'new' | 'in-flight' | 'stored';

export interface SeqWindowOptions {
  /** An in-flight record the store neither committed nor refused by then is taken again, ms. */
  inFlightTtlMs: number;
  /** Stored ranges kept per site (the oldest are forgotten first). */
  maxRanges: number;
  /** In-flight seqs kept per site; beyond it, records are passed on as new (the store dedups). */
  maxInFlight: number;
}

class SiteWindow {
  /** Sorted, disjoint, non-adjacent inclusive ranges. */
  ranges: SeqRange[] = [];
  inFlight = new Map<number, number>();

  isStored(seq: number): boolean {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [from, to] = this.ranges[mid]!;
      if (seq < from) hi = mid - 1;
      else if (seq > to) lo = mid + 1;
      else return true;
    }
    return false;
  }

  addStored(range: SeqRange, maxRanges: number): void {
    const merged: SeqRange[] = [];
    let [from, to] = range;
    let placed = false;
    for (const r of this.ranges) {
      if (r[1] + 1 < from) merged.push(r);
      else if (to + 1 < r[0]) {
        if (!placed) merged.push([from, to]);
        placed = true;
        merged.push(r);
      } else {
        from = Math.min(from, r[0]);
        to = Math.max(to, r[1]);
      }
    }
    if (!placed) merged.push([from, to]);
    this.ranges = merged.length > maxRanges ? merged.slice(merged.length - maxRanges) : merged;
  }
}

/** Deletes the seqs of `range` from `inFlight`, walking whichever of the two is smaller. */
function forget(inFlight: Map<number, number>, [from, to]: SeqRange): void {
  if (inFlight.size === 0) return;
  if (to - from < inFlight.size) for (let s = from; s <= to; s++) inFlight.delete(s);
  else for (const s of inFlight.keys()) if (s >= from && s <= to) inFlight.delete(s);
}

export class SeqWindow {
  private readonly sites = new Map<string, SiteWindow>();

  constructor(private readonly opts: SeqWindowOptions) {}

  private site(siteId: string): SiteWindow {
    let w = this.sites.get(siteId);
    if (!w) {
      w = new SiteWindow();
      this.sites.set(siteId, w);
    }
    return w;
  }

  /** Classifies a received record and marks a new one in flight. */
  admit(siteId: string, seq: number, now: number): SeqVerdict {
    const w = this.site(siteId);
    if (w.isStored(seq)) return 'stored';
    const until = w.inFlight.get(seq);
    if (until !== undefined && until > now) return 'in-flight';
    if (w.inFlight.size >= this.opts.maxInFlight) {
      for (const [s, u] of w.inFlight) if (u <= now) w.inFlight.delete(s);
    }
    if (w.inFlight.size < this.opts.maxInFlight) w.inFlight.set(seq, now + this.opts.inFlightTtlMs);
    return 'new';
  }

  /** The store committed these seqs. */
  stored(siteId: string, ranges: readonly SeqRange[]): void {
    const w = this.site(siteId);
    for (const r of ranges) {
      w.addStored(r, this.opts.maxRanges);
      forget(w.inFlight, r);
    }
  }

  /** The store refused these seqs: take them again when the edge resends them. */
  refused(siteId: string, ranges: readonly SeqRange[]): void {
    const w = this.sites.get(siteId);
    if (!w) return;
    for (const r of ranges) forget(w.inFlight, r);
  }

  /** For status and tests. */
  sizes(): { sites: number; ranges: number; inFlight: number } {
    let ranges = 0;
    let inFlight = 0;
    for (const w of this.sites.values()) {
      ranges += w.ranges.length;
      inFlight += w.inFlight.size;
    }
    return { sites: this.sites.size, ranges, inFlight };
  }
}
