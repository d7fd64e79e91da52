// The site's load history as the forecast needs it: 15-minute means on the site's calendar.
// Telemetry arrives every second or so; each sample is averaged into its step. A missing step is
// filled with the same step a week earlier (load is weekly periodic), else with the step before;
// a window with more than MAX_FILLED_FRACTION filled steps is refused rather than forecast from.
import { z } from 'zod';
import { DAY_MS, HISTORY_DAYS, STEPS_PER_DAY, STEP_MS } from './features';

export const MAX_FILLED_FRACTION = 0.1;

/** History seeding message: consecutive 15-minute loads in kW from `start` (e.g. from the store). */
export const LoadHistorySeedSchema = z.object({
  start: z.number(),
  stepMinutes: z.literal(15),
  loadKw: z.array(z.number().finite()).min(1),
});

/**
 * The history as the load-forecast node keeps it on disk across restarts: each 15-minute step's
 * start (UTC ms), mean load (kW) and sample count (so a step interrupted by a restart goes on
 * averaging where it stopped).
 */
export const LoadHistoryFileSchema = z.object({
  v: z.literal(1),
  stepMinutes: z.literal(15),
  steps: z.array(z.tuple([z.number().int(), z.number().finite(), z.number().int().positive()])),
});
export type LoadHistoryFile = z.infer<typeof LoadHistoryFileSchema>;

export class LoadHistory {
  private readonly sums = new Map<number, { sum: number; n: number }>();

  /** `offsetMs`: site local time minus UTC (day boundaries are local midnights). */
  constructor(private readonly offsetMs = 0, private readonly keepDays = HISTORY_DAYS + 2) {}

  private stepOf(ts: number): number {
    return Math.floor((ts + this.offsetMs) / STEP_MS);
  }

  add(ts: number, loadKw: number): void {
    if (!Number.isFinite(ts) || !Number.isFinite(loadKw)) return;
    const k = this.stepOf(ts);
    const e = this.sums.get(k);
    if (e) {
      e.sum += loadKw;
      e.n++;
    } else this.sums.set(k, { sum: loadKw, n: 1 });
    // Forget what no forecast will read again.
    const oldest = k - this.keepDays * STEPS_PER_DAY;
    if (this.sums.size > (this.keepDays + 1) * STEPS_PER_DAY) for (const key of this.sums.keys()) if (key < oldest) this.sums.delete(key);
  }

  /** Sets whole 15-minute means (a seed from stored history). */
  seed(start: number, loadKw: readonly number[]): void {
    const k0 = this.stepOf(start);
    loadKw.forEach((v, i) => this.sums.set(k0 + i, { sum: v, n: 1 }));
  }

  /**
   * Sets the 15-minute means of a seed only where nothing was measured: a seed fills the gaps of
   * what the site recorded itself, never overwrites it. Returns the number of steps filled.
   */
  seedMissing(start: number, loadKw: readonly number[]): number {
    const k0 = this.stepOf(start);
    let filled = 0;
    loadKw.forEach((v, i) => {
      if (this.sums.has(k0 + i) || !Number.isFinite(v)) return;
      this.sums.set(k0 + i, { sum: v, n: 1 });
      filled++;
    });
    return filled;
  }

  /** Steps kept. */
  get size(): number {
    return this.sums.size;
  }

  /** What to write to disk (oldest first). */
  toFile(): LoadHistoryFile {
    const keys = [...this.sums.keys()].sort((a, b) => a - b);
    return {
      v: 1, stepMinutes: 15,
      steps: keys.map((k) => {
        const e = this.sums.get(k)!;
        return [k * STEP_MS - this.offsetMs, e.sum / e.n, e.n];
      }),
    };
  }

  /** Restores what toFile wrote (also under another UTC offset: steps are stored by UTC start). */
  restore(file: LoadHistoryFile): void {
    for (const [start, mean, n] of file.steps) this.sums.set(this.stepOf(start), { sum: mean * n, n });
  }

  /** Local midnight (as UTC ms of the local calendar) of the day containing ts. */
  dayStart(ts: number): number {
    return Math.floor((ts + this.offsetMs) / DAY_MS) * DAY_MS;
  }

  /** UTC ms of a local-calendar ms. */
  toUtc(localMs: number): number {
    return localMs - this.offsetMs;
  }

  /** The 14 days before the local day `dayStartLocal`, filled; null when too much is missing. */
  window(dayStartLocal: number): { values: Float64Array; filled: number } | null {
    const n = HISTORY_DAYS * STEPS_PER_DAY;
    const k0 = dayStartLocal / STEP_MS - n;
    const values = new Float64Array(n);
    let filled = 0;
    let seen = false;
    for (let i = 0; i < n; i++) {
      const e = this.sums.get(k0 + i);
      if (e) {
        values[i] = e.sum / e.n;
        seen = true;
        continue;
      }
      filled++;
      const week = this.sums.get(k0 + i - 7 * STEPS_PER_DAY);
      if (i >= 7 * STEPS_PER_DAY) values[i] = values[i - 7 * STEPS_PER_DAY]!;
      else if (week) values[i] = week.sum / week.n;
      else values[i] = i > 0 ? values[i - 1]! : NaN;
    }
    if (!seen || filled > MAX_FILLED_FRACTION * n) return null;
    // A leading gap has no step before it: take the first known value.
    const first = values.findIndex((v) => Number.isFinite(v));
    for (let i = 0; i < first; i++) values[i] = values[first]!;
    return { values, filled };
  }
}
