// telemetry-out in a Node-RED runtime, through an mqtt-link, against a real aedes broker; the cloud
// is a plain MQTT client that acks after storing (fake-cloud.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import helper from 'node-red-node-test-helper';
import type { Alarm, Decision, Envelope } from '../../../domain/contracts';
import mqttLinkNode from '../../../nodes/mqtt-link/mqtt-link';
import telemetryOutNode from '../../../nodes/telemetry-out/telemetry-out';
import { TelemetryBuffer } from '../../../io/buffer/telemetry-buffer';
import { startAedes, type RunningAedes } from '../../services/aedes';
import { makeTempDir, sleep, waitUntil } from '../../services/service';
import { startFakeCloud, type FakeCloud } from '../mqtt/fake-cloud';
import { arbiterDecision, batteryTelemetry } from '../mqtt/edge-messages';

helper.init(require.resolve('node-red'));

const SITE = 'site-1';



/** Rows left in the site's buffer file and the last seq it assigned, read on a connection of our own. */
function bufferFile(dir: string): { count: number; lastAssigned: number } {
  const db = new Database(join(dir, `${SITE}.db`), { readonly: true, fileMustExist: true });
  try {
    const count = (db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
    const last = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'records'").get() as { seq: number } | undefined;
    return { count, lastAssigned: last?.seq ?? 0 };
  } finally {
    db.close();
  }
}

/** Every seq from 1 to n, exactly once, first received in ascending order. */
function assertCompleteInOrder(cloud: FakeCloud, n: number): void {
  assert.deepEqual(cloud.stored.map((r) => r.seq), Array.from({ length: n }, (_, i) => i + 1));
}

describe('telemetry-out: store-and-forward to the cloud over MQTT', function () {
  this.timeout(60_000);
  let aedes: RunningAedes;
  let tmp: ReturnType<typeof makeTempDir>;
  let cloud: FakeCloud | null = null;
  let feeder: NodeJS.Timeout | null = null;

  const flow = (over: Record<string, unknown> = {}) => [
    { id: 'link', type: 'mqtt-link', url: aedes.url, siteId: SITE, keepalive: 5 },
    { id: 'out', type: 'telemetry-out', link: 'link', interval: '50', dir: tmp.dir, ackTimeoutS: '1', wires: [['alarms']], ...over },
    { id: 'alarms', type: 'helper' },
  ];
  const load = (over: Record<string, unknown> = {}) => helper.load([mqttLinkNode, telemetryOutNode], flow(over));
  const linkConnected = () => waitUntil('link connected', async () => (helper.getNode('link') as unknown as { connected: boolean }).connected);

  /** Device, arbiter and safety messages into telemetry-out, as the edge flow sends them. */
  const feed = (): void => {
    let i = 0;
    feeder = setInterval(() => {
      const out = helper.getNode('out');
      out.receive({ topic: `lifo4/${SITE}/telemetry`, payload: batteryTelemetry(SITE, 50 + (i % 10)) });
      out.receive({ topic: 'decision', payload: arbiterDecision(SITE, i++) });
    }, 20);
  };
  const stopFeeding = async (): Promise<void> => {
    if (feeder) clearInterval(feeder);
    feeder = null;
    await sleep(150); // two intervals: the last inputs become a record
  };

  beforeEach(async () => {
    aedes = await startAedes();
    tmp = makeTempDir('telemetry-out');
  });
  afterEach(async () => {
    if (feeder) clearInterval(feeder);
    feeder = null;
    await helper.unload();
    await cloud?.close();
    cloud = null;
    await aedes.stop();
    tmp.remove();
  });

  it('sends records with seq 1, 2, 3 ... that the cloud stores, and forgets each once it is acked', async () => {
    cloud = await startFakeCloud(aedes.url, SITE);
    await load();
    await linkConnected();
    helper.getNode('out').receive({ topic: 'envelope', payload: { siteId: SITE, ts: Date.now(), mode: 'NORMAL', maxChargeW: 5000, maxDischargeW: 5000, restrictions: [], alarms: [] } satisfies Envelope });
    feed();
    await waitUntil('5 records stored', async () => cloud!.stored.length >= 5);
    await stopFeeding();
    await waitUntil('buffer empty', async () => bufferFile(tmp.dir).count === 0);
    const n = bufferFile(tmp.dir).lastAssigned;
    assertCompleteInOrder(cloud, n);
    const r = cloud.stored.at(-1)!;
    assert.equal(r.siteId, SITE);
    assert.equal(r.telemetry?.battery?.cellVoltages.length, 16);
    assert.equal(r.decision?.source, 'arbitrage');
    assert.deepEqual(cloud.stored[0]?.envelope, { mode: 'NORMAL', maxChargeW: 5000, maxDischargeW: 5000 });
  });

  it('delivers every record exactly once and in order when the broker is stopped mid-stream and restarted', async () => {
    cloud = await startFakeCloud(aedes.url, SITE);
    await load();
    await linkConnected();
    feed();
    await waitUntil('streaming', async () => cloud!.stored.length >= 5);
    await aedes.halt();
    const atHalt = bufferFile(tmp.dir).lastAssigned;
    await waitUntil('records buffered while the broker is down', async () => bufferFile(tmp.dir).lastAssigned >= atHalt + 10);
    await aedes.start();
    await waitUntil('records after the restart', async () => cloud!.stored.length >= atHalt + 15);
    await stopFeeding();
    await waitUntil('buffer drained', async () => bufferFile(tmp.dir).count === 0);
    assertCompleteInOrder(cloud, bufferFile(tmp.dir).lastAssigned);
  });

  it('keeps its backlog through a node restart and drains it, numbering on from where it stopped', async () => {
    // No cloud yet: the broker takes the batches and drops them, nothing is acked.
    await load({ ackTimeoutS: '0.2' });
    await linkConnected();
    feed();
    await waitUntil('backlog of 10', async () => bufferFile(tmp.dir).count >= 10);
    await stopFeeding();
    await helper.unload();
    const before = bufferFile(tmp.dir);
    assert.equal(before.count, before.lastAssigned, 'nothing was forgotten without an ack');

    cloud = await startFakeCloud(aedes.url, SITE);
    await load();
    await linkConnected();
    await waitUntil('backlog delivered', async () => cloud!.stored.length >= before.lastAssigned);
    feed();
    await waitUntil('live records after the backlog', async () => cloud!.stored.length >= before.lastAssigned + 3);
    await stopFeeding();
    await waitUntil('buffer drained', async () => bufferFile(tmp.dir).count === 0);
    assertCompleteInOrder(cloud, bufferFile(tmp.dir).lastAssigned);
  });

  it('drains a large backlog in batches while live records keep arriving behind it', async () => {
    const pre = new TelemetryBuffer({ path: join(tmp.dir, `${SITE}.db`), siteId: SITE });
    const t0 = Date.now() - 3_600_000;
    pre.appendMany(Array.from({ length: 20_000 }, (_, i) => ({ siteId: SITE, ts: t0 + i * 100, decision: { ...arbiterDecision(SITE, i), siteId: undefined, ts: undefined, clamps: undefined, ignored: undefined } as unknown as Decision })));
    pre.close();
    cloud = await startFakeCloud(aedes.url, SITE);
    await load({ drainRatePerS: '20000', batchSize: '500', maxInFlight: '2000' });
    await linkConnected();
    feed();
    await waitUntil('backlog and live records stored', async () => cloud!.stored.length >= 20_010, { timeoutMs: 50_000 });
    await stopFeeding();
    await waitUntil('buffer drained', async () => bufferFile(tmp.dir).count === 0);
    assertCompleteInOrder(cloud, bufferFile(tmp.dir).lastAssigned);
    assert.ok(cloud.received.length < cloud.stored.length * 1.5, `resent too much: ${cloud.received.length} sent for ${cloud.stored.length}`);
  });

  it('drops the oldest records when the buffer is full, with a counted alarm', async () => {
    await load({ maxRecords: '5' });
    await linkConnected();
    const alarms: Alarm[] = [];
    helper.getNode('alarms').on('input', (msg) => alarms.push(msg.payload as Alarm));
    feed();
    await waitUntil('an alarm', async () => alarms.length > 0);
    await stopFeeding();
    assert.equal(alarms[0]?.code, 'TELEMETRY_BUFFER_FULL');
    assert.match(alarms[0]!.message, /dropped the \d+ oldest/);
    assert.equal(alarms.filter((a) => a.active).length, 1, 'one alarm while it keeps dropping');
    await helper.unload();
    const file = bufferFile(tmp.dir);
    assert.equal(file.count, 5);
    assert.ok(file.lastAssigned > 5);

    // When the cloud returns it gets the newest records, and the alarm travels with them.
    cloud = await startFakeCloud(aedes.url, SITE);
    await load({ maxRecords: '5' });
    await waitUntil('kept records delivered', async () => cloud!.stored.length >= file.count);
    assert.equal(cloud.stored[0]?.seq, file.lastAssigned - file.count + 1);
    assert.ok(cloud.stored.some((r) => r.alarms?.some((a) => a.code === 'TELEMETRY_BUFFER_FULL')));
  });

  it('reports bad input as an error and buffers nothing from it', async () => {
    await load();
    const errors: unknown[] = [];
    helper.getNode('out').on('call:error', (call) => errors.push(call.args[0]));
    helper.getNode('out').receive({ topic: `lifo4/${SITE}/telemetry`, payload: { siteId: SITE, ts: 1 } });
    helper.getNode('out').receive({ topic: 'decision', payload: { setpointW: 'lots' } });
    helper.getNode('out').receive({ topic: `lifo4/elsewhere/telemetry`, payload: { ...batteryTelemetry(SITE, 50), siteId: 'elsewhere' } });
    await waitUntil('three errors', async () => errors.length >= 3);
    await sleep(150);
    assert.equal(bufferFile(tmp.dir).lastAssigned, 0);
  });
});
