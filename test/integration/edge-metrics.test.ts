// The edge's /metrics as Prometheus scrapes it: real `lifo4 sim`, `lifo4 edge` and, later,
// `lifo4 cloud` processes. The edge starts with its broker away, so its telemetry buffer fills;
// the cloud comes, stores and acknowledges, and the buffer empties. The records the cloud stores
// carry the edge's backlog and control cycle.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { eventually, freePorts, Lifo4Process } from './lifo4-process';
import { bearer, edgeToken } from './edge-sign-in';
import { simControl } from '../runtime/simulator/sim-control';

/** One sample of the exposition text: `name{labels} value`. */
interface Sample { name: string; labels: Record<string, string>; value: number }

function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (samples: Sample[], name: string, where: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

describe('edge metrics: /metrics behind a scrape token, and the backlog in the telemetry', function () {
  this.timeout(180_000);
  let dataDir: string;
  let sim: Lifo4Process;
  let edge: Lifo4Process;
  let cloud: Lifo4Process | undefined;
  let url: string;
  let ports: { edge: number; modbus: number; control: number; mqtt: number; cloud: number };
  let scrapeToken: string;

  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(`${url}/metrics`, { headers: bearer(scrapeToken) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return parseSamples(await res.text());
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lifo4-edge-metrics-'));
    const [e, m, c, b, h] = (await freePorts(5)) as [number, number, number, number, number];
    ports = { edge: e, modbus: m, control: c, mqtt: b, cloud: h };
    url = `http://127.0.0.1:${e}`;
    sim = new Lifo4Process(['sim', '--modbus-port', String(m), '--control-port', String(c), '--data-dir', dataDir]);
    await sim.waitFor(/sim ready/, 30_000);
    // Nothing listens on the MQTT port yet: the cloud is away.
    edge = new Lifo4Process(['edge', '--edge-port', String(e), '--modbus-port', String(m), '--cycle-ms', '500', '--mqtt-url', `mqtt://127.0.0.1:${b}`, '--data-dir', dataDir]);
    await edge.waitFor(/edge ready/, 60_000);
    scrapeToken = (JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { edgeMetricsToken: string }).edgeMetricsToken;
  });
  after(async () => {
    await cloud?.stop();
    await edge?.stop();
    await sim?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 401 without a token or with a wrong one, 403 to a user without metrics:read, and the metrics to the scrape token', async () => {
    const none = await fetch(`${url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await fetch(`${url}/metrics`, { headers: bearer(`${scrapeToken}x`) })).status, 401);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`x:${scrapeToken}`).toString('base64')}` } })).status, 401);
    const technician = await edgeToken(url, dataDir, 'TECHNICIAN');
    assert.equal((await fetch(`${url}/metrics`, { headers: bearer(technician) })).status, 403);
    const samples = await scrape();
    assert.ok(samples.some((s) => s.name === 'lifo4_edge_process_cpu_seconds_total'), 'the process metrics too');
  });

  it('counts control cycles and Modbus requests per unit as the loop runs', async () => {
    const first = await eventually(async () => {
      const s = await scrape();
      return sum(s, 'lifo4_edge_control_cycle_seconds_count') > 0 ? s : undefined;
    }, 30_000, 'a first control cycle');
    await new Promise((r) => setTimeout(r, 2500));
    const second = await scrape();
    assert.ok(sum(second, 'lifo4_edge_control_cycle_seconds_count') > sum(first, 'lifo4_edge_control_cycle_seconds_count'), 'the cycle count grows');
    const connection = `127.0.0.1:${ports.modbus}`;
    for (const unit of ['1', '2', '3']) {
      const before = sum(first, 'lifo4_edge_modbus_requests_total', { connection, unit });
      const after = sum(second, 'lifo4_edge_modbus_requests_total', { connection, unit });
      assert.ok(after > before, `unit ${unit}: ${before} -> ${after} requests`);
    }
    // A healthy simulator answers nearly every request; on a loaded machine one may time out now and
    // then (the next test shows errors counted by cause).
    const requests = sum(second, 'lifo4_edge_modbus_requests_total', { connection, unit: '1' });
    assert.ok(sum(second, 'lifo4_edge_modbus_errors_total', { unit: '1' }) <= requests / 20, 'hardly any errors against a healthy simulator');
    assert.ok(sum(second, 'lifo4_edge_arbiter_level') >= 0);
    assert.equal(sum(second, 'lifo4_edge_safety_mode'), 1, 'one mode in force');
  });

  it('counts the failed requests by unit and cause while the devices are silent, and the cycles they cost', async () => {
    const before = await scrape();
    const control = simControl(() => ports.control);
    await control.call('POST', '/faults', { type: 'modbus-silence' });
    try {
      await eventually(async () => {
        const s = await scrape();
        return sum(s, 'lifo4_edge_modbus_errors_total', { unit: '1', code: 'TIMEOUT' }) > 0 && sum(s, 'lifo4_edge_missed_cycles_total') > sum(before, 'lifo4_edge_missed_cycles_total') ? s : undefined;
      }, 20_000, 'timeouts of unit 1 and a missed cycle counted');
    } finally {
      await control.call('DELETE', '/faults');
    }
    await eventually(async () => {
      const a = await scrape();
      await new Promise((r) => setTimeout(r, 1200));
      const b = await scrape();
      return sum(b, 'lifo4_edge_control_cycle_seconds_count') > sum(a, 'lifo4_edge_control_cycle_seconds_count') ? true : undefined;
    }, 30_000, 'the loop running again');
  });

  it('shows the buffer filling while the cloud is away and draining once it stores and acknowledges', async () => {
    const away = await scrape();
    assert.equal(sum(away, 'lifo4_edge_mqtt_connected'), 0);
    const depthAway = sum(away, 'lifo4_edge_telemetry_buffer_records', { site: 'site-1' });
    assert.ok(depthAway > 0, `records wait: ${depthAway}`);
    await eventually(async () => (sum(await scrape(), 'lifo4_edge_telemetry_buffer_records') > depthAway ? true : undefined), 15_000, 'the buffer growing');
    assert.ok(sum(await scrape(), 'lifo4_edge_telemetry_oldest_unsent_seconds') > 1, 'the oldest record ages');

    cloud = new Lifo4Process(['cloud', '--port', String(ports.cloud), '--mqtt-port', String(ports.mqtt), '--data-dir', dataDir, '--log-level', 'error']);
    await cloud.waitFor(/cloud ready/, 90_000);
    const drained = await eventually(async () => {
      const s = await scrape();
      return sum(s, 'lifo4_edge_mqtt_connected') === 1 && sum(s, 'lifo4_edge_telemetry_buffer_records') <= 2 ? s : undefined;
    }, 60_000, 'the buffer draining');
    assert.ok(sum(drained, 'lifo4_edge_telemetry_oldest_unsent_seconds') < 5);

    // The stored records say how far behind the edge was when each was made.
    const db = new Database(join(dataDir, 'cloud', 'timeseries.db'), { readonly: true, fileMustExist: true });
    try {
      const r = db.prepare('SELECT max("edgeBufferDepth") AS depth, max("edgeOldestUnsentS") AS age, max("controlCycleMs") AS cycle FROM telemetry WHERE site_id = ?')
        .get('site-1') as { depth: number | null; age: number | null; cycle: number | null };
      assert.ok((r.depth ?? 0) >= depthAway, `a record made during the outage saw the backlog: ${JSON.stringify(r)}`);
      assert.ok((r.age ?? 0) > 1, JSON.stringify(r));
      assert.ok((r.cycle ?? 0) > 0, JSON.stringify(r));
    } finally {
      db.close();
    }
  });
});
