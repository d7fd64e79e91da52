// The pcs-setpoint node's configuration, as the editor stores it (docs: pcs-setpoint.html).
import { z } from 'zod';
import { optionalNonNegative, unitIdField } from '../kit/config';

export const PcsSetpointConfigSchema = z
  .object({
    name: z.string().default(''),
    connection: z.string().default(''),
    unitId: unitIdField.default(2),
    /** How often WSet is re-written, ms. */
    heartbeat: z.coerce.number().int().min(100).max(600_000).default(1000),
    /** WSetRvrtTms (or a profile's timer register): seconds without a write after which the PCS reverts to 0 W by itself. */
    revertTimeout: z.coerce.number().int().min(1).max(3600).default(5),
    maxChargeW: optionalNonNegative,
    maxDischargeW: optionalNonNegative,
    /** A device profile with a control section (JSON text), or '' for a SunSpec 704 PCS. */
    profile: z.string().default(''),
  })
  .refine((c) => c.heartbeat < c.revertTimeout * 1000, {
    message: 'heartbeat must be shorter than the revert timeout, or the PCS reverts between heartbeats',
    path: ['heartbeat'],
  });
export type PcsSetpointConfig = z.infer<typeof PcsSetpointConfigSchema>;
