// The load-forecast node's configuration, as the editor stores it.
import { z } from 'zod';
import { siteIdField } from '../kit/config';
import { RegionSchema } from '../../domain/forecast/holidays';

export const LoadForecastConfigSchema = z.object({
  siteId: siteIdField.default('site-1'),
  /** Path of an ONNX model written by `lifo4 ml train forecast`; '' = the one the build trained (dist/models/forecast.onnx). */
  model: z.string().trim().default(''),
  /** '' = the region the model was trained for. */
  region: z.union([z.literal(''), RegionSchema]).default(''),
  /** Site local time minus UTC, minutes: day boundaries are the site's midnights (60 = CET). */
  utcOffsetMin: z.coerce.number().int().min(-720).max(840).default(60),
  /**
   * Where a fresh node asks for past loads when its own history does not cover the forecast window
   * yet: a URL answering a history seed (the simulator's GET /history/load). '' = nowhere, wait
   * for 14 days of telemetry; an unset `${ENV}` reference counts as ''.
   */
  historyUrl: z.string().trim().default('').transform((u) => (/^\$\{\w+\}$/.test(u) ? '' : u))
    .pipe(z.union([z.literal(''), z.url({ protocol: /^https?$/, error: 'an http(s) URL, or empty' })])),
  /** Folder of the history file <siteId>.json kept across restarts; '' = <userDir>/load-history, relative = under userDir. */
  dir: z.string().trim().default(''),
});
export type LoadForecastConfig = z.infer<typeof LoadForecastConfigSchema>;
