// The broker messages telemetry-in still owes an answer (AMQP manual acks, nodes/mqtt-link/
// amqp-link.ts): a message is settled only once every record it carried is committed, so the
// broker's "delivered" means what the edge's ack means, stored. Records it shares with another
// message (a redelivery while the first is still being stored) settle with that one's commit. A
// message with a refused record, or one waiting longer than the in-flight TTL, goes back to the
// queue: its records are taken again from the redelivery. Pure bookkeeping: the caller settles.
import type { SeqRange } from '../../io/timeseries/store';

export interface Owed<D> {
  delivery: D;
  siteId: string;
  /** Seqs not yet committed. */
  waiting: Set<number>;
  since: number;
}

const inRanges = (seq: number, ranges: readonly SeqRange[]): boolean => ranges.some(([from, to]) => seq >= from && seq <= to);

export class OwedDeliveries<D> {
  private readonly bySite = new Map<string, Set<Owed<D>>>();

  /** `delivery` carried the uncommitted `seqs` of `siteId`; returns true when it is owed (seqs not empty). */
  add(delivery: D, siteId: string, seqs: readonly number[], now: number): boolean {
    if (!seqs.length) return false;
    let site = this.bySite.get(siteId);
    if (!site) this.bySite.set(siteId, (site = new Set()));
    site.add({ delivery, siteId, waiting: new Set(seqs), since: now });
    return true;
  }

  /** Ranges of `siteId` are committed: the deliveries now fully stored, to settle. */
  stored(siteId: string, ranges: readonly SeqRange[]): D[] {
    const site = this.bySite.get(siteId);
    if (!site) return [];
    const done: D[] = [];
    for (const owed of site) {
      for (const seq of owed.waiting) if (inRanges(seq, ranges)) owed.waiting.delete(seq);
      if (owed.waiting.size === 0) {
        site.delete(owed);
        done.push(owed.delivery);
      }
    }
    if (site.size === 0) this.bySite.delete(siteId);
    return done;
  }

  /** Ranges of `siteId` were refused by the store: the deliveries carrying any of them, to requeue. */
  refused(siteId: string, ranges: readonly SeqRange[]): D[] {
    return this.take(siteId, (owed) => [...owed.waiting].some((seq) => inRanges(seq, ranges)));
  }

  /** Deliveries owed for `ttlMs` or longer, to requeue. */
  expired(now: number, ttlMs: number): D[] {
    const out: D[] = [];
    for (const siteId of [...this.bySite.keys()]) out.push(...this.take(siteId, (owed) => now - owed.since >= ttlMs));
    return out;
  }

  get size(): number {
    let n = 0;
    for (const site of this.bySite.values()) n += site.size;
    return n;
  }

  private take(siteId: string, pick: (owed: Owed<D>) => boolean): D[] {
    const site = this.bySite.get(siteId);
    if (!site) return [];
    const out: D[] = [];
    for (const owed of site) {
      if (!pick(owed)) continue;
      site.delete(owed);
      out.push(owed.delivery);
    }
    if (site.size === 0) this.bySite.delete(siteId);
    return out;
  }
}
