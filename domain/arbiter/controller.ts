// The arbiter's state between decisions: the request book, the restart gate and the previous
// decision (for the ramp). The arbiter node feeds it; the property tests drive it the same way.
import type { Decision, Envelope, RestartNotice } from '../contracts';
import { arbitrate, type ArbiterConfig } from './arbitrate';
import { RequestBook } from './request-book';
import { GATE_AT_START, gateOnEnvelope, gateOnNotice, type RestartGate } from './restart';

/** Requests that expired longer ago than this are forgotten rather than reported again. */
export const FORGET_AFTER_MS = 60_000;

export class ArbiterState {
  private readonly book = new RequestBook();
  private gateState: RestartGate = GATE_AT_START;
  private previous: Decision | null = null;

  constructor(private readonly config: ArbiterConfig) {}

  /** Store a request; false when the book is full of other sources. */
  request(raw: unknown): boolean {
    return this.book.put(raw);
  }

  notice(n: RestartNotice, now: number): void {
    this.gateState = gateOnNotice(this.gateState, n, now);
  }

  /** One decision for this envelope; the gate sees the envelope first, so a return to operation holds at once. */
  decide(envelope: Envelope, now: number): Decision {
    this.gateState = gateOnEnvelope(this.gateState, envelope, now);
    const decision = arbitrate(this.book.take(now - FORGET_AFTER_MS), envelope, this.previous, now, this.config, { gate: this.gateState });
    this.previous = decision;
    return decision;
  }

  get gate(): RestartGate {
    return this.gateState;
  }
}
