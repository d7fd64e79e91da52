// Fleet ingest: N lightweight simulated sites (no Modbus) publish 1 Hz telemetry of realistic size
// (one TelemetryRecord of a household site with 16 cell voltages and temperatures: 1.4 kB of JSON,
// msg_bytes) to the cloud runtime's embedded broker, over C connections, QoS 1. The cloud runs its
// real default flow in its own process: telemetry-in (validation, dedup by site and seq, alarms,
// batches) -> timeseries-out (SQLite, batched) -> coalesced range acks. Like the edge, each site
// keeps what is not acknowledged and sends it again after the edge's ack timeout (RESEND_MS), so
// an overloaded cloud may only shed load by not acknowledging. A record counts as stored when its
// TelemetryAck arrives (sent only after the commit): p50/p99 are first publish -> committed and
// acknowledged; msgs_per_s is the acknowledged rate; lost (published, never in the store),
// acked_not_stored (acknowledged but not in the store: must be 0 whatever the load) and duplicates
// (rows beyond one per site and seq) are counted in the store's file after the cloud has stopped.
// cloud_cpu_pct (100 = one core) and cloud_rss_mb (peak) are sampled from /proc during the run, and
// health_p99_ms times GET /api/v1/health, asked one after the other throughout the run.
// The floor (bench/fleet-floor-server.ts) is the same traffic through the same broker code straight
// into the same SQLite store by a plain subscriber that commits batches and sends the same
// coalesced acks, in its own process as the cloud is.
//
// The publishers use the cloud service account: 50 connections carry many sites each, and only the
// cloud account may publish for several sites (a real site has its own connection and account).
//
// Run: npm run bench -- fleet --sites N --seconds S [--connections C] [--only flow|floor]
//      npm run bench -- fleet --find-max [--from N] [--seconds S]: the largest N each of the flow
//      and the floor holds with p99 < 500 ms, nothing lost and the offered rate acknowledged.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { TelemetryAck, TelemetryRecord } from '../domain/contracts';
import { fleetTopics, topics } from '../domain/topics';
import { CLOUD_USERNAME } from '../runtime/broker/acl';
import { loadOrCreateSecrets, secretsPath } from '../runtime/secrets';
import { Lifo4Process, freePorts } from '../test/integration/lifo4-process';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const SECONDS = arg('seconds', 20);
const CONNECTIONS_ARG = arg('connections', 50);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const FIND_MAX = process.argv.includes('--find-max');
/** How long after the last publish the sites go on resending what is not acknowledged. */
const SETTLE_MS = 30_000;
/** The edge's ack timeout (telemetry-out's ackTimeoutS default): unacknowledged records are sent again after it. */
const RESEND_MS = 10_000;
/** Most records in one resent batch (well inside the 256 KiB message limit at 1.4 kB each). */
const RESEND_BATCH = 100;
/** What a run must hold: publish -> acknowledged p99 under this, ms. */
const P99_TARGET_MS = 500;

const siteId = (i: number): string => `bench-${String(i).padStart(5, '0')}`;

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
  acked: number;
  resent: number;
  msgsPerS: number;
  p50: number;
  p99: number;
  /** (siteId, seq) acknowledged: checked against the store's file. */
  ackedKeys: Set<string>;
  publishedKeys: Set<string>;
}

interface ProcessSample {
  cpuPct: number;
  rssMb: number;
}

/** CPU (100 = one core, averaged over the run) and peak resident memory of a process, from /proc. */
function sampleProcess(pid: number): () => ProcessSample {
  const ticksPerS = 100; // USER_HZ on Linux
  const cpuTicks = (): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  };
  const rssMb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const t0 = performance.now();
  const c0 = cpuTicks();
  let peak = rssMb();
  const timer = setInterval(() => { try { peak = Math.max(peak, rssMb()); } catch { /* exited */ } }, 500);
  return () => {
    clearInterval(timer);
    let cpuPct = NaN;
    try { cpuPct = ((cpuTicks() - c0) / ticksPerS) / ((performance.now() - t0) / 1000) * 100; } catch { /* exited */ }
    return { cpuPct: Math.round(cpuPct), rssMb: Math.round(peak) };
  };
}

/** GET url one request after the other until stopped: the p99 of their durations, ms. */
function pollLatency(url: string): () => Promise<number> {
  const took: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      try {
        const r = await fetch(url);
        await r.arrayBuffer();
        if (r.ok) took.push(performance.now() - t);
      } catch { /* counted as missing */ }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    took.sort((a, b) => a - b);
    return Math.round(percentile(took, 99));
  };
}

interface Pending {
  seq: number;
  json: string;
  firstAt: number;
  lastAt: number;
}

/**
 * Publishes every site once a second for SECONDS (phases spread over the second); like the edge,
 * each site keeps its unacknowledged records and sends them again after RESEND_MS, during the run
 * and for up to SETTLE_MS after it.
 */
async function drive(sites: number, url: string, password: string): Promise<RunResult> {
  const connections = Math.min(CONNECTIONS_ARG, sites);
  const ids = Array.from({ length: sites }, (_, i) => siteId(i));
  const index = new Map(ids.map((id, i) => [id, i]));
  const pending = Array.from({ length: sites }, () => new Map<number, Pending>());
  const latencies: number[] = [];
  const ackedKeys = new Set<string>();
  const publishedKeys = new Set<string>();
  let firstAck = 0;
  let lastAck = 0;
  const listener = await connect(url, password, `bench-acks-${process.pid}`);
  listener.on('message', (_topic, payload) => {
    const now = performance.now();
    const ack = JSON.parse(payload.toString()) as TelemetryAck;
    const i = index.get(ack.siteId);
    if (i === undefined) return;
    for (const [from, to] of ack.ranges) {
      for (let seq = from; seq <= to; seq++) {
        const p = pending[i]!.get(seq);
        if (!p) continue; // acknowledged again (a resend of a stored record)
        pending[i]!.delete(seq);
        ackedKeys.add(`${ack.siteId}:${seq}`);
        latencies.push(now - p.firstAt);
        firstAck ||= now;
        lastAck = now;
      }
    }
  });
  await listener.subscribeAsync(`${fleetTopics.telemetry}/ack`, { qos: 1 });
  const clients = await Promise.all(Array.from({ length: connections }, (_, i) => connect(url, password, `bench-pub-${process.pid}-${i}`)));
  const publish = (i: number, jsons: string[]): void => {
    clients[i % connections]!.publish(topics.telemetry(ids[i]!), `{"v":1,"siteId":${JSON.stringify(ids[i])},"records":[${jsons.join(',')}]}`, { qos: 1 });
  };
  let resent = 0;
  const resendTimer = setInterval(() => {
    const now = performance.now();
    for (let i = 0; i < sites; i++) {
      const due = [...pending[i]!.values()].filter((p) => now - p.lastAt >= RESEND_MS).slice(0, RESEND_BATCH);
      if (!due.length) continue;
      for (const p of due) p.lastAt = now;
      resent += due.length;
      publish(i, due.map((p) => p.json));
    }
  }, 500);
  const start = performance.now();
  const seqs = new Array<number>(sites).fill(0);
  let published = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      // Every site publishes at 1 Hz, site i at phase i / sites of the second.
      const due = Math.min(Math.floor((elapsed / 1000) * sites), SECONDS * sites);
      for (; next < due; next++) {
        const i = next % sites;
        const seq = ++seqs[i]!;
        const json = JSON.stringify(record(ids[i]!, seq, Date.now()));
        const now = performance.now();
        pending[i]!.set(seq, { seq, json, firstAt: now, lastAt: now });
        publishedKeys.add(`${ids[i]}:${seq}`);
        publish(i, [json]);
        published++;
      }
      if (next >= SECONDS * sites) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const until = performance.now() + SETTLE_MS;
  while (ackedKeys.size < published && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
  clearInterval(resendTimer);
  await Promise.all(clients.map((c) => c.endAsync()));
  await listener.endAsync();
  latencies.sort((a, b) => a - b);
  const span = (lastAck - firstAck) / 1000;
  return {
    published,
    acked: ackedKeys.size,
    resent,
    msgsPerS: span > 0 ? Math.round((ackedKeys.size - 1) / span) : 0,
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    ackedKeys,
    publishedKeys,
  };
}

interface Outcome {
  sites: number;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  published: number;
  resent: number;
  lost: number;
  acked_not_stored: number;
  duplicates: number;
  cpu_pct: number;
  rss_mb: number;
  health_p99_ms?: number;
}

/** What the store's file says about a run: lost, acknowledged-but-not-stored, duplicates. */
function countStored(file: string, run: RunResult): Pick<Outcome, 'lost' | 'acked_not_stored' | 'duplicates'> {
  const db = new Database(file, { readonly: true });
  try {
    const stored = new Set<string>();
    let rows = 0;
    for (const r of db.prepare('SELECT site_id AS s, seq FROM telemetry').iterate() as Iterable<{ s: string; seq: number }>) {
      rows++;
      stored.add(`${r.s}:${r.seq}`);
    }
    let lost = 0;
    for (const k of run.publishedKeys) if (!stored.has(k)) lost++;
    let ackedNotStored = 0;
    for (const k of run.ackedKeys) if (!stored.has(k)) ackedNotStored++;
    return { lost, acked_not_stored: ackedNotStored, duplicates: rows - stored.size };
  } finally {
    db.close();
  }
}

function outcome(sites: number, run: RunResult, stored: Pick<Outcome, 'lost' | 'acked_not_stored' | 'duplicates'>, proc: ProcessSample): Outcome {
  return {
    sites, msgs_per_s: run.msgsPerS, p50_ms: run.p50, p99_ms: run.p99, published: run.published, resent: run.resent,
    ...stored, cpu_pct: proc.cpuPct, rss_mb: proc.rssMb,
  };
}

/** The full flow: `lifo4 cloud` with its embedded broker and default flow; stored = acknowledged. */
async function flowRun(sites: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-fleet-'));
  try {
    const secrets = loadOrCreateSecrets(dir);
    const siteSecrets = Object.fromEntries(Array.from({ length: sites }, (_, i) => siteId(i)).map((id) => [id, { mqttPassword: `p-${id}-${'x'.repeat(32)}`, commandKey: `k-${id}-${'x'.repeat(32)}` }]));
    writeFileSync(secretsPath(dir), JSON.stringify({ ...secrets, sites: siteSecrets }), { mode: 0o600 });
    const [port] = await freePorts(1);
    const cloud = new Lifo4Process(['cloud', '--data-dir', dir, '--port', String(port), '--mqtt-port', '0', '--log-level', 'error']);
    try {
      await cloud.waitFor(/cloud ready: .*MQTT (mqtt:\/\/\S+)/, 60_000);
      const url = /MQTT (mqtt:\/\/\S+)/.exec(cloud.output)![1]!;
      const proc = sampleProcess(cloud.proc.pid!);
      const health = pollLatency(`http://127.0.0.1:${port}/api/v1/health`);
      const run = await drive(sites, url, secrets.mqttCloudPassword);
      const healthP99 = await health();
      const sample = proc();
      // A graceful stop commits what the flow still holds; then the file says what was stored.
      await cloud.stop('SIGTERM');
      return { ...outcome(sites, run, countStored(join(dir, 'cloud', 'timeseries.db'), run), sample), health_p99_ms: healthP99 };
    } finally {
      await cloud.stop('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor: the same broker code and the same store with a plain subscriber in between, in its own process. */
async function floorRun(sites: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-floor-'));
  const password = randomBytes(24).toString('base64url');
  const server = spawn(process.execPath, [join(__dirname, 'fleet-floor-server.js'), dir, password], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => server.once('exit', r));
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
    const proc = sampleProcess(server.pid!);
    const run = await drive(sites, url, password);
    const sample = proc();
    server.kill('SIGTERM');
    await exited;
    return outcome(sites, run, countStored(join(dir, 'timeseries.db'), run), sample);
  } finally {
    server.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A run holds its N when p99 is under target, nothing is lost, and the offered rate is acknowledged. */
const holds = (o: Outcome): boolean => o.p99_ms < P99_TARGET_MS && o.lost === 0 && o.acked_not_stored === 0 && o.duplicates === 0 && o.msgs_per_s >= 0.99 * o.sites;

/** Grows N by half until a run fails, then halves the interval until it is within 10 %. */
async function findMax(run: (sites: number) => Promise<Outcome>, from: number): Promise<{ max: number; runs: Outcome[] }> {
  const runs: Outcome[] = [];
  const tryN = async (n: number): Promise<boolean> => {
    const o = await run(n);
    runs.push(o);
    console.error(JSON.stringify({ find_max: o }));
    return holds(o);
  };
  let good = 0;
  let bad = 0;
  for (let n = from; ; n = Math.round(n * 1.5)) {
    if (await tryN(n)) good = n;
    else { bad = n; break; }
    if (n >= 40_000) return { max: good, runs };
  }
  while (bad - good > Math.max(100, good * 0.1)) {
    const mid = Math.round((good + bad) / 2);
    if (await tryN(mid)) good = mid;
    else bad = mid;
  }
  return { max: good, runs };
}

const prefixed = (prefix: string, o: Outcome): Record<string, number> =>
  Object.fromEntries(Object.entries(o).filter(([k, v]) => k !== 'sites' && v !== undefined).map(([k, v]) => [`${prefix}${k}`, v as number]));

async function main(): Promise<void> {
  const sites = arg('sites', 1000);
  const base = {
    bench: 'fleet', seconds: SECONDS, connections: CONNECTIONS_ARG,
    msg_bytes: JSON.stringify({ v: 1, siteId: siteId(0), records: [record(siteId(0), 1, Date.now())] }).length,
    load_avg_1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  };
  if (FIND_MAX) {
    const from = arg('from', 2000);
    const flow = only === 'floor' ? null : await findMax(flowRun, from);
    const floor = only === 'flow' ? null : await findMax(floorRun, from);
    console.log(JSON.stringify({
      ...base, find_max: true, p99_target_ms: P99_TARGET_MS,
      ...(flow ? { flow_max_sites: flow.max } : {}),
      ...(floor ? { floor_max_sites: floor.max } : {}),
      ...(flow && floor ? { max_ratio_vs_floor: Math.round((flow.max / floor.max) * 1000) / 1000 } : {}),
    }));
    return;
  }
  const flow = only === 'floor' ? null : await flowRun(sites);
  const floor = only === 'flow' ? null : await floorRun(sites);
  console.log(JSON.stringify({
    ...base, sites, offered_msgs_per_s: sites,
    ...(flow ? { ...prefixed('', { ...flow, cpu_pct: undefined, rss_mb: undefined } as unknown as Outcome), cloud_cpu_pct: flow.cpu_pct, cloud_rss_mb: flow.rss_mb } : {}),
    ...(floor ? prefixed('floor_', floor) : {}),
    ...(flow && floor ? { ratio_vs_floor: Math.round((flow.msgs_per_s / floor.msgs_per_s) * 1000) / 1000 } : {}),
  }));
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
