// Prometheus metrics of the cloud (prom-client, a registry of our own so nothing else's default
// metrics collide): ingest rate (hub events by kind), store latency (the API's queries), API
// latency by route, open alarms, connected sites, realtime clients and commands by outcome.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricSources {
  openAlarms: () => Promise<Record<string, number>>;
  sitesByState: () => Promise<Record<string, number>>;
  storeQueued: () => number | null;
}

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly ingest: Counter<'kind'>;
  readonly storeLatency: Histogram<'op'>;
  readonly commands: Counter<'type' | 'outcome'>;
  readonly realtimeClients: Gauge;

  constructor(src: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'lifo4_' });
    this.requestDuration = new Histogram({
      name: 'lifo4_api_request_duration_seconds', help: 'API request duration by route (the route pattern, not the URL) and status',
      labelNames: ['method', 'route', 'status'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
    });
    this.ingest = new Counter({ name: 'lifo4_ingest_events_total', help: 'events from the sites through the fleet hub, by kind (record = telemetry record)', labelNames: ['kind'], registers });
    this.storeLatency = new Histogram({
      name: 'lifo4_store_query_duration_seconds', help: 'time-series store queries made by the API', labelNames: ['op'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers,
    });
    this.commands = new Counter({ name: 'lifo4_commands_total', help: 'commands sent through the API by type and final outcome', labelNames: ['type', 'outcome'], registers });
    this.realtimeClients = new Gauge({ name: 'lifo4_realtime_clients', help: 'connected realtime (socket.io) clients', registers });
    new Gauge({
      name: 'lifo4_active_alarms', help: 'open (active or acknowledged) alarms by severity', labelNames: ['severity'], registers,
      async collect() {
        for (const [severity, n] of Object.entries(await src.openAlarms())) this.set({ severity }, n);
      },
    });
    new Gauge({
      name: 'lifo4_sites', help: 'known sites by state (online = connected)', labelNames: ['state'], registers,
      async collect() {
        for (const [state, n] of Object.entries(await src.sitesByState())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'lifo4_store_queue_records', help: 'telemetry records waiting for the store to commit them', registers,
      collect() {
        const q = src.storeQueued();
        if (q !== null) this.set(q);
      },
    });
  }
}
