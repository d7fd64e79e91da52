// State of health from BMS telemetry, one sample at a time: the streaming form of
// forecast/capacity-estimate.ts (capacity = charge counted between two rests whose SoC the OCV
// curve pins / the SoC moved) fused with the ageing model's prior in a scalar Kalman filter:
//   predict  SoH follows the ageing model's slope over the equivalent full cycles done since the
//            last sample (the model says how fast a cell of this chemistry fades per cycle), with
//            process noise growing per cycle (the pack need not age exactly like the measured cell);
//   update   every capacity measurement, its variance shrinking with the SoC swing it spans.
// (Plett, Battery Management Systems vol. 2, ch. 4: total-capacity estimation by weighted least
// squares / Kalman filtering of coulomb-count over SoC-difference measurements.)
import { z } from 'zod';
import type { BatteryTelemetry } from '../contracts';
import type { OcvCurve } from '../lfp/ocv-curve';
import { DEFAULT_CAPACITY_OPTIONS, type CapacityEstimateOptions } from '../forecast/capacity-estimate';

export const SohTrackerConfigSchema = z.object({
  /** Rated pack capacity, Ah (SoH 100 %). */
  ratedAh: z.number().positive(),
  /** Cells in series: telemetry's pack voltage / this = mean cell voltage when cellVavg is missing. */
  cellsInSeries: z.number().int().positive(),
  /** Equivalent full cycles before the first sample (used when the BMS reports no cycle count). */
  initialCycles: z.number().nonnegative().default(0),
  /** The prior's standard deviation at the start, SoH points. */
  priorSdPct: z.number().positive().default(3),
  /** Process noise: standard deviation added per 100 equivalent full cycles, SoH points. */
  processSdPer100Cycles: z.number().nonnegative().default(1),
  /** A measurement's standard deviation at a full (0..1) SoC swing, SoH points. */
  measurementSdPct: z.number().positive().default(1.5),
});
export type SohTrackerConfig = z.input<typeof SohTrackerConfigSchema>;

/** SoH % of the ageing model after `cycles` equivalent full cycles. */
export type AgeingPrior = (cycles: number) => number;

export interface CapacityMeasurement {
  ts: number;
  /** Capacity measured between two pinned rests, Ah, and the SoH it means, %. */
  capacityAh: number;
  sohPct: number;
  /** SoC between the two rests, 0..1. */
  swing: number;
}

export interface SohEstimate {
  ts: number;
  sohPct: number;
  /** One standard deviation, SoH points. */
  sdPct: number;
  /** The ageing model alone at the present cycles, %. */
  priorPct: number;
  cycles: number;
  measurements: number;
}

/** The tracker keeps this many recent measurements for display (a year of daily cycles). */
const MAX_KEPT_MEASUREMENTS = 400;

interface Pin {
  soc: number;
  countedAh: number;
}

export class SohTracker {
  private readonly cfg: z.output<typeof SohTrackerConfigSchema>;
  private readonly opts: CapacityEstimateOptions;
  private lastTs: number | null = null;
  private lastCurrent = 0;
  private countedAh = 0;
  private throughputAh = 0;
  private bmsCycles: number | null = null;
  private restStart: number | null = null;
  private restLast: { ts: number; cellV: number; countedAh: number } | null = null;
  private lastPin: Pin | null = null;
  private x: number;
  private p: number;
  private cyclesAtPrior: number;
  private n = 0;
  readonly measurements: CapacityMeasurement[] = [];

  constructor(
    config: SohTrackerConfig,
    private readonly ocv: OcvCurve,
    private readonly prior: AgeingPrior,
    options: Partial<CapacityEstimateOptions> = {},
  ) {
    this.cfg = SohTrackerConfigSchema.parse(config);
    this.opts = { ...DEFAULT_CAPACITY_OPTIONS, ...options };
    this.cyclesAtPrior = this.cfg.initialCycles;
    this.x = prior(this.cyclesAtPrior);
    this.p = this.cfg.priorSdPct ** 2;
  }

  /** Equivalent full cycles now: the BMS's own count when it reports one, else counted here. */
  get cycles(): number {
    return this.bmsCycles ?? this.cfg.initialCycles + this.throughputAh / (2 * this.cfg.ratedAh);
  }

  /** Feed one telemetry sample (in time order; older or repeated samples are ignored). */
  push(t: BatteryTelemetry): void {
    if (this.lastTs !== null && t.ts <= this.lastTs) return;
    if (this.lastTs !== null) {
      const ah = (this.lastCurrent * (t.ts - this.lastTs)) / 3_600_000;
      this.countedAh += ah;
      this.throughputAh += Math.abs(ah);
    }
    this.lastTs = t.ts;
    this.lastCurrent = t.current;
    if (t.cycles !== null && t.cycles >= (this.bmsCycles ?? 0)) this.bmsCycles = t.cycles;
    this.predict();

    const cellV = t.cellVavg ?? t.voltage / this.cfg.cellsInSeries;
    if (Math.abs(t.current) < this.opts.restA) {
      this.restStart ??= t.ts;
      this.restLast = { ts: t.ts, cellV, countedAh: this.countedAh };
    } else {
      this.endRest();
    }
  }

  /** The estimate now. */
  estimate(): SohEstimate {
    return { ts: this.lastTs ?? 0, sohPct: this.x, sdPct: Math.sqrt(this.p), priorPct: this.prior(this.cycles), cycles: this.cycles, measurements: this.n };
  }

  private predict(): void {
    const c = this.cycles;
    const dc = c - this.cyclesAtPrior;
    if (dc <= 0) return;
    this.x += this.prior(c) - this.prior(this.cyclesAtPrior);
    this.p += (this.cfg.processSdPer100Cycles ** 2 * dc) / 100;
    this.cyclesAtPrior = c;
  }

  /** A rest ended: pin its SoC if it was long enough and the curve steep enough there. */
  private endRest(): void {
    const start = this.restStart;
    const last = this.restLast;
    this.restStart = null;
    this.restLast = null;
    if (start === null || last === null || last.ts - start < this.opts.restMs) return;
    const soc = this.ocv.socAt(last.cellV);
    const slope = (this.ocv.ocv(Math.min(1, soc + 0.01)) - this.ocv.ocv(Math.max(0, soc - 0.01))) / 0.02;
    if (slope < this.opts.minSlopeVPerUnit) return;
    const pin: Pin = { soc, countedAh: last.countedAh };
    const prev = this.lastPin;
    this.lastPin = pin;
    if (!prev) return;
    const swing = prev.soc - pin.soc;
    if (Math.abs(swing) < this.opts.minSwing) return;
    const capacityAh = (pin.countedAh - prev.countedAh) / swing;
    const sohPct = (100 * capacityAh) / this.cfg.ratedAh;
    if (!Number.isFinite(sohPct) || sohPct <= 0 || sohPct > 150) return;
    this.measurements.push({ ts: last.ts, capacityAh, sohPct, swing: Math.abs(swing) });
    if (this.measurements.length > MAX_KEPT_MEASUREMENTS) this.measurements.shift();
    this.n++;
    const r = (this.cfg.measurementSdPct / Math.abs(swing)) ** 2;
    const k = this.p / (this.p + r);
    this.x += k * (sohPct - this.x);
    this.p *= 1 - k;
  }
}
