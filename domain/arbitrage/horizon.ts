// What a rolling arbitrage controller knows and how it values the energy it ends with.

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * The end of the known day-ahead prices at `nowMs` (market local time, as the data's clock): the
 * EPEX day-ahead auction closes at 12:00 and publishes the next day's hourly prices shortly after,
 * so before 12:00 prices are known to the end of today, from 12:00 to the end of tomorrow.
 */
export function dayAheadKnownUntil(nowMs: number, publishHour = 12): number {
  const midnight = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const hour = (nowMs - midnight) / HOUR_MS;
  return midnight + (hour >= publishHour ? 2 : 1) * DAY_MS;
}

/** The q-quantile (0..1) of the values, linear between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const s = [...values].sort((a, b) => a - b);
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

/**
 * The value of a kWh left in the battery at the end of the horizon, EUR/kWh: what it will likely
 * sell for after the horizon, a price quantile of the known prices, times the discharge
 * efficiency, less the degradation its later discharge costs. Never below 0: the energy can always
 * be held. Without it the plan empties the battery at every horizon's end (horizons end at
 * midnight, before the morning peak); with a terminal SoC constraint instead it must refill at any
 * price. The quantile is tuned on the 2012 data (bench/arbitrage.ts).
 */
export function terminalValueEurPerKwh(knownPricesEurPerMWh: readonly number[], etaDischarge: number, q = TERMINAL_QUANTILE, degradationEurPerKwh = 0): number {
  return Math.max(0, (quantile(knownPricesEurPerMWh, q) / 1000) * etaDischarge - degradationEurPerKwh);
}

export const TERMINAL_QUANTILE = 0.5;
