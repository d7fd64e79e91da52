// The anomaly-score node's configuration, as the editor stores it.
import { z } from 'zod';
import { optionalNonNegative, siteIdField } from '../kit/config';

export const AnomalyScoreConfigSchema = z.object({
  siteId: siteIdField.default('site-1'),
  /** Path of an ONNX model written by `lifo4 ml train anomaly`; '' = the one the build trained (dist/models/anomaly.onnx). */
  model: z.string().trim().default(''),
  /** Alarm above this score; '' = the threshold stored in the model. */
  threshold: optionalNonNegative,
  /** Battery room temperature, degC (the thermal feature is the rise above it). */
  ambientC: z.coerce.number().min(-40).max(60).default(20),
  /** Site local time minus UTC, minutes: a cycle is one site-local day. */
  utcOffsetMin: z.coerce.number().int().min(-720).max(840).default(0),
  /** Keep one sample per this many seconds (the model is trained on 60 s samples). */
  sampleS: z.coerce.number().min(1).max(600).default(60),
});
export type AnomalyScoreConfig = z.infer<typeof AnomalyScoreConfigSchema>;
