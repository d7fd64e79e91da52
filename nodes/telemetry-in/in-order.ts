// Puts each site's records back in seq order before they are stored. The edge sends in order, but
// a broker that restarts without persistence loses what it held, and the edge sends that range
// again only after its ack timeout, behind newer records. The gate holds records that arrive after
// a gap until the gap is filled (the resend) or until maxWaitMs has passed, then lets them go in
// order; a gap that is never filled (records the edge dropped from a full buffer) is skipped then.
// Records older than the stream (a backlog the edge resends after this node started, or records the
// store refused) pass at once: holding them could not restore an order that has already gone by.
import type { TelemetryRecord } from '../../domain/contracts';

interface SiteGate {
  /** The seq the stream waits for; null until the site's first record. */
  next: number | null;
  held: Map<number, TelemetryRecord>;
  /** When the oldest gap began to be waited for. */
  since: number | null;
}

export interface InOrderGateOptions {
  /** How long records wait behind a gap, ms. */
  maxWaitMs: number;
  /** Most records held per site; beyond, the gap is skipped. */
  maxHeld: number;
}

export class InOrderGate {
  private readonly sites = new Map<string, SiteGate>();
  constructor(private readonly opts: InOrderGateOptions) {}

  /** The records (of one site) that may be stored now, in seq order; the rest wait. */
  offer(siteId: string, records: readonly TelemetryRecord[], now: number): TelemetryRecord[] {
    if (!records.length) return [];
    let site = this.sites.get(siteId);
    if (!site) this.sites.set(siteId, (site = { next: null, held: new Map(), since: null }));
    const sorted = [...records].sort((a, b) => a.seq - b.seq);
    site.next ??= sorted[0]!.seq;
    const out: TelemetryRecord[] = [];
    for (const r of sorted) {
      if (r.seq < site.next) out.push(r);
      else site.held.set(r.seq, r);
    }
    this.drain(site, out);
    if (site.held.size > this.opts.maxHeld) this.skipGap(site, out);
    site.since = site.held.size ? (site.since ?? now) : null;
    return out;
  }

  /** Per site, the records released because their gap waited maxWaitMs: store them. */
  expire(now: number): { siteId: string; records: TelemetryRecord[] }[] {
    const released: { siteId: string; records: TelemetryRecord[] }[] = [];
    for (const [siteId, site] of this.sites) {
      if (site.since === null || now - site.since < this.opts.maxWaitMs) continue;
      const out: TelemetryRecord[] = [];
      this.skipGap(site, out);
      site.since = site.held.size ? now : null;
      released.push({ siteId, records: out });
    }
    return released;
  }

  /** Records waiting behind gaps, over all sites. */
  get held(): number {
    let n = 0;
    for (const s of this.sites.values()) n += s.held.size;
    return n;
  }

  private drain(site: SiteGate, out: TelemetryRecord[]): void {
    for (let r = site.held.get(site.next!); r; r = site.held.get(site.next!)) {
      out.push(r);
      site.held.delete(site.next!);
      site.next! += 1;
    }
  }

  /** Gives up on the oldest gap: the stream goes on from the lowest record held. */
  private skipGap(site: SiteGate, out: TelemetryRecord[]): void {
    if (!site.held.size) return;
    site.next = Math.min(...site.held.keys());
    this.drain(site, out);
  }
}
