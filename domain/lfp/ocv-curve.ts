// Open-circuit voltage of an LFP cell as a function of state of charge, from measured points.
// Pure: the caller reads the file (io/data/real-data.ts) and hands the points in.
//
// Why the curve is forced monotonic: a measured OCV curve (here a C/32 pseudo-OCV of the
// LithiumWerks APR18650M1B) carries sensor noise of a millivolt or so, and on the LFP plateau
// (about 3.28-3.34 V over 30-90 % SoC, i.e. a few mV per 10 %) that noise is as large as the signal.
// A dip would make socAt() ambiguous and give the cell model a negative differential capacity,
// which no real cell has (dOCV/dSoC >= 0). We use the least-squares non-decreasing fit (pool
// adjacent violators) instead of a cumulative maximum, because the cumulative maximum biases the
// plateau upwards by the largest noise spike, while the pooled fit stays centred on the data.

export interface OcvPoint {
  /** State of charge, 0..1. */
  soc: number;
  /** Open-circuit voltage, V. */
  ocv: number;
}

export class OcvCurveError extends Error {
  override name = 'OcvCurveError';
}

/** Least-squares non-decreasing fit of ys (pool adjacent violators, equal weights). */
export function isotonic(ys: readonly number[]): number[] {
  const means: number[] = [];
  const counts: number[] = [];
  for (const y of ys) {
    means.push(y);
    counts.push(1);
    // Merge blocks backwards while they violate the order.
    while (means.length > 1 && (means[means.length - 2] ?? 0) > (means[means.length - 1] ?? 0)) {
      const m2 = means.pop() ?? 0;
      const c2 = counts.pop() ?? 0;
      const m1 = means.pop() ?? 0;
      const c1 = counts.pop() ?? 0;
      means.push((m1 * c1 + m2 * c2) / (c1 + c2));
      counts.push(c1 + c2);
    }
  }
  const out: number[] = [];
  means.forEach((m, i) => {
    for (let k = 0; k < (counts[i] ?? 0); k++) out.push(m);
  });
  return out;
}

export class OcvCurve {
  private readonly socs: Float64Array;
  private readonly ocvs: Float64Array;

  /** Build from measured points in any order; duplicates in soc are averaged. At least 2 points. */
  constructor(points: readonly OcvPoint[]) {
    const clean = points.filter((p) => Number.isFinite(p.soc) && Number.isFinite(p.ocv));
    if (clean.length < 2) throw new OcvCurveError(`an OCV curve needs at least 2 finite points, got ${clean.length}`);
    const sorted = [...clean].sort((a, b) => a.soc - b.soc);
    const socs: number[] = [];
    const sums: number[] = [];
    const counts: number[] = [];
    for (const p of sorted) {
      const last = socs.length - 1;
      if (last >= 0 && p.soc === socs[last]) {
        sums[last] = (sums[last] ?? 0) + p.ocv;
        counts[last] = (counts[last] ?? 0) + 1;
      } else {
        socs.push(p.soc);
        sums.push(p.ocv);
        counts.push(1);
      }
    }
    if (socs.length < 2) throw new OcvCurveError('an OCV curve needs at least 2 distinct soc values');
    const fitted = isotonic(sums.map((s, i) => s / (counts[i] ?? 1)));
    this.socs = Float64Array.from(socs);
    this.ocvs = Float64Array.from(fitted);
  }

  get minSoc(): number {
    return this.socs[0] ?? 0;
  }
  get maxSoc(): number {
    return this.socs[this.socs.length - 1] ?? 1;
  }
  get minOcv(): number {
    return this.ocvs[0] ?? 0;
  }
  get maxOcv(): number {
    return this.ocvs[this.ocvs.length - 1] ?? 0;
  }

  /** The (monotonic) points the curve interpolates. */
  points(): OcvPoint[] {
    return Array.from(this.socs, (soc, i) => ({ soc, ocv: this.ocvs[i] ?? 0 }));
  }

  /** OCV in V at soc (0..1) by linear interpolation; outside the measured range the end value holds. */
  ocv(soc: number): number {
    const xs = this.socs;
    const ys = this.ocvs;
    const n = xs.length;
    if (!(soc > (xs[0] ?? 0))) return ys[0] ?? 0;
    if (soc >= (xs[n - 1] ?? 1)) return ys[n - 1] ?? 0;
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((xs[mid] ?? 0) <= soc) lo = mid;
      else hi = mid;
    }
    const x0 = xs[lo] ?? 0;
    const x1 = xs[hi] ?? 1;
    const y0 = ys[lo] ?? 0;
    const y1 = ys[hi] ?? 0;
    return y0 + ((y1 - y0) * (soc - x0)) / (x1 - x0);
  }

  /**
   * The soc (0..1) at which the curve reaches `ocv`; clamped to the curve's ends. Where the fitted
   * curve is flat, the lowest soc of the flat part is returned.
   */
  socAt(ocv: number): number {
    const xs = this.socs;
    const ys = this.ocvs;
    const n = ys.length;
    if (!(ocv > (ys[0] ?? 0))) return xs[0] ?? 0;
    if (ocv >= (ys[n - 1] ?? 0)) {
      // First index reaching the top value.
      let i = n - 1;
      while (i > 0 && (ys[i - 1] ?? 0) >= ocv) i--;
      return xs[i] ?? 1;
    }
    let lo = 0;
    let hi = n - 1;
    // Invariant: ys[lo] < ocv <= ys[hi].
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((ys[mid] ?? 0) < ocv) lo = mid;
      else hi = mid;
    }
    const y0 = ys[lo] ?? 0;
    const y1 = ys[hi] ?? 0;
    const x0 = xs[lo] ?? 0;
    const x1 = xs[hi] ?? 1;
    return x0 + ((x1 - x0) * (ocv - y0)) / (y1 - y0);
  }
}
