// Edge -> cloud -> store through the production parts: the edge's telemetry-out and the cloud's
// telemetry-in / timeseries-out on a real Mosquitto with the shipped ACL and per-site passwords,
// storing into a real InfluxDB 1.x. Mid-stream the broker is stopped (without persistence) and the
// database is stopped; every record still arrives exactly once and in order.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import helper, { type TestNode } from 'node-red-node-test-helper';
import type { TelemetryRecord } from '../../domain/contracts';
import mqttLinkNode from '../../nodes/mqtt-link/mqtt-link';
import telemetryInNode from '../../nodes/telemetry-in/telemetry-in';
import telemetryOutNode from '../../nodes/telemetry-out/telemetry-out';
import timeseriesOutNode from '../../nodes/timeseries-out/timeseries-out';
import { packageRoot } from '../../io/package-root';
import { mosquittoPasswordFile } from '../../runtime/broker/mosquitto-files';
import { openTimeseriesStore } from '../../io/timeseries/open';
import type { TimeseriesStore } from '../../io/timeseries/store';
import { influxdAvailable, startInfluxd, type RunningInfluxd } from '../services/influxdb';
import { mosquittoAvailable, startMosquitto, type RunningMosquitto } from '../services/mosquitto';
import { makeTempDir, requireService, waitUntil } from '../services/service';
import { arbiterDecision, batteryTelemetry } from '../nodes/mqtt/edge-messages';

helper.init(require.resolve('node-red'));

const SITE = 'site-rt';
const SITE_PASSWORD = 'site-rt-password-0123456789abcdef';
const CLOUD_PASSWORD = 'cloud-password-0123456789abcdef';



describe('edge -> Mosquitto (shipped ACL) -> cloud -> InfluxDB, with the broker and the database stopped mid-stream', function () {
  this.timeout(180_000);
  let mosquitto: RunningMosquitto | undefined;
  let influx: RunningInfluxd | undefined;
  let tmp: ReturnType<typeof makeTempDir>;
  let feeder: NodeJS.Timeout | undefined;
  let reader: TimeseriesStore | undefined;

  before(function () {
    requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
    requireService(this, 'influxd', influxdAvailable(), 'apt-get install influxdb');
  });

  beforeEach(async () => {
    tmp = makeTempDir('round-trip');
    const passwordFile = join(tmp.dir, 'passwd');
    writeFileSync(passwordFile, mosquittoPasswordFile([{ username: SITE, password: SITE_PASSWORD }, { username: 'cloud', password: CLOUD_PASSWORD }]));
    mosquitto = await startMosquitto({ passwordFile, aclFile: join(packageRoot, 'deploy', 'mosquitto', 'acl') });
    influx = await startInfluxd();
    await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE lifo4')}`, { method: 'POST' });
  });

  afterEach(async () => {
    if (feeder) clearInterval(feeder);
    await reader?.close();
    reader = undefined;
    await helper.unload();
    await mosquitto?.stop();
    await influx?.stop();
    tmp.remove();
  });

  it('stores every record the edge numbered exactly once and in seq order', async () => {
    const url = mosquitto!.url;
    await helper.load([mqttLinkNode, telemetryOutNode, telemetryInNode, timeseriesOutNode], [
      // The edge, as its site.
      { id: 'edge-link', type: 'mqtt-link', url, siteId: SITE, keepalive: 5 },
      { id: 'out', type: 'telemetry-out', link: 'edge-link', interval: '50', dir: join(tmp.dir, 'edge'), ackTimeoutS: '2', wires: [[]] },
      // The cloud, as the service account.
      { id: 'cloud-link', type: 'mqtt-link', url, keepalive: 5 },
      { id: 'in', type: 'telemetry-in', link: 'cloud-link', wires: [['store', 'to-store'], [], []] },
      { id: 'store', type: 'timeseries-out', backend: 'influxdb', url: `${influx!.url}/lifo4`, batchMs: 50, wires: [['in']] },
      { id: 'to-store', type: 'helper' },
    ], {
      'edge-link': { username: SITE, password: SITE_PASSWORD },
      'cloud-link': { username: 'cloud', password: CLOUD_PASSWORD },
    });
    const toStore: number[] = [];
    helper.getNode('to-store').on('input', (msg) => toStore.push(...(msg.payload as TelemetryRecord[]).map((r) => r.seq)));
    // The cloud is up before the site speaks, as in production: both links connected and subscribed.
    const connected = (id: string) => (helper.getNode(id) as unknown as { connected: boolean }).connected;
    await waitUntil('both links connected', async () => connected('edge-link') && connected('cloud-link'), { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    let i = 0;
    feeder = setInterval(() => {
      const out = helper.getNode('out') as TestNode;
      out.receive({ topic: `lifo4/${SITE}/telemetry`, payload: batteryTelemetry(SITE, 40 + (i % 20)) });
      out.receive({ topic: 'decision', payload: arbiterDecision(SITE, i++) });
    }, 20);

    // A second connection to the database timeseries-out writes.
    reader = openTimeseriesStore({ backend: 'influxdb', url: `${influx!.url}/lifo4` });
    const store = () => reader!;
    const stored = async (): Promise<number> => {
      const r = await store().range({ siteId: SITE, from: 0, to: Date.now() + 60_000, everyMs: 31 * 86_400_000, fields: ['socPct'] });
      return r.buckets.reduce((n, b) => n + b.count, 0);
    };

    await waitUntil('20 records stored', async () => (await stored()) >= 20, { timeoutMs: 60_000 });
    await mosquitto!.halt(); // no persistence: whatever the broker held is gone
    await new Promise((r) => setTimeout(r, 1500));
    await mosquitto!.start();
    const before = await stored();
    await waitUntil('flowing again after the broker restart', async () => (await stored()) >= before + 10, { timeoutMs: 60_000 });
    await influx!.halt();
    await new Promise((r) => setTimeout(r, 1500));
    await influx!.start();
    await new Promise((r) => setTimeout(r, 1500));
    clearInterval(feeder);
    feeder = undefined;

    // Everything the edge numbered ends up stored, once: wait for its buffer file to empty.
    const bufferFile = (): { count: number; last: number } => {
      const db = new Database(join(tmp.dir, 'edge', `${SITE}.db`), { readonly: true, fileMustExist: true });
      try {
        const count = (db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
        const last = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").get() as { seq: number } | undefined)?.seq ?? 0;
        return { count, last };
      } finally {
        db.close();
      }
    };
    let last = 0;
    await waitUntil('the edge buffer drained into the store', async () => {
      const b = bufferFile();
      last = b.last;
      return b.count === 0 && (await stored()) === b.last;
    }, { timeoutMs: 90_000 });
    assert.ok(last > 30, `records numbered: ${last}`);
    const latest = await store().latest([SITE]);
    assert.equal(latest[0]?.seq, last);
    // What went to the store: every seq once and in order. What the restarted broker lost reached the
    // cloud only when the edge sent it again after its ack timeout, behind newer records; telemetry-in
    // held those until the gap was filled.
    assert.deepEqual(toStore, Array.from({ length: last }, (_, k) => k + 1));
  });
});
