// The arbitrage node's configuration, as the editor stores it (strings or numbers).
import { z } from 'zod';
import { DEFAULT_TARIFF, EXPORT_PRICE_MODES, type SiteTariff } from '../../domain/tariff/tariff';
import { optionalNonNegative, siteIdField } from '../kit/config';

const num = (min: number, max: number, dflt: number): z.ZodDefault<z.ZodCoercedNumber> => z.coerce.number().finite().min(min).max(max).default(dflt);

export const ArbitrageConfigSchema = z
  .object({
    siteId: siteIdField.default('site-1'),
    enabled: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true),
    /** kWh; '' = from the battery telemetry's capacityWh. */
    capacityKwh: optionalNonNegative,
    powerKw: num(0.1, 100_000, 5),
    etaCharge: num(0.5, 1, 0.95),
    etaDischarge: num(0.5, 1, 0.95),
    socMinPct: num(0, 100, 5),
    socMaxPct: num(0, 100, 95),
    degradationEurPerKwh: num(0, 10, 0),
    horizonHours: num(1, 48, 36),
    /** Re-plan when the measured SoC leaves the plan by more than this, %-points. */
    socDeviationPct: num(0.1, 50, 2),
    gridImportMaxKw: optionalNonNegative,
    gridExportMaxKw: optionalNonNegative,
    /** 'spot': trade the spot spread (the battery alone); 'bill': minimise the site's bill with the tariff below. */
    objective: z.enum(['spot', 'bill']).default('spot'),
    /** The site tariff (domain/tariff/tariff.ts): import = (spot + adder) x VAT, export = feed-in or spot. */
    importAdderEurPerKwh: num(-1, 10, DEFAULT_TARIFF.importAdderEurPerKwh),
    vatFactor: num(1, 2, DEFAULT_TARIFF.vatFactor),
    exportPrice: z.enum(EXPORT_PRICE_MODES).default(DEFAULT_TARIFF.exportPrice),
    feedInEurPerKwh: num(0, 10, DEFAULT_TARIFF.feedInEurPerKwh),
    demandChargeEurPerKw: num(0, 1000, DEFAULT_TARIFF.demandChargeEurPerKw),
    /** Simulated time runs this many times faster than the wall clock (a fast simulator), 1 = real time. */
    speed: num(1, 10_000, 1),
  })
  .refine((c) => c.socMinPct < c.socMaxPct, { message: 'socMinPct must be below socMaxPct', path: ['socMinPct'] });
export type ArbitrageConfig = z.infer<typeof ArbitrageConfigSchema>;

export function tariffOf(c: ArbitrageConfig): SiteTariff {
  return { importAdderEurPerKwh: c.importAdderEurPerKwh, vatFactor: c.vatFactor, exportPrice: c.exportPrice, feedInEurPerKwh: c.feedInEurPerKwh, demandChargeEurPerKw: c.demandChargeEurPerKw };
}
