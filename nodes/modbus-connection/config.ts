// The modbus-connection node's configuration, as the editor stores it (docs: modbus-connection.html).
import { z } from 'zod';
import type { TransportKind } from '../../io/modbus/transport';
import type { Parity } from '../../io/modbus/rtu-timing';

export interface ModbusConnectionConfig {
  name: string;
  transport: TransportKind;
  host: string;
  port: number;
  serialPath: string;
  baudRate: number;
  parity: Parity;
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  /** Silence before each RTU request, ms; null = t3.5 of the serial line. */
  interFrameMs: number | null;
  timeout: number;
  queueLimit: number;
}

/**
 * The environment variables that hold the Modbus address of the site's devices (the simulator's
 * beside `lifo4 start`): the edge runtime sets them from --modbus-host/--modbus-port, and the
 * examples' connections refer to them as `${EMS_MODBUS_HOST}` and `${EMS_MODBUS_PORT}`, which
 * Node-RED substitutes when the flow starts. The flow check compares addresses through them.
 */
export const MODBUS_ADDRESS_ENV = { host: 'EMS_MODBUS_HOST', port: 'EMS_MODBUS_PORT' } as const;

/** A field Node-RED left as `${NAME}` because the variable is not set in this runtime: say so. */
const resolvedEnv = <T extends z.ZodType>(schema: T) => z.preprocess((v, ctx) => {
  const name = typeof v === 'string' ? /^\$\{(\S+)\}$/.exec(v.trim())?.[1] : undefined;
  if (name === undefined) return v;
  ctx.addIssue({ code: 'custom', message: `refers to the environment variable ${name}, which is not set in this runtime (lifo4 edge sets ${MODBUS_ADDRESS_ENV.host} and ${MODBUS_ADDRESS_ENV.port})` });
  return z.NEVER;
}, schema);

const digits = <T extends number>(...values: T[]) =>
  z.coerce.number().refine((v): v is T => (values as number[]).includes(v), `one of ${values.join(', ')}`);

/** The fields one by one (what other schemas pick from); the whole config adds the checks across fields. */
export const ModbusConnectionFieldsSchema = z.object({
  name: z.string().default(''),
  // Connections saved before RTU existed have no transport: they are Modbus TCP.
  transport: z.enum(['tcp', 'rtu', 'rtu-over-tcp']).default('tcp'),
  host: resolvedEnv(z.string()).default('127.0.0.1'),
  port: resolvedEnv(z.coerce.number().int().min(1).max(65535)).default(5020),
  serialPath: z.string().default(''),
  baudRate: z.coerce.number().int().min(300).max(4_000_000).default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  dataBits: digits(7, 8).default(8),
  stopBits: digits(1, 2).default(1),
  interFrameMs: z
    .union([z.literal(''), z.null(), z.coerce.number().min(0).max(1000)])
    .default(null)
    .transform((v) => (v === '' ? null : v)),
  timeout: z.coerce.number().int().min(50).max(60_000).default(1000),
  queueLimit: z.coerce.number().int().min(1).max(10_000).default(100),
});

export const ModbusConnectionConfigSchema = ModbusConnectionFieldsSchema.superRefine((c, ctx) => {
  if (c.transport === 'rtu' && c.serialPath.trim() === '') {
    ctx.addIssue({ code: 'custom', path: ['serialPath'], message: 'an RTU connection needs a serial port path (e.g. /dev/ttyUSB0)' });
  }
  if (c.transport !== 'rtu' && c.host.trim() === '') {
    ctx.addIssue({ code: 'custom', path: ['host'], message: `a ${c.transport} connection needs a host` });
  }
});
