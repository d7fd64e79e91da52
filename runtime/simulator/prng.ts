// A small seeded PRNG so that every simulator run with the same seed builds the same cells.
// mulberry32 (Tommy Ettinger, public domain): 32-bit state, good enough for manufacturing spread.

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Normally distributed (Box-Muller), clipped to +-3 sigma as a production test would reject outliers. */
  normal(mean: number, sigma: number): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return mean + sigma * Math.max(-3, Math.min(3, z));
  }
}
