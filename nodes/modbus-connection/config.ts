// The modbus-connection node's configuration, as the editor stores it (docs: modbus-connection.html).
import { z } from 'zod';

export interface ModbusConnectionConfig {
  name: string;
  host: string;
  port: number;
  timeout: number;
  queueLimit: number;
}

export const ModbusConnectionConfigSchema = z.object({
  name: z.string().default(''),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(1).max(65535).default(5020),
  timeout: z.coerce.number().int().min(50).max(60_000).default(1000),
  queueLimit: z.coerce.number().int().min(1).max(10_000).default(100),
});
