// The stores that timeseries-out nodes have open, by key, so the cloud runtime's API can query what
// the flow writes without opening the file or database a second time. A timeseries-out node registers
// its store under its node id and, when it has one, its name; it unregisters on close (redeploy).
// Usage from runtime code: `storeFor('cloud-store')?.latest()`, or `registeredStores()` for all.
import type { TimeseriesStore } from './store';

const stores = new Map<string, TimeseriesStore>();

export function registerStore(key: string, store: TimeseriesStore): void {
  stores.set(key, store);
}

/** Removes the key only while it still maps to this store (a redeploy may have replaced it). */
export function unregisterStore(key: string, store: TimeseriesStore): void {
  if (stores.get(key) === store) stores.delete(key);
}

export function storeFor(key: string): TimeseriesStore | undefined {
  return stores.get(key);
}

/** Every registered store once, with the keys it is registered under. */
export function registeredStores(): { keys: string[]; store: TimeseriesStore }[] {
  const byStore = new Map<TimeseriesStore, string[]>();
  for (const [key, store] of stores) byStore.set(store, [...(byStore.get(store) ?? []), key]);
  return [...byStore].map(([store, keys]) => ({ keys, store }));
}
