// Fleet ingest: N lightweight simulated sites (no Modbus) publish 1 Hz telemetry of realistic size
// (one TelemetryRecord of a household site with 16 cell voltages and temperatures: 1.4 kB of JSON,
// msg_bytes) to the cloud runtime's embedded broker, over C connections, QoS 1. The cloud runs its real default flow in its own
// process: telemetry-in (validation, dedup by site and seq, alarms) -> timeseries-out (SQLite,
// batched) -> ack. A record counts as stored when its TelemetryAck arrives, which the cloud sends
// only after the commit, so p50/p99 are publish -> committed and acknowledged (an upper bound of
// publish -> queryable); msgs_per_s is the acknowledged rate; lost and duplicates are counted in the
// store's file after the cloud has stopped. The floor (bench/fleet-floor-server.ts) is the same
// traffic through the same broker code straight into the same SQLite store by a plain subscriber
// batching every 100 ms and acking the same way, in its own process as the cloud is.
//
// The publishers use the cloud service account: 50 connections carry many sites each, and only the
// cloud account may publish for several sites (a real site has its own connection and account).
//
// Run: npm run bench -- fleet --sites N --seconds S [--connections C] [--only flow|floor]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { TelemetryBatch, TelemetryRecord } from '../domain/contracts';
import { fleetTopics, topics } from '../domain/topics';
import { CLOUD_USERNAME } from '../runtime/broker/acl';
import { loadOrCreateSecrets, secretsPath } from '../runtime/secrets';
import { Lifo4Process, freePorts } from '../test/integration/lifo4-process';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const SITES = arg('sites', 1000);
const SECONDS = arg('seconds', 20);
const CONNECTIONS = Math.min(arg('connections', 50), SITES);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
/** How long after the last publish stragglers may still arrive. */
const SETTLE_MS = 15_000;

const siteIds = Array.from({ length: SITES }, (_, i) => `bench-${String(i).padStart(5, '0')}`);

/** One household site's record as the edge sends it every second: 16 cells, numbers varying per site and second. */
function record(siteId: string, seq: number, ts: number): TelemetryRecord {
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

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function connect(url: string, password: string, clientId: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { username: CLOUD_USERNAME, password, clientId, clean: true, reconnectPeriod: 1000, connectTimeout: 30_000 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

interface RunResult {
  published: number;
  stored: number;
  msgsPerS: number;
  p50: number;
  p99: number;
  lost: number;
  duplicates: number;
}

/**
 * Publishes every site once a second for SECONDS (phases spread over the second), and reports what
 * `stored` says was committed: it is called as (siteId, seq) pairs are known to be stored.
 */
async function drive(url: string, password: string, attach: (onStored: (siteId: string, seqs: Iterable<number>) => void) => Promise<() => Promise<void>>): Promise<RunResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let storedTwice = 0;
  let stored = 0;
  let firstStored = 0;
  let lastStored = 0;
  const storedKeys = new Set<string>();
  const detach = await attach((siteId, seqs) => {
    const now = performance.now();
    for (const seq of seqs) {
      const key = `${siteId}:${seq}`;
      if (storedKeys.has(key)) { storedTwice++; continue; }
      storedKeys.add(key);
      stored++;
      if (!firstStored) firstStored = now;
      lastStored = now;
      const t = sentAt.get(key);
      if (t !== undefined) latencies.push(now - t);
    }
  });
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => connect(url, password, `bench-pub-${process.pid}-${i}`)));
  const start = performance.now();
  const seqs = new Array<number>(SITES).fill(0);
  let published = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      // Every site publishes at 1 Hz, site i at phase i / SITES of the second.
      const due = Math.min(Math.floor((elapsed / 1000) * SITES), SECONDS * SITES);
      for (; next < due; next++) {
        const i = next % SITES;
        const siteId = siteIds[i]!;
        const seq = ++seqs[i]!;
        const batch: TelemetryBatch = { v: 1, siteId, records: [record(siteId, seq, Date.now())] };
        sentAt.set(`${siteId}:${seq}`, performance.now());
        clients[i % CONNECTIONS]!.publish(topics.telemetry(siteId), JSON.stringify(batch), { qos: 1 });
        published++;
      }
      if (next >= SECONDS * SITES) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const until = performance.now() + SETTLE_MS;
  while (stored < published && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
  await Promise.all(clients.map((c) => c.endAsync()));
  await detach();
  latencies.sort((a, b) => a - b);
  const span = (lastStored - firstStored) / 1000;
  return {
    published,
    stored,
    msgsPerS: span > 0 ? Math.round((stored - 1) / span) : 0,
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    lost: published - stored,
    duplicates: storedTwice,
  };
}

/** Counts a record as stored when its TelemetryAck arrives (sent only after the commit). */
function ackListener(url: string, password: string) {
  return async (onStored: (siteId: string, seqs: Iterable<number>) => void): Promise<() => Promise<void>> => {
    const listener = await connect(url, password, `bench-acks-${process.pid}`);
    listener.on('message', (_topic, payload) => {
      const ack = JSON.parse(payload.toString()) as { siteId: string; ranges: [number, number][] };
      for (const [from, to] of ack.ranges) onStored(ack.siteId, Array.from({ length: to - from + 1 }, (_, k) => from + k));
    });
    await listener.subscribeAsync(`${fleetTopics.telemetry}/ack`, { qos: 1 });
    return () => listener.endAsync();
  };
}

/** The full flow: `lifo4 cloud` with its embedded broker and default flow; stored = acknowledged. */
async function flowRun(): Promise<RunResult & { rowsMinusDistinct: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-fleet-'));
  try {
    const secrets = loadOrCreateSecrets(dir);
    const sites = Object.fromEntries(siteIds.map((id) => [id, { mqttPassword: `p-${id}-${'x'.repeat(32)}`, commandKey: `k-${id}-${'x'.repeat(32)}` }]));
    writeFileSync(secretsPath(dir), JSON.stringify({ ...secrets, sites }), { mode: 0o600 });
    const [port] = await freePorts(1);
    const cloud = new Lifo4Process(['cloud', '--data-dir', dir, '--port', String(port), '--mqtt-port', '0', '--log-level', 'error']);
    try {
      await cloud.waitFor(/cloud ready: .*MQTT (mqtt:\/\/\S+)/, 60_000);
      const url = /MQTT (mqtt:\/\/\S+)/.exec(cloud.output)![1]!;
      const result = await drive(url, secrets.mqttCloudPassword, ackListener(url, secrets.mqttCloudPassword));
      // A graceful stop commits what the flow still holds; then the file says what was stored.
      await cloud.stop('SIGTERM');
      const db = new Database(join(dir, 'cloud', 'timeseries.db'), { readonly: true });
      const counted = db.prepare("SELECT count(*) AS n, count(DISTINCT site_id || ':' || seq) AS d FROM telemetry").get() as { n: number; d: number };
      db.close();
      return { ...result, lost: result.published - counted.d, rowsMinusDistinct: counted.n - counted.d };
    } finally {
      await cloud.stop('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor: the same broker code and the same store with a plain subscriber in between, in its own process. */
async function floorRun(): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-floor-'));
  const password = randomBytes(24).toString('base64url');
  const server = spawn(process.execPath, [join(__dirname, 'fleet-floor-server.js'), dir, password], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /floor ready (mqtt:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
    });
    return await drive(url, password, ackListener(url, password));
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const flow = only === 'floor' ? null : await flowRun();
  const floor = only === 'flow' ? null : await floorRun();
  console.log(JSON.stringify({
    bench: 'fleet',
    sites: SITES,
    seconds: SECONDS,
    connections: CONNECTIONS,
    msg_bytes: JSON.stringify({ v: 1, siteId: siteIds[0], records: [record(siteIds[0]!, 1, Date.now())] }).length,
    offered_msgs_per_s: SITES,
    ...(flow ? { msgs_per_s: flow.msgsPerS, p50_ms: flow.p50, p99_ms: flow.p99, published: flow.published, lost: flow.lost, duplicates: flow.duplicates + flow.rowsMinusDistinct } : {}),
    ...(floor ? { floor_msgs_per_s: floor.msgsPerS, floor_p50_ms: floor.p50, floor_p99_ms: floor.p99, floor_lost: floor.lost } : {}),
    ...(flow && floor ? { ratio_vs_floor: Math.round((flow.msgsPerS / floor.msgsPerS) * 1000) / 1000 } : {}),
  }));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
