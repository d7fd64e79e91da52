// The timeseries-out node's editor configuration, coerced and bounded.
import { z } from 'zod';

export const TimeseriesOutConfigSchema = z.object({
  name: z.string().default(''),
  /** 'runtime' = the store the host opened (the lifo4 cloud's --timeseries); otherwise this node opens its own. */
  backend: z.enum(['sqlite', 'influxdb', 'runtime']).default('sqlite'),
  /** SQLite file; '' = <userDir>/timeseries.db. */
  path: z.string().default(''),
  /** InfluxDB 1.x: http(s)://host:port/<database>; the user and password are the node's credentials. */
  url: z.string().default('http://127.0.0.1:8086/lifo4'),
  /** A batch is written this long after its first record, ms. */
  batchMs: z.coerce.number().int().min(1).max(10_000).default(100),
  /** ... or as soon as it holds this many records. */
  batchMax: z.coerce.number().int().min(1).max(100_000).default(5000),
  /** Records that may wait for a back end that is down; beyond it, writes are refused (not acked). */
  queueMax: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
});
export type TimeseriesOutConfig = z.infer<typeof TimeseriesOutConfigSchema>;

export const TimeseriesOutCredentialsSchema = z.object({
  username: z.string().max(256).optional(),
  password: z.string().max(1024).optional(),
});

/** The InfluxDB url with the node's credentials in it (the `influx` package reads them from there). */
export function influxUrl(url: string, credentials: z.infer<typeof TimeseriesOutCredentialsSchema>): string {
  const u = new URL(url);
  if (credentials.username) {
    u.username = encodeURIComponent(credentials.username);
    u.password = encodeURIComponent(credentials.password ?? '');
  }
  return u.toString();
}
