// The site's tariff: what a kWh bought and a kWh sold are worth at each step, and the month's
// demand charge, as a household's or business's bill has them. Pure numbers in, EUR out.
//   import price = (day-ahead spot + adder) x VAT factor         EUR/kWh
//   export price = a fixed feed-in tariff, or the spot price     EUR/kWh
//   demand charge = EUR/kW on the month's highest 15-minute mean import
import { z } from 'zod';

export const EXPORT_PRICE_MODES = ['feed-in', 'spot'] as const;

export const SiteTariffSchema = z.object({
  /** Grid fees, levies and taxes on top of the spot price, EUR/kWh. */
  importAdderEurPerKwh: z.number().finite().min(-1).max(10),
  /** VAT on the import price, 1 = none. */
  vatFactor: z.number().finite().min(1).max(2),
  exportPrice: z.enum(EXPORT_PRICE_MODES),
  /** What a kWh fed in earns with exportPrice 'feed-in', EUR/kWh. */
  feedInEurPerKwh: z.number().finite().min(0).max(10),
  /** EUR per kW of the month's highest 15-minute mean import; 0 = no demand charge. */
  demandChargeEurPerKw: z.number().finite().min(0).max(1000),
});
export type SiteTariff = z.infer<typeof SiteTariffSchema>;

export const DEFAULT_TARIFF: SiteTariff = { importAdderEurPerKwh: 0.2, vatFactor: 1, exportPrice: 'feed-in', feedInEurPerKwh: 0.08, demandChargeEurPerKw: 0 };

export function importPriceEurPerKwh(spotEurPerMWh: number, t: SiteTariff): number {
  return (spotEurPerMWh / 1000 + t.importAdderEurPerKwh) * t.vatFactor;
}

export function exportPriceEurPerKwh(spotEurPerMWh: number, t: SiteTariff): number {
  return t.exportPrice === 'spot' ? spotEurPerMWh / 1000 : t.feedInEurPerKwh;
}

/** The calendar month of a time on the data's clock (UTC fields), as year * 12 + month. */
export function monthIndex(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/**
 * The month's highest 15-minute mean import so far, kW, from grid power readings: each reading
 * counts for the time until the next one, each 15-minute window's mean closes when the next
 * window begins, and a new month starts from zero.
 */
export class MonthPeak {
  #month: number | null = null;
  #peakKw = 0;
  #window: number | null = null;
  #energy = 0; // kW x ms in the current window
  #covered = 0;
  #last: { ts: number; kw: number } | null = null;

  /** Add a grid power reading, kW, + = import. */
  add(ts: number, gridKw: number): void {
    if (this.#last && ts > this.#last.ts) this.#accumulate(this.#last.ts, ts, this.#last.kw);
    if (!this.#last || ts >= this.#last.ts) this.#last = { ts, kw: gridKw };
  }

  /** The peak of the month holding `ts`, kW (0 at a month's start). */
  peakKw(ts: number): number {
    const m = monthIndex(ts);
    const closed = this.#month === m ? this.#peakKw : 0;
    // A window whose 15 minutes are all measured counts before the next one begins.
    const open = this.#window !== null && this.#covered >= 900_000 && monthIndex(this.#window * 900_000) === m ? this.#energy / 900_000 : 0;
    return Math.max(closed, open);
  }

  #accumulate(from: number, to: number, kw: number): void {
    const win = 900_000;
    for (let a = from; a < to; ) {
      const w = Math.floor(a / win);
      if (this.#window !== w) this.#close(w);
      const b = Math.min(to, (w + 1) * win);
      this.#energy += kw * (b - a);
      this.#covered += b - a;
      a = b;
    }
  }

  #close(next: number): void {
    if (this.#window !== null && this.#covered > 0) {
      const start = this.#window * 900_000;
      const m = monthIndex(start);
      if (this.#month !== m) { this.#month = m; this.#peakKw = 0; }
      this.#peakKw = Math.max(this.#peakKw, this.#energy / 900_000);
    }
    this.#window = next;
    this.#energy = 0;
    this.#covered = 0;
  }
}

export interface BillStep {
  start: number;
  hours: number;
  /** Grid power, kW, + = import. */
  gridKw: number;
  spotEurPerMWh: number;
}

export interface Bill {
  energyEur: number;
  demandEur: number;
  totalEur: number;
  importKwh: number;
  exportKwh: number;
}

/** The bill of a series of steps; steps of 15 minutes or less give the demand charge's 15-minute means. */
export function siteBill(steps: readonly BillStep[], t: SiteTariff): Bill {
  let energy = 0;
  let imp = 0;
  let exp = 0;
  const peaks = new Map<number, number>();
  for (const s of steps) {
    if (s.gridKw > 0) {
      energy += importPriceEurPerKwh(s.spotEurPerMWh, t) * s.gridKw * s.hours;
      imp += s.gridKw * s.hours;
      const m = monthIndex(s.start);
      peaks.set(m, Math.max(peaks.get(m) ?? 0, s.gridKw));
    } else {
      energy += exportPriceEurPerKwh(s.spotEurPerMWh, t) * s.gridKw * s.hours;
      exp -= s.gridKw * s.hours;
    }
  }
  let demand = 0;
  for (const p of peaks.values()) demand += p * t.demandChargeEurPerKw;
  return { energyEur: energy, demandEur: demand, totalEur: energy + demand, importKwh: imp, exportKwh: exp };
}
