// The cloud's ingest: telemetry-in -> timeseries-out -> telemetry-in (acks), against a real aedes
// broker, with a site played by plain mqtt.js.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import { MAX_MQTT_PAYLOAD_BYTES, type Alarm, type SiteState, type TelemetryRecord } from '../../../domain/contracts';
import mqttLinkNode from '../../../nodes/mqtt-link/mqtt-link';
import telemetryInNode from '../../../nodes/telemetry-in/telemetry-in';
import type { TelemetryInStats } from '../../../nodes/telemetry-in/ingest';
import type { ParsePool } from '../../../nodes/telemetry-in/parse-pool';
import timeseriesOutNode from '../../../nodes/timeseries-out/timeseries-out';
import { HOST_SETTING } from '../../../io/host-resources';
import { openTimeseriesStore } from '../../../io/timeseries/open';
import type { TimeseriesStore } from '../../../io/timeseries/store';
import { startAedes, type RunningAedes } from '../../services/aedes';
import { influxdAvailable, startInfluxd, type RunningInfluxd } from '../../services/influxdb';
import { mosquittoAvailable, startMosquitto, type RunningMosquitto } from '../../services/mosquitto';
import { makeTempDir, requireService } from '../../services/service';
import { householdRecords } from '../../io/timeseries/records';
import { EdgeClient, eventually } from '../mqtt/edge-client';

helper.init(require.resolve('node-red'));

const NODES = [mqttLinkNode, telemetryInNode, timeseriesOutNode];

/** The store configuration of each timeseries-out node loaded, by node id, to read what it wrote. */
const storeConfigs = new Map<string, Record<string, unknown>>();
const readers = new Map<string, TimeseriesStore>();

/** One cloud ingest: link -> telemetry-in -> timeseries-out, whose output goes back to telemetry-in. */
function ingestFlow(url: string, store: Record<string, unknown>, suffix = '', group = '', inProps: Record<string, unknown> = {}): TestFlowNode[] {
  storeConfigs.set(`store${suffix}`, store);
  return [
    { id: `link${suffix}`, type: 'mqtt-link', url, keepalive: 10 },
    { id: `in${suffix}`, type: 'telemetry-in', link: `link${suffix}`, group, ...inProps, wires: [[`store${suffix}`, `records${suffix}`], [`alarms${suffix}`], [`states${suffix}`]] },
    { id: `store${suffix}`, type: 'timeseries-out', batchMs: 20, ...store, wires: [[`in${suffix}`, `outcomes${suffix}`]] },
    { id: `records${suffix}`, type: 'helper' },
    { id: `alarms${suffix}`, type: 'helper' },
    { id: `states${suffix}`, type: 'helper' },
    { id: `outcomes${suffix}`, type: 'helper' },
  ];
}

/** Every payload a helper node receives, as it arrives. */
function collect<T>(id: string): T[] {
  const got: T[] = [];
  helper.getNode(id).on('input', (msg) => got.push(msg.payload as T));
  return got;
}

const statsOf = (id: string): TelemetryInStats => (helper.getNode(id) as TestNode & { stats: TelemetryInStats }).stats;
/** A second connection to the store a timeseries-out node writes (its SQLite file or InfluxDB database). */
const storeOf = (id: string): TimeseriesStore => {
  const known = readers.get(id);
  if (known) return known;
  const c = storeConfigs.get(id);
  if (!c) throw new Error(`no timeseries-out ${id} in the loaded flow`);
  const s = c.backend === 'influxdb' ? openTimeseriesStore({ backend: 'influxdb', url: String(c.url) }) : openTimeseriesStore({ backend: 'sqlite', path: String(c.path) });
  readers.set(id, s);
  return s;
};
/** The seqs a store holds for a site (one interval spanning every record). */
async function storedCount(store: TimeseriesStore, siteId: string, records: TelemetryRecord[]): Promise<number> {
  const r = await store.range({ siteId, from: records[0]!.ts, to: records[records.length - 1]!.ts + 1, everyMs: 31 * 86_400_000, fields: ['socPct'] });
  return r.buckets.reduce((n, b) => n + b.count, 0);
}

/** The telemetry subscription is active once the site's retained state has come through the same link. */
async function ready(edge: EdgeClient, statesNode: string): Promise<void> {
  const states = collect<SiteState>(statesNode);
  await edge.state('online');
  await eventually('site state seen', () => states.some((s) => s.siteId === edge.siteId));
}

describe('cloud ingest: telemetry-in and timeseries-out against a real broker', function () {
  this.timeout(60_000);
  let aedes: RunningAedes;
  let tmp: ReturnType<typeof makeTempDir>;
  const edges: EdgeClient[] = [];

  beforeEach(async () => {
    aedes = await startAedes();
    tmp = makeTempDir('ingest');
  });
  afterEach(async () => {
    for (const e of edges.splice(0)) await e.close();
    await helper.unload();
    // After the flow: a store handed to it as the host's is the test's to close.
    for (const r of readers.values()) await r.close();
    readers.clear();
    storeConfigs.clear();
    helper.settings({});
    await aedes.stop();
    tmp.remove();
  });

  async function edge(siteId: string, url = aedes.url): Promise<EdgeClient> {
    const e = await EdgeClient.connect(url, siteId);
    edges.push(e);
    return e;
  }

  it('stores a site\'s records, acknowledges exactly them, and forwards the alarm transitions they carry', async () => {
    await helper.load(NODES, ingestFlow(aedes.url, { path: join(tmp.dir, 'ts.db') }));
    const alarmBatches = collect<Alarm[]>('alarms');
    const site = await edge('site-a');
    await ready(site, 'states');
    const records = householdRecords({ siteId: 'site-a', count: 40 });
    await site.send(records.slice(0, 25));
    await site.send(records.slice(25));
    await eventually('all acked', () => site.acked.size === 40);
    assert.deepEqual([...site.acked].sort((a, b) => a - b), records.map((r) => r.seq));
    assert.ok(site.acks.every((a) => a.siteId === 'site-a' && a.seq === Math.max(...a.ranges.map((r) => r[1]))));
    assert.equal(await storedCount(storeOf('store'), 'site-a', records), 40);
    const latest = await storeOf('store').latest(['site-a']);
    assert.equal(latest[0]!.seq, 40);
    const carried = records.flatMap((r) => (r.alarms ?? []).map((a) => ({ ...a, siteId: 'site-a' })));
    await eventually('alarms forwarded', () => alarmBatches.flat().length === carried.length);
    assert.deepEqual(alarmBatches.flat(), carried);
    assert.equal(statsOf('in').fresh, 40);
  });

  it("carries many sites' records through the flow as one message, and acks each site once per interval with every range", async () => {
    await helper.load(NODES, ingestFlow(aedes.url, { path: join(tmp.dir, 'ts.db') }));
    const toStore = collect<TelemetryRecord[]>('records');
    const sites = await Promise.all(['site-a', 'site-b', 'site-c'].map((id) => edge(id)));
    await ready(sites[0]!, 'states');
    const records = new Map(sites.map((s) => [s, householdRecords({ siteId: s.siteId, count: 60 })]));
    // Each site sends 10 records per message, six messages in quick succession.
    for (let k = 0; k < 60; k += 10) await Promise.all(sites.map((s) => s.send(records.get(s)!.slice(k, k + 10))));
    await eventually('all acked', () => sites.every((s) => s.acked.size === 60));
    for (const s of sites) assert.deepEqual([...s.acked].sort((a, b) => a - b), records.get(s)!.map((r) => r.seq), `${s.siteId}: exactly its records`);
    // 18 MQTT messages reached the node; the flow carried fewer, larger ones, mixing sites.
    assert.equal(toStore.flat().length, 180);
    assert.ok(toStore.length < 18, `${toStore.length} messages to the store`);
    assert.ok(toStore.some((m) => new Set(m.map((r) => r.siteId)).size > 1), 'a message holds records of several sites');
    // The first commit of a site is acked at once; what is committed within the next second waits and goes out as one ack.
    for (const s of sites) assert.ok(s.acks.length <= 3, `${s.siteId}: ${s.acks.length} acks for 6 messages`);
    for (const s of sites) assert.equal(await storedCount(storeOf('store'), s.siteId, records.get(s)!), 60);
  });

  it('stores a record received twice once: a resend of a stored record is acknowledged again', async () => {
    await helper.load(NODES, ingestFlow(aedes.url, { path: join(tmp.dir, 'ts.db') }));
    const toStore = collect<TelemetryRecord[]>('records');
    const site = await edge('site-a');
    await ready(site, 'states');
    const records = householdRecords({ siteId: 'site-a', count: 30 });
    // Twice at once (the second arrives while the first is in flight), then again after the ack.
    await Promise.all([site.send(records.slice(0, 20)), site.send(records.slice(0, 20))]);
    await eventually('1..20 acked', () => site.acked.size === 20);
    const acksBefore = site.acks.length;
    await site.send(records.slice(10, 30));
    await eventually('1..30 acked', () => site.acked.size === 30);
    await eventually('the resend of 11..20 acked again', () => site.acks.slice(acksBefore).some((a) => a.ranges.some(([f, t]) => f <= 11 && t >= 20)));
    assert.equal(toStore.flat().length, 30, 'each record went to the store once');
    assert.equal(statsOf('in').duplicates, 30);
    assert.equal(await storedCount(storeOf('store'), 'site-a', records), 30);
  });

  for (const parseWorkers of ['auto', 0]) it(`drops and counts malformed, wrong-site and oversized messages: never stored, never acked (parse workers ${parseWorkers})`, async () => {
    await helper.load(NODES, ingestFlow(aedes.url, { path: join(tmp.dir, 'ts.db') }, '', '', { parseWorkers }));
    const toStore = collect<TelemetryRecord[]>('records');
    const site = await edge('site-a');
    await ready(site, 'states');
    const [good] = householdRecords({ siteId: 'site-a', count: 1 });
    const forSiteB = householdRecords({ siteId: 'site-b', count: 3 });
    await site.publishRaw('{"v":1,"siteId":"site-a","records":[');
    await site.publishRaw(JSON.stringify({ v: 1, siteId: 'site-a', records: [{ ...good, seq: -1 }] }));
    await site.publishRaw(JSON.stringify({ v: 2, siteId: 'site-a', records: [good] }));
    // A batch for site-b published on site-a's topic: forged or misrouted.
    await site.publishRaw(JSON.stringify({ v: 1, siteId: 'site-b', records: forSiteB }));
    const big = householdRecords({ siteId: 'site-a', count: 1000 });
    const oversized = Buffer.from(JSON.stringify({ v: 1, siteId: 'site-a', records: big }));
    assert.ok(oversized.length > MAX_MQTT_PAYLOAD_BYTES);
    await site.publishRaw(oversized);
    await eventually('all five counted', () => { const s = statsOf('in'); return s.malformed === 3 && s.wrongSite === 1 && s.oversized === 1; });
    // A good batch after them still goes through: the node kept running.
    await site.send([good!]);
    await eventually('good one acked', () => site.acked.has(1));
    assert.equal(toStore.flat().length, 1);
    assert.deepEqual(site.acks.map((a) => a.ranges), [[[1, 1]]]);
    assert.deepEqual((await storeOf('store').latest()).map((l) => [l.siteId, l.seq]), [['site-a', 1]]);
  });

  it('loses nothing when a parse worker dies under a burst: its messages are not acked, and their resend is stored once', async () => {
    await helper.load(NODES, ingestFlow(aedes.url, { path: join(tmp.dir, 'ts.db') }, '', '', { parseWorkers: 1 }));
    const site = await edge('site-a');
    await ready(site, 'states');
    const pool = (helper.getNode('in') as TestNode & { parsePool: ParsePool<unknown> }).parsePool;
    const records = householdRecords({ siteId: 'site-a', count: 3000 });
    const burst = Promise.all(Array.from({ length: 20 }, (_, k) => site.send(records.slice(k * 150, (k + 1) * 150))));
    // The worker dies while messages of the burst wait for it.
    for (let t = Date.now(); pool.pending === 0; await new Promise((r) => setImmediate(r))) assert.ok(Date.now() - t < 10_000, 'the burst never reached the pool');
    await pool.pool!.threads[0]!.terminate();
    await burst;
    await eventually('messages lost with the worker counted', () => statsOf('in').unparsed > 0);
    // What was lost was never acknowledged: the edge resends it, and the new worker parses it.
    await site.sendUntilAcked(records, 150, 1000);
    assert.equal(site.acked.size, 3000);
    assert.equal(await storedCount(storeOf('store'), 'site-a', records), 3000);
  });

  it('sends each site\'s online/offline changes once, including the last will of a site that dies', async () => {
    await helper.load(NODES, ingestFlow(aedes.url, { path: join(tmp.dir, 'ts.db') }));
    const states = collect<SiteState>('states');
    const offline: SiteState = { v: 1, siteId: 'site-w', state: 'offline', ts: Date.now() };
    const dying = await EdgeClient.connect(aedes.url, 'site-w', { will: { topic: 'lifo4/site-w/state', payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true } });
    await dying.state('online');
    await dying.state('online');
    await eventually('online seen', () => states.length === 1);
    // The connection dies without a DISCONNECT: the broker publishes the will.
    dying.client.stream.destroy();
    await eventually('last will seen', () => states.length === 2);
    dying.client.end(true);
    assert.deepEqual(states.map((s) => [s.siteId, s.state]), [['site-w', 'online'], ['site-w', 'offline']]);
    const site = await edge('site-x');
    await site.client.publishAsync('lifo4/site-x/state', JSON.stringify({ ...offline, siteId: 'site-y' }), { qos: 1 });
    await site.client.publishAsync('lifo4/site-x/state', 'garbage', { qos: 1 });
    await eventually('bad states counted', () => statsOf('in').badStates === 2);
    assert.equal(states.length, 2);
  });

  describe('with Mosquitto (aedes 1.2 has no shared subscriptions)', () => {
    let mosquitto: RunningMosquitto | null = null;
    before(async function () {
      requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
      mosquitto = await startMosquitto({ allowAnonymous: true });
    });
    after(async () => {
      await mosquitto?.stop();
    });

    it('splits a shared subscription between two cloud runtimes: every record stored once, all acked', async () => {
      await helper.load(NODES, [
        ...ingestFlow(mosquitto!.url, { path: join(tmp.dir, 'one.db') }, '1', 'cloud'),
        ...ingestFlow(mosquitto!.url, { path: join(tmp.dir, 'two.db') }, '2', 'cloud'),
      ]);
      const sites = await Promise.all(['site-a', 'site-b', 'site-c'].map((s) => edge(s, mosquitto!.url)));
      for (const s of sites) await ready(s, 'states1');
      await eventually('both subscribed', () => statsOf('in2').stateChanges >= 3);
      const records = new Map(sites.map((s) => [s.siteId, householdRecords({ siteId: s.siteId, count: 200 })]));
      // One record per message, as a live edge sends them.
      await Promise.all(sites.map((s) => s.sendUntilAcked(records.get(s.siteId)!, 1, 2000)));
      let one = 0;
      let two = 0;
      for (const s of sites) {
        const all = records.get(s.siteId)!;
        const a = await storedCount(storeOf('store1'), s.siteId, all);
        const b = await storedCount(storeOf('store2'), s.siteId, all);
        assert.equal(a + b, 200, `${s.siteId}: each record in exactly one of the two stores`);
        one += a;
        two += b;
      }
      assert.ok(one > 0 && two > 0, `both runtimes took a share (${one} / ${two})`);
      assert.equal(statsOf('in1').fresh + statsOf('in2').fresh, 600);
    });
  });

  describe('with InfluxDB', () => {
    let influxd: RunningInfluxd | null = null;
    before(async function () {
      requireService(this, 'influxd', influxdAvailable(), 'apt-get install influxdb');
      this.timeout(90_000);
      influxd = await startInfluxd();
    });
    after(async () => {
      await influxd?.stop();
    });

    it('acknowledges only after the commit: nothing while InfluxDB is down, everything once it is back', async () => {
      // The store as the lifo4 cloud runtime hands it to its flow, so its write queue is the one seen here.
      const store = openTimeseriesStore({ backend: 'influxdb', url: `${influxd!.url}/ingest` });
      readers.set('store', store);
      helper.settings({ [HOST_SETTING]: { timeseries: store } });
      await helper.load(NODES, ingestFlow(aedes.url, { backend: 'runtime' }));
      const outcomes = collect<unknown>('outcomes');
      const site = await edge('site-a');
      await ready(site, 'states');
      const records = householdRecords({ siteId: 'site-a', count: 60 });
      await site.send(records.slice(0, 20));
      await eventually('first 20 acked', () => site.acked.size === 20);
      await influxd!.halt();
      try {
        await site.send(records.slice(20, 40));
        await site.send(records.slice(40));
        await eventually('writes waiting', () => store.health().retrying && store.health().queued === 40);
        assert.equal(site.acked.size, 20, 'no ack for records that are not stored');
        assert.equal(outcomes.length, 1);
      } finally {
        await influxd!.start();
      }
      await eventually('all acked', () => site.acked.size === 60, 30_000);
      assert.equal(await storedCount(storeOf('store'), 'site-a', records), 60);
      assert.equal(await storeOf('store').highestSeq('site-a'), 60);
    });
  });
});
