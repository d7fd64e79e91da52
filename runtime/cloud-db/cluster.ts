// What a cloud process shares with the others on the same database (docs/ARCHITECTURE.md, "Leases
// and the event bus"): the event bus its realtime channel fans out on, the leases of the jobs that
// run once in the cluster and that the cloud API starts itself (the alarm rules, the ML work; the
// roll-out scheduler and the monthly mailing take theirs), the login brake's accounts and the API's
// request limits. On SQLite all of it is this process's own: an in-process bus, leases always held,
// the counts in memory.
import { SharedAccounts } from '../api/login-throttle';
import { isPgCloudDb, type CloudDb } from './cloud-db';
import { openEventBus, type EventBus } from './events';
import { openLease, type Lease } from './lease';
import { postgresRateStores, type RateStoreFactory } from './rate-limit-store';

export interface CloudCluster {
  readonly bus: EventBus;
  /** The cloud's alarm rules (runtime/api/alarms.ts AlarmRules) run where this is held. */
  readonly alarmLease: Lease;
  /** Forecasts, retraining and battery scoring (runtime/ml/cloud-ml.ts) run where this is held. */
  readonly retrainLease: Lease;
  /** The login brake's accounts in the shared database, or null: this process's memory. */
  readonly loginAccounts: SharedAccounts | null;
  /** Where the API's request limits count (runtime/api/router.ts), or undefined: this process's memory. */
  readonly rateStores: RateStoreFactory | undefined;
  close(): Promise<void>;
}

export async function joinCloudCluster(db: CloudDb, log: (line: string) => void): Promise<CloudCluster> {
  const bus = await openEventBus(db, { log });
  const alarmLease = openLease(db, 'alarms', { log });
  const retrainLease = openLease(db, 'retrain', { log });
  const loginAccounts = isPgCloudDb(db) ? await SharedAccounts.postgres(db.pool) : null;
  const rateStores = isPgCloudDb(db) ? await postgresRateStores(db.pool) : undefined;
  // The first answer before the cloud starts its jobs: the first process up starts as the holder.
  await Promise.all([alarmLease.settled, retrainLease.settled]);
  return {
    bus, alarmLease, retrainLease, loginAccounts, rateStores,
    async close() {
      // CloudMl gives its lease up itself (close()); closing twice is harmless.
      await Promise.all([alarmLease.close(), retrainLease.close()]);
      await bus.close();
    },
  };
}
