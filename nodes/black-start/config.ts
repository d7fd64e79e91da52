// The black-start node's configuration, as the editor stores it (docs: black-start.html).
import { z } from 'zod';
import { DEFAULT_BLACK_START_CONFIG as D, type BlackStartConfig } from '../../domain/black-start/state-machine';
import { siteIdField, unitIdField } from '../kit/config';

const num = (min: number, max: number, def: number): z.ZodDefault<z.ZodCoercedNumber> => z.coerce.number().min(min).max(max).default(def);

export const BlackStartNodeConfigSchema = z
  .object({
    name: z.string().default(''),
    connection: z.string().default(''),
    unitId: unitIdField.default(2),
    siteId: siteIdField.default('site-1'),
    /** How often the PCS's islanding registers are read and the state machine steps, ms. */
    interval: z.coerce.number().int().min(100).max(60_000).default(1000),
    /** Telemetry older than this counts as missing, ms. */
    staleMs: z.coerce.number().int().min(100).max(600_000).default(5000),
    /** How long each level-2 request holds, s. */
    requestTtlS: num(1, 600, 5),
    debounceMs: num(0, 60_000, D.debounceMs),
    lossVLoPct: num(0, 100, D.lossVLoPct),
    lossVHiPct: num(100, 200, D.lossVHiPct),
    lossHzLo: num(0, 70, D.lossHzLo),
    lossHzHi: num(0, 70, D.lossHzHi),
    esVLoPct: num(0, 100, D.esVLoPct),
    esVHiPct: num(100, 200, D.esVHiPct),
    esHzLo: num(0, 70, D.esHzLo),
    esHzHi: num(0, 70, D.esHzHi),
    esDelayS: num(0, 3600, D.esDelayMs / 1000),
    stageDelayS: num(0, 3600, D.stageDelayMs / 1000),
    headroomPct: num(0, 90, D.headroomPct),
    reservePct: num(0, 100, D.reservePct),
    normalReservePct: num(0, 100, D.normalReservePct),
    hysteresisPct: num(0, 50, D.hysteresisPct),
    formMinSocPct: num(0, 100, D.formMinSocPct),
  })
  .refine((c) => c.lossHzLo < c.lossHzHi && c.esHzLo < c.esHzHi, { message: 'each frequency band needs low < high', path: ['esHzLo'] })
  .refine((c) => c.normalReservePct <= c.reservePct, { message: 'the normal-load reserve must not exceed the deferrable-load reserve', path: ['normalReservePct'] });
export type BlackStartNodeConfig = z.infer<typeof BlackStartNodeConfigSchema>;

export function machineConfig(c: BlackStartNodeConfig): BlackStartConfig {
  return {
    ...D,
    debounceMs: c.debounceMs,
    lossVLoPct: c.lossVLoPct,
    lossVHiPct: c.lossVHiPct,
    lossHzLo: c.lossHzLo,
    lossHzHi: c.lossHzHi,
    esVLoPct: c.esVLoPct,
    esVHiPct: c.esVHiPct,
    esHzLo: c.esHzLo,
    esHzHi: c.esHzHi,
    esDelayMs: c.esDelayS * 1000,
    stageDelayMs: c.stageDelayS * 1000,
    headroomPct: c.headroomPct,
    reservePct: c.reservePct,
    normalReservePct: c.normalReservePct,
    hysteresisPct: c.hysteresisPct,
    formMinSocPct: c.formMinSocPct,
    commandRetryMs: Math.max(3 * c.interval, 2000),
  };
}
