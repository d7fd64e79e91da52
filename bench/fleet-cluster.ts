// `npm run bench -- fleet --cluster`: the fleet bench on a three-node RabbitMQ cluster
// (test/services/rabbitmq-cluster.ts, deploy/cluster/rabbitmq.conf) with one shared InfluxDB,
// first with one `lifo4 cloud --amqp-url` process, then with two reading the same quorum queue:
// the acknowledged rate and p99 of each and the scaling factor (two / one). The simulated sites
// publish over MQTT through all three nodes (connection i starts on node i) and resend what is not
// acknowledged, as the edge does; lost and duplicates are counted in InfluxDB (a database per run).
import { mkdirSync, mkdtempSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetSites, siteId } from './fleet-sites';
import { loadOrCreateSecrets, secretsPath } from '../runtime/secrets';
import { Lifo4Process, freePorts } from '../test/integration/lifo4-process';
import { startInfluxd } from '../test/services/influxdb';
import { startRabbitCluster } from '../test/services/rabbitmq-cluster';

export interface ClusterRun {
  clouds: number;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
  published: number;
  resent: number;
  lost: number;
  duplicates: number;
}

export interface ClusterBenchOptions {
  sites: number;
  seconds: number;
  connections: number;
  resendMs: number;
  settleMs: number;
  percentile: (sorted: number[], p: number) => number;
}

/** Every (site, seq) InfluxDB database `db` holds, with how often. */
async function storedKeys(influxUrl: string, db: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const q = 'SELECT "seq" FROM "telemetry" GROUP BY "siteId"';
  const res = await fetch(`${influxUrl}/query?db=${db}&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { results: { series?: { tags: { siteId: string }; values: [string, number][] }[] }[] };
  for (const s of body.results[0]?.series ?? []) for (const v of s.values) out.set(`${s.tags.siteId}:${v[1]}`, (out.get(`${s.tags.siteId}:${v[1]}`) ?? 0) + 1);
  return out;
}

export async function clusterBench(o: ClusterBenchOptions): Promise<{ one: ClusterRun; two: ClusterRun; scaling: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-cluster-'));
  const [cluster, influx] = await Promise.all([startRabbitCluster({ memoryMb: 512 }), startInfluxd()]);
  try {
    const first = join(dir, 'cloud-1');
    mkdirSync(first);
    const secrets = loadOrCreateSecrets(first);
    const sites = Object.fromEntries(Array.from({ length: o.sites }, (_, i) => siteId(i)).map((id) => [id, { mqttPassword: `p-${id}-${'x'.repeat(32)}`, commandKey: `k-${id}-${'x'.repeat(32)}` }]));
    writeFileSync(secretsPath(first), JSON.stringify({ ...secrets, sites }), { mode: 0o600 });
    const second = join(dir, 'cloud-2');
    mkdirSync(second);
    copyFileSync(secretsPath(first), secretsPath(second));
    await cluster.addUser('cloud', secrets.mqttCloudPassword);
    const amqpUrls = cluster.nodes.map((n) => `amqp://127.0.0.1:${n.amqpPort}`).join(',');
    const mqttUrls = cluster.nodes.map((n) => n.mqttUrl).join(',');

    const run = async (clouds: number): Promise<ClusterRun> => {
      const db = `bench_${clouds}`;
      const ports = await freePorts(clouds);
      const procs = ports.map((port, i) => new Lifo4Process(['cloud', '--data-dir', [first, second][i]!, '--port', String(port), '--amqp-url', amqpUrls, '--mqtt-url', mqttUrls,
        '--timeseries', 'influxdb', '--influx-url', `${influx.url}/${db}`, '--log-level', 'error']));
      try {
        for (const p of procs) await p.waitFor(/cloud ready/, 120_000);
        const fleet = await FleetSites.connect({ url: mqttUrls, password: secrets.mqttCloudPassword, sites: o.sites, connections: o.connections, resendMs: o.resendMs, clientPrefix: `bench-c${clouds}-${process.pid}` });
        await fleet.publishFor(o.seconds * 1000);
        await fleet.settle(o.settleMs);
        await fleet.close();
        for (const p of procs) await p.stop('SIGTERM');
        const stored = await storedKeys(influx.url, db);
        let lost = 0;
        for (const k of fleet.publishedKeys) if (!stored.has(k)) lost++;
        let duplicates = 0;
        for (const n of stored.values()) duplicates += n - 1;
        const latencies = [...fleet.latencies].sort((a, b) => a - b);
        const span = (fleet.lastAckAt - fleet.firstAckAt) / 1000;
        return {
          clouds, msgs_per_s: span > 0 ? Math.round((fleet.ackedKeys.size - 1) / span) : 0,
          p50_ms: Math.round(o.percentile(latencies, 50)), p99_ms: Math.round(o.percentile(latencies, 99)),
          published: fleet.publishedKeys.size, resent: fleet.resent, lost, duplicates,
        };
      } finally {
        for (const p of procs) await p.stop('SIGKILL');
      }
    };
    const one = await run(1);
    const two = await run(2);
    return { one, two, scaling: one.msgs_per_s > 0 ? Math.round((two.msgs_per_s / one.msgs_per_s) * 1000) / 1000 : 0 };
  } finally {
    await cluster.stop();
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
