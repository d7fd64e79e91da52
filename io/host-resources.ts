// What a host hands to the nodes of its flows. The lifo4 cloud opens the time-series store and the
// fleet hub itself, gives them to its API, and to the nodes under Node-RED's `lifo4` setting:
// timeseries-out with the backend "runtime" writes to that store, fleet-hub joins that hub. A stock
// Node-RED has no such setting; there timeseries-out opens a store of its own, and fleet-hub says
// that it needs a host with a fleet hub. The lifo4 edge hands down its metrics (edge-metrics.ts).
import { NO_METRICS, type EdgeMetrics } from './edge-metrics';
import type { FleetHub } from './fleet-hub';
import type { TimeseriesStore } from './timeseries/store';

/** The key of Node-RED's settings object that carries the host's resources. */
export const HOST_SETTING = 'lifo4';

export interface HostResources {
  /** The host's time-series store (the cloud's --timeseries): timeseries-out's backend "runtime". */
  timeseries?: TimeseriesStore;
  /** The cloud's fleet hub, shared by its API and the flow's fleet-hub node. */
  fleetHub?: FleetHub;
  /** The edge's Prometheus metrics, which its nodes and Modbus connections report into. */
  metrics?: EdgeMetrics;
}

/** The host's resources in a Node-RED settings object (RED.settings), or none. */
export function hostResources(settings: unknown): HostResources {
  if (typeof settings !== 'object' || settings === null) return {};
  const r = (settings as Record<string, unknown>)[HOST_SETTING];
  return typeof r === 'object' && r !== null ? (r as HostResources) : {};
}

/** The host's edge metrics in a Node-RED settings object, or metrics that keep nothing. */
export function hostMetrics(settings: unknown): EdgeMetrics {
  return hostResources(settings).metrics ?? NO_METRICS;
}
