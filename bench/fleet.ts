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
// The sites are spread over P publisher processes (bench/fleet-publisher.ts, --publishers P, by
// default one per 2,500 sites) sharing the C connections; their results add up to one line.
//
// Run: npm run bench -- fleet --sites N --seconds S [--connections C] [--publishers P] [--only flow|floor]
//      [--parse-workers N|auto]: telemetry-in's parse workers in the cloud's flow (0 = the main thread).
//      [--cpu-prof DIR]: the cloud writes a CPU profile of its main thread to DIR (bench/cpu-profile.ts;
//      read it with node dist/bench/profile-top.js FILE).
//      npm run bench -- fleet --find-max [--from N] [--seconds S]: the largest N each of the flow
//      and the floor holds with p99 < 500 ms, nothing lost and the offered rate acknowledged.
//      npm run bench -- fleet --cluster [--sites N] [--seconds S]: on a three-node RabbitMQ cluster
//      with one and with two `lifo4 cloud --amqp-url` processes and InfluxDB (fleet-cluster.ts).
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { clusterBench } from './fleet-cluster';
import { record, siteId } from './fleet-sites';
import type { PublisherResult, PublisherTask } from './fleet-publisher';
import { addressCloudFlow, defaultFlowPath, flowCredentials, readFlow } from '../runtime/app/flow-files';
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
/** --parse-workers N|auto: telemetry-in's parseWorkers in the cloud's flow (0 = parse on the main thread); the flow's own default when not given. */
const PARSE_WORKERS = process.argv.includes('--parse-workers') ? process.argv[process.argv.indexOf('--parse-workers') + 1] : undefined;
/** --cpu-prof DIR: the cloud process writes a CPU profile of its main thread there (bench/cpu-profile.ts). */
const CPU_PROF_DIR = process.argv.includes('--cpu-prof') ? process.argv[process.argv.indexOf('--cpu-prof') + 1] : undefined;
/** How long after the last publish the sites go on resending what is not acknowledged. */
const SETTLE_MS = 30_000;
/** The edge's ack timeout (telemetry-out's ackTimeoutS default): unacknowledged records are sent again after it. */
const RESEND_MS = 10_000;
/** What a run must hold: publish -> acknowledged p99 under this, ms. */
const P99_TARGET_MS = 500;


function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
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
  /** Publisher processes the sites were spread over. */
  publishers: number;
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

/** Sites per publisher process by default: one process holds about this many with its resends and acks. */
const SITES_PER_PUBLISHER = 2500;

/**
 * Every site publishes once a second for SECONDS and resends what is not acknowledged, as the edge
 * does, spread over `--publishers P` processes (bench/fleet-publisher.ts; by default one per 2,500
 * sites) that connect first and then start together; their shares add up to one result.
 */
async function drive(sites: number, url: string, password: string): Promise<RunResult> {
  const publishers = Math.max(1, Math.min(sites, arg('publishers', Math.ceil(sites / SITES_PER_PUBLISHER))));
  const connections = Math.max(1, Math.ceil(Math.min(CONNECTIONS_ARG, sites) / publishers));
  const children = Array.from({ length: publishers }, (_, p) => {
    const first = Math.floor((p * sites) / publishers);
    const task: PublisherTask = {
      fleet: { url, password, sites: Math.floor(((p + 1) * sites) / publishers) - first, firstSite: first, connections, resendMs: RESEND_MS, clientPrefix: `bench-${process.pid}-${p}` },
      publishMs: SECONDS * 1000, settleMs: SETTLE_MS,
    };
    const child = fork(join(__dirname, 'fleet-publisher.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const messages: { connected?: true; result?: PublisherResult }[] = [];
    const next = (): Promise<{ connected?: true; result?: PublisherResult }> => new Promise((resolve, reject) => {
      const m = messages.shift();
      if (m) return resolve(m);
      const onExit = (code: number | null): void => reject(new Error(`fleet publisher ${p} exited (${code})`));
      child.once('exit', onExit);
      child.once('message', () => {
        child.off('exit', onExit);
        resolve(messages.shift()!);
      });
    });
    child.on('message', (m: { connected?: true; result?: PublisherResult }) => messages.push(m));
    child.send({ task });
    return { child, next };
  });
  try {
    for (const c of children) await c.next();
    for (const c of children) c.child.send({ go: true });
    const results: PublisherResult[] = [];
    for (const c of children) results.push((await c.next()).result!);
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const ackedKeys = new Set(results.flatMap((r) => r.ackedKeys));
    const firstAckAt = Math.min(...results.map((r) => r.firstAckAt).filter((t) => t > 0));
    const lastAckAt = Math.max(...results.map((r) => r.lastAckAt));
    const span = (lastAckAt - firstAckAt) / 1000;
    return {
      published: results.reduce((n, r) => n + r.publishedKeys.length, 0),
      acked: ackedKeys.size,
      resent: results.reduce((n, r) => n + r.resent, 0),
      msgsPerS: span > 0 ? Math.round((ackedKeys.size - 1) / span) : 0,
      p50: Math.round(percentile(latencies, 50)),
      p99: Math.round(percentile(latencies, 99)),
      ackedKeys,
      publishedKeys: new Set(results.flatMap((r) => r.publishedKeys)),
      publishers,
    };
  } finally {
    for (const c of children) c.child.kill('SIGKILL');
  }
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
  publishers: number;
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
    ...stored, cpu_pct: proc.cpuPct, rss_mb: proc.rssMb, publishers: run.publishers,
  };
}

/** The cloud's default flow as its first start writes it (runtime/app/flow-files.ts), with telemetry-in's parseWorkers set. */
function writeCloudFlow(userDir: string, parseWorkers: string): void {
  const flow = addressCloudFlow(readFlow(defaultFlowPath('cloud'), 'default cloud flow'), {})
    .map((n) => (n.type === 'telemetry-in' ? { ...n, parseWorkers: parseWorkers === 'auto' ? 'auto' : Number(parseWorkers) } : n));
  mkdirSync(userDir, { recursive: true });
  writeFileSync(join(userDir, 'flows_cred.json'), JSON.stringify(flowCredentials(flow)), { mode: 0o600 });
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow));
}

/** The full flow: `lifo4 cloud` with its embedded broker and default flow; stored = acknowledged. */
async function flowRun(sites: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-fleet-'));
  try {
    const secrets = loadOrCreateSecrets(dir);
    const siteSecrets = Object.fromEntries(Array.from({ length: sites }, (_, i) => siteId(i)).map((id) => [id, { mqttPassword: `p-${id}-${'x'.repeat(32)}`, commandKey: `k-${id}-${'x'.repeat(32)}` }]));
    writeFileSync(secretsPath(dir), JSON.stringify({ ...secrets, sites: siteSecrets }), { mode: 0o600 });
    if (PARSE_WORKERS !== undefined) writeCloudFlow(join(dir, 'cloud'), PARSE_WORKERS);
    const [port] = await freePorts(1);
    const cloud = new Lifo4Process(['cloud', '--data-dir', dir, '--port', String(port), '--mqtt-port', '0', '--log-level', 'error'],
      CPU_PROF_DIR ? { NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile.js')}`, LIFO4_CPU_PROF_DIR: CPU_PROF_DIR } : {});
    try {
      await cloud.waitFor(/cloud ready: .*MQTT (mqtt:\/\/\S+)/, 60_000);
      const url = /MQTT (mqtt:\/\/\S+)/.exec(cloud.output)![1]!;
      const proc = sampleProcess(cloud.proc.pid!);
      const health = pollLatency(`http://127.0.0.1:${port}/api/v1/health`);
      const run = await drive(sites, url, secrets.mqttCloudPassword);
      const healthP99 = await health();
      const sample = proc();
      // A cloud that died during the run explains the figures: say so, with its last words.
      if (cloud.exit) console.error(`the cloud exited during the run (${JSON.stringify(cloud.exit)}):\n${cloud.output.slice(-4000)}`);
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
    bench: 'fleet', seconds: SECONDS, connections: CONNECTIONS_ARG, parse_workers: PARSE_WORKERS ?? 'flow default',
    msg_bytes: JSON.stringify({ v: 1, siteId: siteId(0), records: [record(siteId(0), 1, Date.now())] }).length,
    load_avg_1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  };
  if (process.argv.includes('--cluster')) {
    const r = await clusterBench({ sites, seconds: SECONDS, connections: Math.min(CONNECTIONS_ARG, sites), resendMs: RESEND_MS, settleMs: SETTLE_MS, percentile });
    const { clouds: _one, ...one } = r.one;
    const { clouds: _two, ...two } = r.two;
    console.log(JSON.stringify({
      ...base, cluster: true, sites, offered_msgs_per_s: sites, ...prefixed('one_cloud_', one as unknown as Outcome), ...prefixed('two_clouds_', two as unknown as Outcome), scaling_factor: r.scaling,
    }));
    return;
  }
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
