// The edge's Prometheus metrics (README, "Edge metrics"): io/edge-metrics.ts's interface bound to
// prom-client, in a registry of its own as the cloud's (runtime/api/metrics.ts). The nodes report
// into it through Node-RED's `lifo4` setting; GET /metrics serves it (metrics-route.ts).
//
// Modbus counts are plain numbers per unit, turned into counters when scraped: prom-client's
// labelled inc() hashes its labels on every call, and a request must cost no more than an add.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MODES } from '../../domain/contracts';
import type { BufferGauge, DecisionGauge, EdgeMetrics, ModbusUnitMetrics } from '../../io/edge-metrics';

class UnitCounts implements ModbusUnitMetrics {
  requests = 0;
  readonly errors = new Map<string, number>();
  constructor(readonly connection: string, readonly unit: string) {}
  request(): void {
    this.requests++;
  }
  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}

export class EdgePromMetrics implements EdgeMetrics {
  readonly registry = new Registry();
  private readonly units = new Map<string, UnitCounts>();
  private readonly links = new Map<string, () => boolean>();
  private readonly buffers = new Map<string, () => BufferGauge>();
  private readonly cycle: Histogram;
  private readonly missed: Counter;
  private readonly level: Gauge;
  private readonly mode: Gauge<'mode'>;
  private readonly decided: Gauge;
  private readonly requested: Gauge;
  private readonly written: Gauge;
  private lastCycle: number | null = null;

  constructor(private readonly now: () => number = Date.now) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'lifo4_edge_' });
    this.cycle = new Histogram({
      name: 'lifo4_edge_control_cycle_seconds', help: 'control cycle: battery poll start to PCS setpoint written',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
    this.missed = new Counter({ name: 'lifo4_edge_missed_cycles_total', help: 'polling slots skipped because the poll before overran (any device)', registers });
    const units = this.units;
    new Counter({
      name: 'lifo4_edge_modbus_requests_total', help: 'Modbus requests put on the wire, by connection and unit', labelNames: ['connection', 'unit'], registers,
      collect() {
        this.reset();
        for (const u of units.values()) this.inc({ connection: u.connection, unit: u.unit }, u.requests);
      },
    });
    new Counter({
      name: 'lifo4_edge_modbus_errors_total', help: 'Modbus requests that failed, by connection, unit and transport error code', labelNames: ['connection', 'unit', 'code'], registers,
      collect() {
        this.reset();
        for (const u of units.values()) for (const [code, n] of u.errors) this.inc({ connection: u.connection, unit: u.unit, code }, n);
      },
    });
    const buffers = this.buffers;
    const clock = this.now;
    new Gauge({
      name: 'lifo4_edge_telemetry_buffer_records', help: 'telemetry records buffered, not yet acknowledged by the cloud', labelNames: ['site'], registers,
      collect() {
        this.reset();
        for (const [site, read] of buffers) this.set({ site }, read().depth);
      },
    });
    new Gauge({
      name: 'lifo4_edge_telemetry_oldest_unsent_seconds', help: 'age of the oldest unacknowledged telemetry record (0 when none waits)', labelNames: ['site'], registers,
      collect() {
        this.reset();
        for (const [site, read] of buffers) {
          const oldest = read().oldestTs;
          this.set({ site }, oldest === null ? 0 : Math.max(0, (clock() - oldest) / 1000));
        }
      },
    });
    const links = this.links;
    new Gauge({
      name: 'lifo4_edge_mqtt_connected', help: '1 while the MQTT link to the cloud broker is connected', labelNames: ['link'], registers,
      collect() {
        this.reset();
        for (const [link, connected] of links) this.set({ link }, connected() ? 1 : 0);
      },
    });
    this.level = new Gauge({ name: 'lifo4_edge_arbiter_level', help: 'arbiter level in force (1 SAFETY .. 5 ECONOMIC; 0 idle)', registers });
    this.mode = new Gauge({ name: 'lifo4_edge_safety_mode', help: '1 for the safety envelope mode of the last decision', labelNames: ['mode'], registers });
    this.decided = new Gauge({ name: 'lifo4_edge_decided_setpoint_watts', help: 'the arbiter decision, W (+ = discharge)', registers });
    this.requested = new Gauge({ name: 'lifo4_edge_requested_watts', help: 'what the winning request asked for, W (0 when idle)', registers });
    this.written = new Gauge({ name: 'lifo4_edge_written_setpoint_watts', help: 'the setpoint last written to the PCS, W (+ = discharge)', registers });
  }

  modbusUnit(connection: string, unit: number): ModbusUnitMetrics {
    const key = `${connection}\u0000${unit}`;
    let u = this.units.get(key);
    if (!u) {
      u = new UnitCounts(connection, String(unit));
      this.units.set(key, u);
    }
    return u;
  }

  controlCycle(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.lastCycle = ms;
    this.cycle.observe(ms / 1000);
  }

  missedCycles(n: number): void {
    if (n > 0) this.missed.inc(n);
  }

  decision(d: DecisionGauge): void {
    this.level.set(d.level ?? 0);
    for (const m of MODES) this.mode.set({ mode: m }, m === d.mode ? 1 : 0);
    this.decided.set(d.setpointW);
    this.requested.set(d.requestedW ?? 0);
  }

  setpointWritten(w: number): void {
    this.written.set(w);
  }

  watchMqtt(link: string, connected: () => boolean): () => void {
    return watch(this.links, link, connected);
  }

  watchBuffer(siteId: string, gauge: () => BufferGauge): () => void {
    return watch(this.buffers, siteId, gauge);
  }

  lastCycleMs(): number | null {
    return this.lastCycle;
  }
}

/** Put `read` under `key`; the undo removes it only if a redeploy has not replaced it since. */
function watch<T>(map: Map<string, T>, key: string, read: T): () => void {
  map.set(key, read);
  return () => {
    if (map.get(key) === read) map.delete(key);
  };
}
