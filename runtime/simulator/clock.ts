// Simulated time: starts at a date inside the data period and runs `speed` times faster than the
// wall clock, so an hour of battery physics can pass in seconds for tests and demos.

export class SimClock {
  private readonly realStart: number;

  constructor(
    readonly startMs: number,
    readonly speed = 1,
    private readonly realNow: () => number = () => performance.now(),
  ) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`);
    this.realStart = realNow();
  }

  /** Simulated time now, ms since the epoch. */
  now(): number {
    return this.startMs + (this.realNow() - this.realStart) * this.speed;
  }
}

/** The default start: mid-June 08:00 UTC in the profile's year, so PV and load both move early on. */
export function defaultStart(profileStartMs: number): number {
  const year = new Date(profileStartMs).getUTCFullYear();
  return Date.UTC(year, 5, 15, 8, 0, 0);
}
