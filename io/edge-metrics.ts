// What the edge's nodes and its Modbus transport report for the edge's Prometheus metrics
// (README, "Edge metrics"). The floors below the host know only this interface; the edge runtime
// binds it to prom-client (runtime/edge/edge-metrics.ts) and hands it down under Node-RED's
// `lifo4` setting (host-resources.ts). Without a host (a stock Node-RED, a node test) the nodes
// report into NO_METRICS, which keeps nothing.
//
// The hot paths stay cheap: a Modbus request costs one method call on a per-unit object the
// transport looked up once; the buffer and the MQTT link are read only when someone scrapes.

/** The request and error counts of one unit on one Modbus connection. */
export interface ModbusUnitMetrics {
  /** A request went on the wire. */
  request(): void;
  /** A request failed, by the transport's error code (TIMEOUT, EXCEPTION, UNIT_BACKOFF, ...). */
  error(code: string): void;
}

/** What the telemetry buffer holds now. */
export interface BufferGauge {
  /** Records not yet acknowledged by the cloud. */
  depth: number;
  /** The time of the oldest of them, ms epoch; null when there is none. */
  oldestTs: number | null;
}

/** What the arbiter decided, as the metrics keep it. */
export interface DecisionGauge {
  /** The winning level (1 SAFETY .. 5 ECONOMIC), null when idle. */
  level: number | null;
  mode: string;
  setpointW: number;
  /** What the winning request asked for, null when none won. */
  requestedW: number | null;
}

export interface EdgeMetrics {
  /** The counters of `unit` on the connection named `connection` (look it up once, keep it). */
  modbusUnit(connection: string, unit: number): ModbusUnitMetrics;
  /** One control cycle completed: battery poll start to PCS setpoint written, ms. */
  controlCycle(ms: number): void;
  /** A poller skipped `n` slots of its grid because the poll before overran. */
  missedCycles(n: number): void;
  /** The arbiter's latest decision. */
  decision(d: DecisionGauge): void;
  /** The setpoint pcs-setpoint last wrote to the PCS, W. */
  setpointWritten(w: number): void;
  /** Read `connected` at each scrape, under the name `link`; returns the undo. */
  watchMqtt(link: string, connected: () => boolean): () => void;
  /** Read `gauge` at each scrape, for site `siteId`; returns the undo. */
  watchBuffer(siteId: string, gauge: () => BufferGauge): () => void;
  /** The last control cycle time, ms, or null before the first (telemetry-out puts it in the record). */
  lastCycleMs(): number | null;
}

const NO_UNIT: ModbusUnitMetrics = { request: () => undefined, error: () => undefined };

/** Metrics that keep nothing: for nodes run without a lifo4 host. */
export const NO_METRICS: EdgeMetrics = {
  modbusUnit: () => NO_UNIT,
  controlCycle: () => undefined,
  missedCycles: () => undefined,
  decision: () => undefined,
  setpointWritten: () => undefined,
  watchMqtt: () => () => undefined,
  watchBuffer: () => () => undefined,
  lastCycleMs: () => null,
};
