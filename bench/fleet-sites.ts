// The simulated sites of the fleet bench and the fleet fault test: N sites, each publishing one
// TelemetryRecord a second over a few shared connections (the cloud service account: only it may
// publish for several sites), keeping what is not acknowledged and sending it again after
// resendMs, as the edge's telemetry-out does. Acks arrive on lifo4/+/telemetry/ack; a record
// counts as acknowledged once, with its latency from its first publish.
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { TelemetryAck, TelemetryRecord } from '../domain/contracts';
import { fleetTopics, topics } from '../domain/topics';
import { CLOUD_USERNAME } from '../runtime/broker/acl';

/** Most records in one resent batch (well inside the 256 KiB message limit at 1.4 kB each). */
const RESEND_BATCH = 100;

export const siteId = (i: number): string => `bench-${String(i).padStart(5, '0')}`;

/** One household site's record as the edge sends it every second: 16 cells, numbers varying per site and second. */
export function record(siteId: string, seq: number, ts: number): TelemetryRecord {
  const k = (seq * 7919 + siteId.length * 31) % 1000;
  const soc = 20 + (k % 600) / 10;
  const power = ((k % 200) - 100) * 30;
  const cells = Array.from({ length: 16 }, (_, c) => Math.round((3.3 + ((k + c * 13) % 40) / 1000) * 1000) / 1000);
  const temps = Array.from({ length: 16 }, (_, c) => 24 + ((k + c) % 20) / 10);
  return {
    siteId, seq, ts,
    telemetry: {
      siteId, ts,
      battery: {
        ts, soc, soh: 98.7, voltage: 52.8, current: Math.round((power / 52.8) * 10) / 10, power, capacityWh: 10_240, energyAvailableWh: Math.round(soc * 102.4),
        cellVmax: Math.max(...cells), cellVmin: Math.min(...cells), cellVavg: 3.32, cellVoltages: cells, tempMax: Math.max(...temps), tempMin: Math.min(...temps),
        cellTemps: temps, chargeCurrentMax: 200, dischargeCurrentMax: 200, chargePowerMax: 10_000, dischargePowerMax: 10_000, cycles: 311, state: 'CONNECTED', alarms: [],
      },
      pcs: { ts, power, reactivePower: 0, frequency: 50.01, voltage: 230.4, state: 'RUNNING', gridConnected: true, setpointEnabled: true, setpoint: power, revertTimeS: 5, revertRemainingS: 4, ratedPowerW: 5000, maxChargeW: 5000, maxDischargeW: 5000, energyInjectedWh: null, energyAbsorbedWh: null, alarms: [] },
      meter: { ts, power: 800 - power, voltage: 230.1, frequency: 50.01, energyImportWh: null, energyExportWh: null, alarms: [] },
    },
    decision: { setpointW: power, requestedW: power, level: 5, source: 'arbitrage', requestId: null, mode: 'NORMAL', reason: 'ECONOMIC arbitrage asks for it' },
    envelope: { mode: 'NORMAL', maxChargeW: 5000, maxDischargeW: 5000 },
  };
}

export interface FleetSitesOptions {
  /** One broker, or the MQTT listeners of a cluster as a comma list: connection i starts on node i and fails over to the next. */
  url: string;
  password: string;
  sites: number;
  connections: number;
  /** Unacknowledged records are sent again after this long, ms (the edge's ack timeout). */
  resendMs: number;
  /** Client ids are <clientPrefix>-pub-<i> and <clientPrefix>-acks. */
  clientPrefix: string;
  /** These sites are siteId(firstSite) .. siteId(firstSite + sites - 1) (several publisher processes share a fleet); 0 by default. */
  firstSite?: number;
}

interface Pending {
  json: string;
  firstAt: number;
  lastAt: number;
}

function connect(url: string, password: string, clientId: string, start = 0): Promise<MqttClient> {
  const list = url.split(',').map((u) => new URL(u.trim()));
  const rotated = [...list.slice(start % list.length), ...list.slice(0, start % list.length)];
  const servers = list.length > 1 ? { servers: rotated.map((u) => ({ host: u.hostname, port: Number(u.port), protocol: 'mqtt' as const })) } : {};
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(rotated[0]!.toString(), { username: CLOUD_USERNAME, password, clientId, clean: true, reconnectPeriod: 500, connectTimeout: 30_000, ...servers });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

export class FleetSites {
  readonly publishedKeys = new Set<string>();
  readonly ackedKeys = new Set<string>();
  /** Per acknowledged record: first publish -> ack, ms. */
  readonly latencies: number[] = [];
  resent = 0;
  firstAckAt = 0;
  lastAckAt = 0;
  private readonly ids: string[];
  private readonly index: Map<string, number>;
  private readonly pending: Map<number, Pending>[];
  private readonly seqs: number[];
  private readonly resendTimer: NodeJS.Timeout;

  private constructor(private readonly opts: FleetSitesOptions, private readonly clients: MqttClient[], private readonly listener: MqttClient) {
    this.ids = Array.from({ length: opts.sites }, (_, i) => siteId((opts.firstSite ?? 0) + i));
    this.index = new Map(this.ids.map((id, i) => [id, i]));
    this.pending = this.ids.map(() => new Map());
    this.seqs = this.ids.map(() => 0);
    listener.on('message', (_topic, payload) => this.onAck(JSON.parse(payload.toString()) as TelemetryAck));
    this.resendTimer = setInterval(() => this.resend(), Math.min(500, opts.resendMs / 4));
  }

  static async connect(opts: FleetSitesOptions): Promise<FleetSites> {
    const listener = await connect(opts.url, opts.password, `${opts.clientPrefix}-acks`);
    // On a cluster at QoS 0, as the edge does (nodes/mqtt-link/link.ts subscribeQos), made again on
    // every reconnect: the node holding the subscription may be the one that died.
    const cluster = opts.url.includes(',');
    const subscribe = (): void => void listener.subscribeAsync(`${fleetTopics.telemetry}/ack`, { qos: cluster ? 0 : 1 }).catch(() => undefined);
    await listener.subscribeAsync(`${fleetTopics.telemetry}/ack`, { qos: cluster ? 0 : 1 });
    if (cluster) listener.on('connect', subscribe);
    const clients = await Promise.all(Array.from({ length: opts.connections }, (_, i) => connect(opts.url, opts.password, `${opts.clientPrefix}-pub-${i}`, i)));
    return new FleetSites(opts, clients, listener);
  }

  /** Records published and not acknowledged yet, over all sites. */
  get unacked(): number {
    return this.publishedKeys.size - this.ackedKeys.size;
  }

  /** Every site publishes its next record once a second for `ms` (site i at phase i / N of the second). */
  async publishFor(ms: number): Promise<void> {
    const n = this.opts.sites;
    const total = Math.floor((ms / 1000) * n);
    const start = performance.now();
    let next = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(Math.floor(((performance.now() - start) / 1000) * n), total);
        for (; next < due; next++) this.publishNext(next % n);
        if (next >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
  }

  /** Waits until every record is acknowledged (resending as needed) or `ms` have passed. */
  async settle(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (this.unacked > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
  }

  async close(): Promise<void> {
    clearInterval(this.resendTimer);
    await Promise.all([...this.clients, this.listener].map((c) => c.endAsync(true)));
  }

  private publishNext(i: number): void {
    const id = this.ids[i]!;
    const seq = ++this.seqs[i]!;
    const json = JSON.stringify(record(id, seq, Date.now()));
    const now = performance.now();
    this.pending[i]!.set(seq, { json, firstAt: now, lastAt: now });
    this.publishedKeys.add(`${id}:${seq}`);
    this.publish(i, [json]);
  }

  private publish(i: number, jsons: string[]): void {
    const id = this.ids[i]!;
    this.clients[i % this.clients.length]!.publish(topics.telemetry(id), `{"v":1,"siteId":${JSON.stringify(id)},"records":[${jsons.join(',')}]}`, { qos: 1 });
  }

  private onAck(ack: TelemetryAck): void {
    const i = this.index.get(ack.siteId);
    if (i === undefined) return;
    const now = performance.now();
    for (const [from, to] of ack.ranges) {
      for (let seq = from; seq <= to; seq++) {
        const p = this.pending[i]!.get(seq);
        if (!p) continue; // acknowledged again: a resend of a stored record
        this.pending[i]!.delete(seq);
        this.ackedKeys.add(`${ack.siteId}:${seq}`);
        this.latencies.push(now - p.firstAt);
        this.firstAckAt ||= now;
        this.lastAckAt = now;
      }
    }
  }

  private resend(): void {
    const now = performance.now();
    for (let i = 0; i < this.opts.sites; i++) {
      if (!this.pending[i]!.size) continue;
      const due = [...this.pending[i]!.values()].filter((p) => now - p.lastAt >= this.opts.resendMs).slice(0, RESEND_BATCH);
      if (!due.length) continue;
      for (const p of due) p.lastAt = now;
      this.resent += due.length;
      this.publish(i, due.map((p) => p.json));
    }
  }
}
