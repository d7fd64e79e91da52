// Scale-out on a RabbitMQ cluster as deployed (README, "Scale-out on a RabbitMQ cluster"): three
// broker nodes, one shared InfluxDB, two `lifo4 cloud --amqp-url` processes consuming one quorum
// queue as competing consumers, 20 sites publishing through different nodes like the edge does
// (seqs, resend until acked) and one real edge with its simulator. Mid-stream one broker node is
// killed (kill -9), later one cloud process (SIGKILL): every record is still stored exactly once,
// and a command sent through either cloud reaches the edge and is acknowledged as executed. The
// edge's account is checked by a cloud through RabbitMQ's HTTP auth backend (--broker-auth on).
// Both clouds keep their state in one PostgreSQL (--database-url): a user added once signs in
// through either; both APIs list every site with its latest telemetry; a site alarm that both
// clouds hear is raised once; and the kill -9 of the cloud holding the leases (alarm rules, OTA
// roll-outs, ML) moves them to the other within seconds.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { FleetSites } from '../../bench/fleet-sites';
import { CLOUD_USERNAME } from '../../domain/contracts';
import { loadOrCreateSecrets, secretsPath, siteSecrets } from '../../runtime/secrets';
import { influxdAvailable, startInfluxd, type RunningInfluxd } from '../services/influxdb';
import { postgresAvailable, startPostgres, type RunningPostgres } from '../services/postgres';
import { rabbitmqAvailable, startRabbitCluster, type RunningRabbitCluster } from '../services/rabbitmq-cluster';
import { requireService, sleep } from '../services/service';
import { Lifo4Process, eventually, freePorts, runCliAsync } from './lifo4-process';

const EDGE_SITE = 'edge-1';
/** A bench site that says goodbye mid-stream (its state message). */
const PROBE_SITE = 'bench-00003';
const SITES = 20;
const OPERATOR = { email: 'op@cluster.test', password: 'operator-pass-1234' };

/** Per site: how many telemetry points InfluxDB holds and their distinct seqs. */
async function storedSeqs(influxUrl: string): Promise<Map<string, number[]>> {
  const q = 'SELECT "seq" FROM "telemetry" GROUP BY "siteId"';
  const res = await fetch(`${influxUrl}/query?db=lifo4&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { results: { series?: { tags: { siteId: string }; columns: string[]; values: [string, number][] }[] }[] };
  const out = new Map<string, number[]>();
  for (const s of body.results[0]?.series ?? []) out.set(s.tags.siteId, s.values.map((v) => v[1]));
  return out;
}

/** Which process holds each lease (advisory locks of runtime/cloud-db/lease.ts, whose sessions are named 'lifo4 lease <name> <pid>'). */
async function leaseHolders(db: pg.Pool): Promise<{ lease: string; pid: number }[]> {
  const r = await db.query<{ app: string }>(`SELECT a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'lifo4 lease %'`);
  return r.rows
    .map(({ app }) => /^lifo4 lease (\S+) (\d+)$/.exec(app))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ lease: m[1] as string, pid: Number(m[2]) }))
    .sort((x, y) => x.lease.localeCompare(y.lease));
}

describe('two cloud processes on a three-node RabbitMQ cluster, losing a broker node and a cloud process', function () {
  this.timeout(420_000);
  let dir: string | undefined;
  let cluster: RunningRabbitCluster | undefined;
  let influx: RunningInfluxd | undefined;
  let postgres: RunningPostgres | undefined;
  let db: pg.Pool | undefined;
  const procs: Lifo4Process[] = [];

  before(function () {
    requireService(this, 'rabbitmq-server', rabbitmqAvailable(), 'apt-get install rabbitmq-server');
    requireService(this, 'influxd', influxdAvailable(), 'apt-get install influxdb');
    requireService(this, 'PostgreSQL 15', postgresAvailable(), 'apt-get install postgresql');
  });

  after(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await cluster?.stop();
    await influx?.stop();
    await db?.end();
    await postgres?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores every record exactly once and carries commands through either cloud', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-rabbit-scale-'));
    const [p1, p2, edgePort, modbusPort, controlPort] = await freePorts(5);
    // Site accounts come from cloud 2 (the one that stays up) through the HTTP auth backend.
    [cluster, influx, postgres] = await Promise.all([startRabbitCluster({ brokerAuthUrl: `http://127.0.0.1:${p2}/broker-auth` }), startInfluxd(), startPostgres()]);
    const databaseUrl = await postgres.createDatabase();
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    db.on('error', () => undefined);
    const c = cluster;
    // One installation's secrets, copied to both clouds and (for its own site) the edge.
    const cloudDirs = [join(dir, 'cloud-1'), join(dir, 'cloud-2')];
    const edgeDir = join(dir, 'edge');
    for (const d of [...cloudDirs, edgeDir]) mkdirSync(d);
    const secrets = loadOrCreateSecrets(cloudDirs[0]!);
    const edgeSecrets = siteSecrets(cloudDirs[0]!, EDGE_SITE);
    for (const d of [cloudDirs[1]!, edgeDir]) copyFileSync(secretsPath(cloudDirs[0]!), secretsPath(d));
    // The cloud's AMQP account lives in the cluster (README); the sites' accounts in the cloud.
    await c.addUser('cloud', secrets.mqttCloudPassword);

    const amqpUrls = c.nodes.map((n) => `amqp://127.0.0.1:${n.amqpPort}`).join(',');
    const mqttUrls = c.nodes.map((n) => n.mqttUrl).join(',');
    const apis = [p1, p2].map((p) => `http://127.0.0.1:${p}/api/v1`);
    const clouds = cloudDirs.map((d, i) => new Lifo4Process(['cloud', '--data-dir', d, '--port', String([p1, p2][i]), '--amqp-url', amqpUrls, '--mqtt-url', mqttUrls,
      '--timeseries', 'influxdb', '--influx-url', `${influx!.url}/lifo4`, '--broker-auth', 'on', '--log-level', 'warn', '--database-url', databaseUrl]));
    procs.push(...clouds);
    // Cloud 1 first: it holds the leases from its start.
    for (const cloud of clouds) await cloud.waitFor(/cloud ready/, 120_000);
    // One user, added once to the shared database, signs in through either cloud.
    const added = await runCliAsync(['user', 'add', '--email', OPERATOR.email, '--role', 'OPERATOR', '--password', OPERATOR.password, '--data-dir', cloudDirs[0]!, '--database-url', databaseUrl]);
    assert.equal(added.code, 0, added.stderr);
    const tokens: string[] = [];
    for (const i of [0, 1]) {
      const login = await fetch(`${apis[i]}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(OPERATOR) });
      assert.equal(login.status, 200);
      tokens.push(((await login.json()) as { accessToken: string }).accessToken);
    }

    const sim = new Lifo4Process(['sim', '--modbus-port', String(modbusPort), '--control-port', String(controlPort), '--data-dir', edgeDir]);
    procs.push(sim);
    await sim.waitFor(/sim ready/, 30_000);
    const edge = new Lifo4Process(['edge', '--site-id', EDGE_SITE, '--edge-port', String(edgePort), '--modbus-port', String(modbusPort), '--mqtt-url', mqttUrls, '--data-dir', edgeDir]);
    procs.push(edge);
    await edge.waitFor(/edge ready/, 60_000);

    // The site's account works for its own topics only: another site's commands are refused.
    const probe = await mqtt.connectAsync(c.nodes[1]!.mqttUrl, { username: EDGE_SITE, password: edgeSecrets.mqttPassword, clientId: `${EDGE_SITE}:probe`, reconnectPeriod: 0 });
    const refused = await probe.subscribeAsync('lifo4/bench-00000/cmd', { qos: 0 }).then((g) => g.every((x) => x.qos === 128), () => true);
    assert.equal(refused || probe.disconnected, true, 'a site subscribed to another site\'s commands');
    await probe.endAsync(true);
    await assert.rejects(mqtt.connectAsync(c.nodes[1]!.mqttUrl, { username: EDGE_SITE, password: 'wrong', clientId: `${EDGE_SITE}:bad`, reconnectPeriod: 0 }), /Not authorized|Bad username|password/i);

    const fleet = await FleetSites.connect({ url: mqttUrls, password: secrets.mqttCloudPassword, sites: SITES, connections: 3, resendMs: 5000, clientPrefix: `rabbit-${process.pid}` });
    const command = async (i: number, powerW: number): Promise<{ status: number; outcome?: string }> => {
      const res = await fetch(`${apis[i]}/sites/${EDGE_SITE}/commands`, {
        method: 'POST', headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'setpoint', powerW, expiresInS: 300 }),
      });
      const body = (await res.json()) as { outcome?: string };
      return { status: res.status, ...(body.outcome ? { outcome: body.outcome } : {}) };
    };
    const sitesOf = async (api: string, token: string) => {
      const res = await fetch(`${api}/sites`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { sites: { id: string; latest: unknown }[] }).sites;
    };
    const withLatest = (sites: { latest: unknown }[]) => sites.filter((x) => x.latest !== null && x.latest !== undefined).length;
    let firstList: { id: string; latest: unknown }[] = [];
    try {
      const publishing = fleet.publishFor(40_000);
      await eventually(async () => ((await storedSeqs(influx!.url)).get(EDGE_SITE)?.length ?? 0) >= 3 || undefined, 90_000, 'the edge\'s records stored');
      // Both clouds read the one ingest queue, a quorum queue on all three nodes.
      const queues = JSON.parse(await c.ctl(['list_queues', 'name', 'type', 'consumers', 'members', '--formatter', 'json'])) as { name: string; type: string; consumers: number; members: string[] }[];
      const ingest = queues.find((q) => q.name === 'lifo4-share-ingest');
      assert.deepEqual(ingest && { ...ingest, members: [...ingest.members].sort() }, { name: 'lifo4-share-ingest', type: 'quorum', consumers: 2, members: c.nodes.map((n) => n.name).sort() });
      assert.deepEqual(await command(0, 1200), { status: 200, outcome: 'executed' }, 'a command through cloud 1');

      // A site's state reaches both clouds (each has its own queue for states): a site that says
      // it goes offline gets one SITE_OFFLINE alarm, not one per cloud.
      const goodbye = await mqtt.connectAsync(c.nodes[2]!.mqttUrl, { username: CLOUD_USERNAME, password: secrets.mqttCloudPassword, clientId: `rabbit-${process.pid}-state-probe`, reconnectPeriod: 0 });
      await goodbye.publishAsync(`lifo4/${PROBE_SITE}/state`, JSON.stringify({ v: 1, siteId: PROBE_SITE, state: 'offline', ts: Date.now() }), { qos: 1 });
      await goodbye.endAsync();
      const probeAlarms = async () => (await db!.query<{ n: number }>(
        "SELECT COUNT(*)::int AS n FROM alarm_events e JOIN alarms a ON a.id = e.alarm_id WHERE a.site_id = $1 AND a.code = 'SITE_OFFLINE' AND e.event = 'raised'", [PROBE_SITE],
      )).rows[0]?.n ?? 0;
      await eventually(async () => ((await probeAlarms()) > 0 ? true : undefined), 30_000, 'the SITE_OFFLINE alarm raised');
      await sleep(2000);
      assert.equal(await probeAlarms(), 1, 'the alarm was raised once, not once per cloud');
      firstList = await eventually(async () => {
        const l = await sitesOf(apis[0]!, tokens[0]!);
        return withLatest(l) === SITES + 1 ? l : undefined;
      }, 30_000, 'cloud 1 lists every site with its latest telemetry');
      const before = await leaseHolders(db!);
      assert.deepEqual(before.map((h) => h.lease), ['alarms', 'ota-rollout', 'retrain'], 'each lease held once');
      const cloudPids = clouds.map((p) => p.proc.pid);
      assert.ok(before.every((h) => cloudPids.includes(h.pid)), JSON.stringify({ before, cloudPids }));

      await c.kill(0);
      await sleep(8000);
      await clouds[0]!.stop('SIGKILL');
      // The killed cloud's sessions end with it; the survivor takes every lease within seconds.
      const moved = await eventually(async () => {
        const now = await leaseHolders(db!);
        return now.length === 3 && now.every((h) => h.pid === clouds[1]!.proc.pid) ? now : undefined;
      }, 30_000, 'the leases moved to cloud 2');
      assert.deepEqual(moved.map((h) => h.lease), ['alarms', 'ota-rollout', 'retrain']);
      await sleep(3000);
      // The edge may still be failing over: the API answers timeout then, and the operator tries again.
      const second = await eventually(async () => {
        const r = await command(1, -800);
        return r.outcome === 'executed' ? r : undefined;
      }, 90_000, 'a command through cloud 2 executed');
      assert.deepEqual(second, { status: 200, outcome: 'executed' });

      await publishing;
      await fleet.settle(120_000);
      const unacked = [...fleet.publishedKeys].filter((k) => !fleet.ackedKeys.has(k));
      assert.deepEqual(unacked.slice(0, 10), [], `${unacked.length} records never acknowledged`);
    } finally {
      await fleet.close();
    }

    // Both APIs list every site with its latest telemetry (cloud 1 is gone now: its list came first).
    const listed = await sitesOf(apis[1]!, tokens[1]!);
    assert.equal(withLatest(listed), SITES + 1, JSON.stringify(listed.map((x) => x.id)));
    assert.deepEqual(firstList.map((x) => x.id).sort(), listed.map((x) => x.id).sort());

    const stored = await storedSeqs(influx.url);
    const published = new Map<string, Set<number>>();
    for (const k of fleet.publishedKeys) {
      const [site, seq] = k.split(':') as [string, string];
      if (!published.has(site)) published.set(site, new Set());
      published.get(site)!.add(Number(seq));
    }
    assert.equal(published.size, SITES);
    for (const [site, seqs] of published) {
      const got = stored.get(site) ?? [];
      assert.equal(got.length, new Set(got).size, `${site}: a record stored twice`);
      assert.deepEqual([...got].sort((a, b) => a - b), [...seqs].sort((a, b) => a - b), `${site}: stored = published`);
    }
    // The real edge's records: each once, none missing between the first and the last.
    const edgeSeqs = [...(stored.get(EDGE_SITE) ?? [])].sort((a, b) => a - b);
    assert.equal(edgeSeqs.length, new Set(edgeSeqs).size, 'an edge record stored twice');
    assert.equal(edgeSeqs.length, edgeSeqs.at(-1)! - edgeSeqs[0]! + 1, `edge records missing between ${edgeSeqs[0]} and ${edgeSeqs.at(-1)}`);
  });
});
