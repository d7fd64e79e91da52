// The arbiter's memory of requests: the latest one per (level, source), so a strategy that
// re-plans replaces its own request instead of piling up. Requests that arrived malformed are
// kept for one decision, so the decision reports them, then forgotten.
import { RequestSchema, type Request } from '../contracts';

/** Sources beyond this many are refused: a runaway flow must not grow memory without bound. */
export const MAX_SOURCES = 256;

export class RequestBook {
  private readonly byKey = new Map<string, Request>();
  private malformed: unknown[] = [];

  /** Store a request; false when the book is full of other sources. */
  put(raw: unknown): boolean {
    const parsed = RequestSchema.safeParse(raw);
    if (!parsed.success) {
      if (this.malformed.length < MAX_SOURCES) this.malformed.push(raw);
      return true;
    }
    const key = `${parsed.data.level}:${parsed.data.source}`;
    if (!this.byKey.has(key) && this.byKey.size >= MAX_SOURCES) return false;
    this.byKey.set(key, parsed.data);
    return true;
  }

  /** Everything to arbitrate now; forgets requests expired before `forgetBefore` and the malformed ones. */
  take(forgetBefore: number): unknown[] {
    for (const [k, r] of this.byKey) if (r.expiresAt < forgetBefore) this.byKey.delete(k);
    const out: unknown[] = [...this.byKey.values(), ...this.malformed];
    this.malformed = [];
    return out;
  }

  get size(): number {
    return this.byKey.size;
  }
}
