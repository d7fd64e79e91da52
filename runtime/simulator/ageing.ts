// Cell ageing for the simulator, driven by the measured capacity fade of an LFP cell: the A123
// APR18650M1A cell b2c30 of Severson et al., Nature Energy 2019 (data/severson2019_b2c30_health_fig04.csv,
// `q` = discharge capacity in % of nominal per cycle). One equivalent full cycle (EFC, throughput /
// 2 x rated Ah) of the simulated pack ages its cells as one cycle of that cell: capacity follows the
// measured curve, interpolated between cycles, relative to the mean of cycles 1..10 (the same
// reference as the ONNX ageing model of runtime/ml/ageing-model.ts, so SoH(0) ~ 100 %).
//
// That cell was fast-charged to its knee in about 500 cycles: a harsh duty that makes a simulated
// year show a clear fade. Beyond the last measured cycle the last 20 cycles' slope continues (the
// knee's slope), floored at 50 %.
//
// Resistance growth: the CSV holds capacity only. R0 and R1 grow with the lost capacity fraction,
// R = R_new (1 + RESISTANCE_PER_FADE (1 - Q/Q_new)); 0.75 gives the ~15 % DC-resistance rise at
// 80 % capacity usual for LFP/graphite cells (an assumption tied to the measured fade, not data).
import type { AgeingPoint } from '../../domain/lfp/ageing-data';
import { readAgeingData } from '../../io/data/real-data';

export const RESISTANCE_PER_FADE = 0.75;
const MIN_FACTOR = 0.5;
const TAIL_CYCLES = 20;

export class AgeingCurve {
  private readonly cycles: Float64Array;
  private readonly factors: Float64Array;
  private readonly tailSlope: number;

  /** From measured (cycles, q %) points; the reference is the mean of cycles 1..10. */
  constructor(points: readonly AgeingPoint[]) {
    const sorted = points.filter((p) => Number.isFinite(p.cycle) && Number.isFinite(p.capacityPct)).sort((a, b) => a.cycle - b.cycle);
    if (sorted.length < TAIL_CYCLES + 1) throw new RangeError(`an ageing curve needs at least ${TAIL_CYCLES + 1} points, got ${sorted.length}`);
    const early = sorted.filter((p) => p.cycle <= 10);
    const ref = (early.length ? early : sorted.slice(0, 1)).reduce((s, p) => s + p.capacityPct, 0) / Math.max(early.length, 1);
    // Before the first measured cycle the cell is new: factor 1 at cycle 0.
    this.cycles = Float64Array.from([0, ...sorted.map((p) => p.cycle)]);
    this.factors = Float64Array.from([1, ...sorted.map((p) => Math.min(1, p.capacityPct / ref))]);
    const n = this.cycles.length;
    const dc = this.cycles[n - 1]! - this.cycles[n - 1 - TAIL_CYCLES]!;
    this.tailSlope = Math.min(0, (this.factors[n - 1]! - this.factors[n - 1 - TAIL_CYCLES]!) / dc);
  }

  /** The last measured cycle. */
  get maxCycles(): number {
    return this.cycles[this.cycles.length - 1] ?? 0;
  }

  /** Capacity relative to new (0.5..1) after `efc` equivalent full cycles. */
  capacityFactor(efc: number): number {
    const xs = this.cycles;
    const ys = this.factors;
    const n = xs.length;
    if (!(efc > 0)) return 1;
    if (efc >= xs[n - 1]!) return Math.max(MIN_FACTOR, ys[n - 1]! + this.tailSlope * (efc - xs[n - 1]!));
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (xs[mid]! <= efc) lo = mid;
      else hi = mid;
    }
    return ys[lo]! + ((ys[hi]! - ys[lo]!) * (efc - xs[lo]!)) / (xs[hi]! - xs[lo]!);
  }

  /** Resistance relative to new after `efc` cycles (see RESISTANCE_PER_FADE). */
  resistanceFactor(efc: number): number {
    return 1 + RESISTANCE_PER_FADE * (1 - this.capacityFactor(efc));
  }
}

let measured: AgeingCurve | undefined;

/** The curve of the measured cell (read once per process). */
export function measuredAgeingCurve(): AgeingCurve {
  measured ??= new AgeingCurve(readAgeingData());
  return measured;
}
