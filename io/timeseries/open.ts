// Opens the configured time-series back end: the one call the timeseries-out node and the cloud
// runtime make, so both read the same configuration the same way.
import { join } from 'node:path';
import { openInfluxStore } from './influx-store';
import { openSqliteStore } from './sqlite-store';
import type { TimeseriesStore } from './store';
import type { QueueOptions } from './write-queue';

export type TimeseriesConfig =
  | { backend: 'sqlite'; path: string; queue?: Partial<QueueOptions> }
  | { backend: 'influxdb'; url: string; requestTimeoutMs?: number; queue?: Partial<QueueOptions> };

/** The SQLite file's default place: beside the runtime's other data. */
export function defaultTimeseriesPath(dataDir: string): string {
  return join(dataDir, 'timeseries.db');
}

export function openTimeseriesStore(config: TimeseriesConfig): TimeseriesStore {
  return config.backend === 'sqlite'
    ? openSqliteStore(config.path, config.queue)
    : openInfluxStore({ url: config.url, ...(config.requestTimeoutMs ? { requestTimeoutMs: config.requestTimeoutMs } : {}), ...(config.queue ? { queue: config.queue } : {}) });
}
