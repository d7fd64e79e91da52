// The soh-estimate node's configuration, as the editor stores it.
import { z } from 'zod';
import { optionalNonNegative, siteIdField } from '../kit/config';

export const SohEstimateConfigSchema = z.object({
  siteId: siteIdField.default('site-1'),
  /** Path of an ONNX ageing model from `lifo4 ml train ageing`; '' = the one the build fitted (dist/models/ageing.onnx). */
  model: z.string().trim().default(''),
  /** Rated pack capacity, Ah; '' = the telemetry's capacityWh over the pack's mid-SoC voltage. */
  ratedAh: optionalNonNegative,
  cellsInSeries: z.coerce.number().int().min(1).max(1000).default(16),
  /** Equivalent full cycles before the first sample when the BMS reports no cycle count. */
  initialCycles: z.coerce.number().nonnegative().default(0),
  /** Send the estimate at least this often (telemetry time), minutes; every new measurement is sent at once. */
  emitEveryMin: z.coerce.number().min(1).max(10_080).default(60),
});
export type SohEstimateConfig = z.infer<typeof SohEstimateConfigSchema>;
