// Site load and PV from real measured profiles (data/SOURCES.md), interpolated at the simulated
// time and wrapped over the January-September data so a run never falls off the end.
//   household:  one household's load and rooftop PV, 2014, kW at 15 min (Kucevic et al. 2020).
//   commercial: Berlin grid demand 2012 scaled so its peak equals the site's peak load, and German
//               PV per unit of installed capacity times the site's PV peak power.
import {
  loadBerlinDemand,
  loadGermanPvPerUnit,
  loadHouseholdProfile,
  type HouseholdProfile,
  type TimeTable,
} from '../../io/data/real-data';

export interface SitePowers {
  /** Site consumption, W (>= 0). */
  loadW: number;
  /** PV generation, W (>= 0). */
  pvW: number;
}

/** A uniformly sampled series, W, starting at startMs. */
export class UniformSeries {
  constructor(
    readonly startMs: number,
    readonly stepMs: number,
    readonly values: Float64Array,
  ) {
    if (values.length < 2 || !(stepMs > 0)) throw new RangeError('a series needs at least 2 samples and a positive step');
  }

  get periodMs(): number {
    return this.values.length * this.stepMs;
  }

  /** The largest sample, W; 0 when none is positive (the simulated devices size their scale factors by it). */
  get peak(): number {
    let peak = 0;
    for (const v of this.values) peak = Math.max(peak, v);
    return peak;
  }

  /** Linear interpolation at t, wrapping: after the last sample the series starts over. */
  at(t: number): number {
    const n = this.values.length;
    const offset = ((((t - this.startMs) % this.periodMs) + this.periodMs) % this.periodMs) / this.stepMs;
    const i = Math.floor(offset);
    const f = offset - i;
    const a = this.values[i % n] ?? 0;
    const b = this.values[(i + 1) % n] ?? 0;
    return a + (b - a) * f;
  }
}

export class SiteProfile {
  constructor(
    readonly load: UniformSeries,
    readonly pv: UniformSeries,
  ) {}

  at(t: number): SitePowers {
    return { loadW: Math.max(0, this.load.at(t)), pvW: Math.max(0, this.pv.at(t)) };
  }

  /** First instant of the data, ms: simulations start inside the data period. */
  get startMs(): number {
    return this.load.startMs;
  }
}

export function householdProfile(data: HouseholdProfile = loadHouseholdProfile()): SiteProfile {
  const start = data.time[0] ?? 0;
  return new SiteProfile(
    new UniformSeries(start, data.stepMs, data.loadKw.map((kw) => kw * 1000)),
    new UniformSeries(start, data.stepMs, data.pvKw.map((kw) => kw * 1000)),
  );
}

function tableSeries(table: TimeTable, scale: number): UniformSeries {
  const step = ((table.seconds[1] ?? 900) - (table.seconds[0] ?? 0)) * 1000;
  return new UniformSeries(table.originMs + (table.seconds[0] ?? 0) * 1000, step, table.values.map((v) => v * scale));
}

export interface CommercialScale {
  /** The site's peak load, W: Berlin's demand is scaled so that its maximum equals this. */
  peakLoadW: number;
  /** Installed PV, W peak. */
  pvPeakW: number;
}

export function commercialProfile(
  scale: CommercialScale,
  demand: TimeTable = loadBerlinDemand(),
  pvPerUnit: TimeTable = loadGermanPvPerUnit(),
): SiteProfile {
  let max = 0;
  for (const v of demand.values) max = Math.max(max, v);
  if (!(max > 0)) throw new RangeError('demand table has no positive value');
  return new SiteProfile(tableSeries(demand, scale.peakLoadW / max), tableSeries(pvPerUnit, scale.pvPeakW));
}
