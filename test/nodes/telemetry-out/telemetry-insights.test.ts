// telemetry-out carries the edge models' outputs inside its records: the latest load
// forecast, SoH estimate and anomaly score since the previous record go into the next record's
// `insights`, through the real SQLite buffer, to a cloud that acks what it stored (fake-cloud.ts).
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { TelemetryRecordSchema } from '../../../domain/contracts';
import type { AnomalyScore, TelemetryRecord, LoadForecast, SohEstimateMessage } from '../../../domain/contracts';
import mqttLinkNode from '../../../nodes/mqtt-link/mqtt-link';
import telemetryOutNode from '../../../nodes/telemetry-out/telemetry-out';
import { TelemetryBuffer } from '../../../io/buffer/telemetry-buffer';
import { startAedes, type RunningAedes } from '../../services/aedes';
import { makeTempDir, sleep, waitUntil } from '../../services/service';
import { batteryTelemetry } from '../mqtt/edge-messages';
import { startFakeCloud, type FakeCloud } from '../mqtt/fake-cloud';
import { join } from 'node:path';

helper.init(require.resolve('node-red'));

const SITE = 'site-1';
const DAY = 86_400_000;

function soh(sohPct: number): SohEstimateMessage {
  return { siteId: SITE, ts: Date.now(), sohPct, sdPct: 0.8, capacityWh: sohPct * 102, source: 'prior', measurements: 0, cycles: 12, priorPct: sohPct };
}
function forecast(): LoadForecast {
  const start = Math.floor(Date.now() / DAY) * DAY;
  return { siteId: SITE, ts: Date.now(), start, stepMinutes: 15, loadKw: Array.from({ length: 96 }, (_, s) => 0.3 + (s % 7) / 10), model: 'forecast.onnx 2026-11-27', filledSteps: 0 };
}
function anomaly(): AnomalyScore {
  const cycleStart = Math.floor(Date.now() / DAY) * DAY - DAY;
  return {
    siteId: SITE, cycleStart, cycleEnd: cycleStart + DAY, score: 0.41, threshold: 0.48, anomalous: false,
    features: { restSpreadMv: 3.1, restDriftMvPerH: 0.2, loadDeviationMohm: 0.01, resistanceMohm: 0.4, thermalKPerKA2: 1.2 }, samples: 1440, model: 'anomaly.onnx',
  };
}

describe('telemetry-out: model insights ride in the telemetry records', function () {
  this.timeout(60_000);
  let aedes: RunningAedes;
  let tmp: ReturnType<typeof makeTempDir>;
  let cloud: FakeCloud | null = null;

  const load = (interval = '50') =>
    helper.load([mqttLinkNode, telemetryOutNode], [
      { id: 'link', type: 'mqtt-link', url: aedes.url, siteId: SITE, keepalive: 5 },
      { id: 'out', type: 'telemetry-out', link: 'link', interval, dir: tmp.dir, ackTimeoutS: '1', wires: [[]] },
    ]);
  const linkConnected = () => waitUntil('link connected', async () => (helper.getNode('link') as unknown as { connected: boolean }).connected);
  const withInsights = (): TelemetryRecord[] => cloud?.stored.filter((r) => r.insights) ?? [];

  beforeEach(async () => {
    aedes = await startAedes();
    tmp = makeTempDir('telemetry-insights');
  });
  afterEach(async () => {
    await helper.unload();
    await cloud?.close();
    cloud = null;
    await aedes.stop();
    tmp.remove();
  });

  it('puts the latest forecast, SoH estimate and anomaly score into the next record, once each', async () => {
    cloud = await startFakeCloud(aedes.url, SITE);
    await load('200');
    await linkConnected();
    const out = helper.getNode('out');
    const f = forecast();
    const a = anomaly();
    // Within one interval: the second SoH replaces the first; the rest goes with it.
    out.receive({ topic: `lifo4/${SITE}/telemetry`, payload: batteryTelemetry(SITE, 50) });
    out.receive({ topic: 'soh', payload: soh(99.1) });
    out.receive({ topic: 'soh', payload: soh(98.7) });
    out.receive({ topic: 'load-forecast', payload: f });
    // By its shape, under any topic.
    out.receive({ topic: 'scores', payload: a });
    await waitUntil('a record with insights', async () => withInsights().length > 0);
    for (let i = 0; i < 3; i++) {
      out.receive({ topic: `lifo4/${SITE}/telemetry`, payload: batteryTelemetry(SITE, 51 + i) });
      await sleep(250);
    }
    await waitUntil('three more records', async () => cloud!.stored.length >= 4);
    const carrying = withInsights();
    assert.equal(carrying.length, 1, 'each insight goes out in one record');
    const insights = carrying[0]!.insights!;
    assert.equal(insights.soh?.sohPct, 98.7);
    assert.deepEqual(insights.forecast, f);
    assert.deepEqual(insights.anomaly, a);
    assert.ok(TelemetryRecordSchema.safeParse(carrying[0]).success);
  });

  it('keeps an insight in the buffer through a node restart while the cloud is away, and delivers it then', async () => {
    // A long interval: nothing is written before the node closes, so the close must keep it.
    await load('60000');
    await linkConnected();
    const estimate = soh(97.25);
    helper.getNode('out').receive({ topic: 'soh', payload: estimate });
    await sleep(50);
    await helper.unload();
    const buffered = new TelemetryBuffer({ path: join(tmp.dir, `${SITE}.db`), siteId: SITE });
    assert.equal(buffered.size, 1, 'the record with the insight is in the SQLite buffer');
    buffered.close();

    cloud = await startFakeCloud(aedes.url, SITE);
    await load();
    await waitUntil('the record stored in the cloud', async () => withInsights().length > 0);
    assert.deepEqual(withInsights()[0]?.insights, { soh: estimate });
  });

  it('refuses an insight of another site or a malformed one, and buffers nothing from it', async () => {
    await load();
    const errors: unknown[] = [];
    helper.getNode('out').on('call:error', (call) => errors.push(call.args[0]));
    helper.getNode('out').receive({ topic: 'soh', payload: { ...soh(99), siteId: 'elsewhere' } });
    helper.getNode('out').receive({ topic: 'load-forecast', payload: { ...forecast(), loadKw: [1, 2, 3] } });
    await waitUntil('two errors', async () => errors.length >= 2);
    await sleep(150);
    const buffered = new TelemetryBuffer({ path: join(tmp.dir, `${SITE}.db`), siteId: SITE });
    try {
      assert.equal(buffered.size, 0);
    } finally {
      buffered.close();
    }
  });
});
