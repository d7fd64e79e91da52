// The cloud's own SoH estimate and anomaly score per site (runtime/ml/cloud-battery.ts), on the
// simulator's truth: packs run in process (runtime/ml/sim-run.ts: capacity fade, slow faults) and
// their battery telemetry goes, as telemetry records, into a real SQLite time-series store AND
// into the edge's own soh-estimate and anomaly-score nodes. The cloud rebuilds minute samples from
// the store and runs the same domain code and ONNX models; both are held against the simulator's
// true capacity, the fault's onset, and each other.
//
// The records are 10 s apart here (the edge sends one a second; 10 s keeps the test fast): the
// edge nodes see 10 s point samples (the anomaly node keeps one a minute), the cloud minute means.
import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper, { type TestNode } from 'node-red-node-test-helper';
import type { BatteryTelemetry, TelemetryRecord, AnomalyScore, SohEstimateMessage } from '../../../domain/contracts';
import { AnomalyScoreSchema, SohEstimateMessageSchema } from '../../../domain/contracts';
import sohEstimate from '../../../nodes/soh-estimate/soh-estimate';
import anomalyScore from '../../../nodes/anomaly-score/anomaly-score';
import { BUILT_AGEING_MODEL, BUILT_ANOMALY_MODEL, CloudBattery } from '../../../runtime/ml/cloud-battery';
import { batterySamples } from '../../../runtime/ml/store-battery';
import type { AnomalyPoint } from '../../../runtime/ml/insight-store';
import { trainAgeingOnnx, trainAnomalyOnnx } from '../../../runtime/ml/model-training';
import { batteryTelemetryOf, fastSite, runDays, TouController } from '../../../runtime/ml/sim-run';
import type { Site } from '../../../runtime/simulator/site';
import { eventually } from '../../integration/lifo4-process';
import { call, createUser, login, startHarness, type Harness } from '../api/harness';

helper.init(require.resolve('node-red'));

const DAY = 86_400_000;
const RECORD_MS = 10_000;
/** Days stored per pack (after two unrecorded days that bring the pack into its daily routine). */
const DAYS = 6;
/** The ambient of the packs' room, as the nodes and the cloud are told. */
const AMBIENT_C = 21;

interface Pack {
  siteId: string;
  site: Site;
  controller: TouController;
  seq: number;
  /** The pack's true capacity SoH at the end of each stored day, by cycle start. */
  truth: Map<number, number>;
  /** When the slow fault was injected (ms), if any. */
  faultAt: number | null;
  /** The BMS reports no cycle count: the SoH prior starts at a new pack's and only measurements can correct it. */
  unknownAge: boolean;
  edgeSoh: SohEstimateMessage[];
  edgeAnomaly: AnomalyScore[];
}

interface Msg { payload?: unknown }

function pack(siteId: string, ageCycles: number, unknownAge: boolean): Pack {
  const site = fastSite({ seed: 32, ageCycles, ambientC: AMBIENT_C });
  const controller = new TouController();
  runDays(site, 2, () => undefined, controller);
  return { siteId, site, controller, seq: 0, truth: new Map(), faultAt: null, unknownAge, edgeSoh: [], edgeAnomaly: [] };
}

/** Runs the pack `ms` further, every record into the store and every sample into the edge nodes. */
async function run(h: Harness, p: Pack, ms: number, nodes: { soh: TestNode; an: TestNode }): Promise<void> {
  let batch: TelemetryRecord[] = [];
  const flush = async (): Promise<void> => {
    const r = await h.store.write(batch);
    assert.equal(r.rejected.length, 0, JSON.stringify(r.rejected[0]));
    batch = [];
  };
  for (let k = 0; k < ms / RECORD_MS; k++) {
    // As runDays does (sim-run.ts), at the record interval: the EMS refreshes the setpoint, the site steps.
    p.site.pcs.write({ wSetEna: true, wSet: p.controller.setpoint(p.site), wRmp: 0, wSetRvrtTms: 0 });
    p.site.step(RECORD_MS);
    const sample = batteryTelemetryOf(p.site);
    const b: BatteryTelemetry = p.unknownAge ? { ...sample, cycles: null } : sample;
    const telemetry = { siteId: p.siteId, ts: b.ts, battery: b };
    batch.push({ siteId: p.siteId, seq: ++p.seq, ts: b.ts, telemetry });
    nodes.soh.receive({ payload: telemetry });
    nodes.an.receive({ payload: telemetry });
    if (b.ts % DAY === 0) p.truth.set(b.ts - DAY, p.site.pack.capacitySohPct);
    if (batch.length === 1000) await flush();
  }
  await flush();
}

const cloudOf = async (h: Harness, siteId: string): Promise<AnomalyPoint[]> => (await h.api.insights.anomalies(siteId, 0, 8e15, 1000)).filter((a) => a.origin === 'cloud');
const cloudSohOf = async (h: Harness, siteId: string) => (await h.api.insights.soh(siteId, 0, 8e15, 1000)).filter((s) => s.origin === 'cloud');
const count = async (h: Harness, table: 'ml_anomalies' | 'ml_soh', siteId: string) =>
  (await h.api.db.one(sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(table)} WHERE site_id = ${siteId} AND origin = 'cloud'`))?.n ?? 0;

describe('cloud SoH and anomaly scores from the time-series store, on the simulator', function () {
  this.timeout(120_000);
  let h: Harness;
  let anomalyModel: string;
  let ageingModel: string;
  // A healthy pack at 400 cycles (93 % of its capacity left) whose BMS counts no cycles, and the
  // scenario of the anomaly-score node's own test (test/ml/ml-nodes.test.ts) with a joint loosening.
  const healthy = pack('site-aged', 400, true);
  const loose = pack('site-loose', 200, false);
  let rmOnClose = '';

  before(async () => {
    // The models `npm run build` made (copied: a build may replace them meanwhile), trained here when it has not made them (slower).
    const dir = mkdtempSync(join(tmpdir(), 'lifo4-cloud-battery-'));
    rmOnClose = dir;
    anomalyModel = join(dir, 'anomaly.onnx');
    ageingModel = join(dir, 'ageing.onnx');
    if (existsSync(BUILT_ANOMALY_MODEL)) copyFileSync(BUILT_ANOMALY_MODEL, anomalyModel);
    else writeFileSync(anomalyModel, trainAnomalyOnnx(1).onnx);
    if (existsSync(BUILT_AGEING_MODEL)) copyFileSync(BUILT_AGEING_MODEL, ageingModel);
    else writeFileSync(ageingModel, trainAgeingOnnx().onnx);
    h = await startHarness({ ml: { tickMs: 0, battery: { anomalyModel, ageingModel, cycleUtcOffsetMin: 0, backfillDays: 30, battery: () => ({ ambientC: AMBIENT_C }) } } });
    await helper.load([sohEstimate, anomalyScore], [healthy, loose].flatMap((p) => [
      { id: `soh-${p.siteId}`, type: 'soh-estimate', siteId: p.siteId, model: ageingModel, cellsInSeries: 16, wires: [[`soh-out-${p.siteId}`]] },
      { id: `an-${p.siteId}`, type: 'anomaly-score', siteId: p.siteId, model: anomalyModel, ambientC: AMBIENT_C, utcOffsetMin: 0, sampleS: 60, wires: [[`an-out-${p.siteId}`], []] },
      { id: `soh-out-${p.siteId}`, type: 'helper' },
      { id: `an-out-${p.siteId}`, type: 'helper' },
    ]));
    for (const p of [healthy, loose]) {
      helper.getNode(`soh-out-${p.siteId}`).on('input', (m: Msg) => p.edgeSoh.push(SohEstimateMessageSchema.parse(m.payload)));
      helper.getNode(`an-out-${p.siteId}`).on('input', (m: Msg) => p.edgeAnomaly.push(AnomalyScoreSchema.parse(m.payload)));
      const nodes = { soh: helper.getNode(`soh-${p.siteId}`), an: helper.getNode(`an-${p.siteId}`) };
      // One healthy day stored, then (for the loose pack) the connection to cell 11 loosens.
      await run(h, p, DAY, nodes);
      if (p === loose) {
        p.faultAt = p.site.simTimeMs;
        p.site.injectFault({ type: 'loose-connection', cell: 11 });
      }
      // An hour into the day after the last: a record of a later cycle closes the last one, for the edge node and the cloud alike.
      await run(h, p, (DAYS - 1) * DAY + 3_600_000, nodes);
    }
    for (const p of [healthy, loose]) await eventually(async () => (p.edgeAnomaly.length >= DAYS ? true : undefined), 30_000, `the edge scores of ${p.siteId}`);
  });

  after(async () => {
    await helper.unload();
    await h?.close();
    if (rmOnClose) rmSync(rmOnClose, { recursive: true, force: true });
  });

  it('scores every stored cycle once on its schedule: the healthy pack never flagged, the loosening joint flagged, as the edge node does', async () => {
    // The sites become known to the cloud by their records, as in the field.
    for (const p of [healthy, loose]) h.hub.emit('record', { siteId: p.siteId, seq: ++p.seq, ts: p.site.simTimeMs });
    // The hub's events are handled in order, asynchronously: the sites are registered a moment later.
    const ids = [healthy.siteId, loose.siteId];
    await eventually(async () => ((await h.api.db.all(sql`SELECT id FROM sites WHERE id IN (${sql.join(ids)})`)).length === ids.length ? true : undefined), 5000, 'the sites registered');
    await h.api.ml.tick();
    for (const p of [healthy, loose]) {
      const cloud = await cloudOf(h, p.siteId);
      assert.equal(cloud.length, DAYS, `${p.siteId}: a score for each stored day`);
      assert.deepEqual(cloud.map((c) => c.cycleStart), p.edgeAnomaly.map((e) => e.cycleStart), 'the same cycles as the edge node');
      cloud.forEach((c, i) => {
        const e = p.edgeAnomaly[i]!;
        assert.equal(c.model, e.model, 'the same model file');
        assert.equal(c.threshold, e.threshold, "the model's threshold");
        assert.equal(c.samples, 1440, 'a sample per minute');
        // Minute means against point samples (store-battery.ts). Measured here: scores within 0.022,
        // features within 0.04 mOhm (loadDeviationMohm, the one fed by the instants around a current step).
        assert.ok(Math.abs(c.score - e.score) < 0.05, `${p.siteId} day ${i}: cloud ${c.score}, edge ${e.score}`);
        assert.equal(c.anomalous, e.anomalous, `${p.siteId} day ${i}: the same verdict (cloud ${c.score}, edge ${e.score}, threshold ${c.threshold})`);
      });
      const before = cloud.filter((c) => p.faultAt === null || c.cycleEnd <= p.faultAt);
      assert.ok(before.length >= 1 && before.every((c) => !c.anomalous), `${p.siteId} healthy days: ${before.map((c) => c.score).join(', ')}`);
    }
    const after = (await cloudOf(h, loose.siteId)).filter((c) => c.cycleStart >= (loose.faultAt ?? Infinity));
    assert.ok(after.some((c) => c.anomalous), `loose joint: ${after.map((c) => c.score).join(', ')}`);
    assert.ok(after.filter((c) => c.anomalous).every((c) => (c.features.loadDeviationMohm ?? 0) > 0.25), 'flagged by the cell that drops under load');
  });

  it('estimates the SoH within 2 points of the true capacity from capacity measurements, also when the prior is 7 points off, as the edge node does', async () => {
    for (const p of [healthy, loose]) {
      const soh = await cloudSohOf(h, p.siteId);
      assert.equal(soh.length, DAYS, 'one estimate per day');
      soh.forEach((s, i) => {
        const day = Math.floor(s.ts / DAY) * DAY;
        assert.equal(s.ts, day + DAY - 60_000, "the day's last minute");
        const truth = p.truth.get(day);
        assert.ok(truth !== undefined, `truth of ${new Date(day).toISOString()}`);
        assert.ok(Math.abs(s.sohPct - truth) < 2, `${p.siteId} day ${i}: cloud ${s.sohPct} vs true ${truth}`);
        const edge = p.edgeSoh.filter((e) => e.ts < day + DAY).at(-1);
        assert.ok(edge, 'the edge estimated that day');
        // Measured here: equal to 0.01 points, the same number of capacity measurements.
        assert.ok(Math.abs(s.sohPct - edge.sohPct) < 0.2, `${p.siteId} day ${i}: cloud ${s.sohPct}, edge ${edge.sohPct}`);
        assert.equal(s.measurements, edge.measurements);
      });
      const last = soh.at(-1)!;
      assert.equal(last.source, 'measured');
      assert.ok(last.measurements >= 3, `${last.measurements} capacity measurements`);
      if (p.unknownAge) assert.ok(Math.abs(last.priorPct - p.truth.get(Math.floor(last.ts / DAY) * DAY)!) > 5, 'the ageing prior alone is far off');
      assert.ok(Math.abs(last.capacityWh - (last.sohPct / 100) * p.site.pack.ratedWh) < 0.005 * p.site.pack.ratedWh, 'capacity from the stored rated energy');
    }
  });

  it('does a cycle once: not again on the next pass, nor after a restart', async () => {
    const rows = () => Promise.all([healthy, loose].map(async (p) => [await count(h, 'ml_anomalies', p.siteId), await count(h, 'ml_soh', p.siteId)]));
    const before = await rows();
    await h.api.ml.tick();
    assert.deepEqual(await rows(), before);
    const restarted = new CloudBattery({
      store: () => h.store, insights: h.api.insights, anomalyModel, ageingModel, cycleUtcOffsetMin: 0, backfillDays: 30, log: (l) => assert.fail(l),
    });
    try {
      assert.deepEqual(await restarted.site(loose.siteId), [], 'continues after the last cycle in cloud.db');
    } finally {
      await restarted.close();
    }
    assert.deepEqual(await rows(), before);
  });

  it("shows the cloud's results beside the edge's, each with its origin, on the /ml routes", async () => {
    // The edge's results arrive inside telemetry records (telemetry-out puts them there).
    for (const a of loose.edgeAnomaly) h.hub.emit('record', { siteId: loose.siteId, seq: ++loose.seq, ts: a.cycleEnd, insights: { anomaly: a } });
    for (const e of loose.edgeSoh) h.hub.emit('record', { siteId: loose.siteId, seq: ++loose.seq, ts: e.ts, insights: { soh: e } });
    const token = (await login(h, await createUser(h, 'sa-battery@a.example', 'SUPER_ADMIN'))).accessToken;
    const period = { from: new Date(loose.site.simTimeMs - 10 * DAY).toISOString(), to: new Date(loose.site.simTimeMs).toISOString() };
    const an = await call<{ cycles: { origin: string; cycleStart: string; anomalous: boolean }[] }>(h, 'get', `/ml/sites/${loose.siteId}/anomalies`, { token, query: period });
    assert.equal(an.status, 200, JSON.stringify(an.body));
    const byOrigin = (origin: string) => an.body.cycles.filter((c) => c.origin === origin);
    assert.equal(byOrigin('cloud').length, DAYS);
    assert.equal(byOrigin('edge').length, DAYS);
    assert.deepEqual(byOrigin('cloud').map((c) => [c.cycleStart, c.anomalous]), byOrigin('edge').map((c) => [c.cycleStart, c.anomalous]));
    const soh = await call<{ points: { origin: string; source: string }[] }>(h, 'get', `/ml/sites/${loose.siteId}/soh`, { token, query: period });
    assert.equal(soh.status, 200);
    assert.equal(soh.body.points.filter((p) => p.origin === 'cloud').length, DAYS);
    assert.ok(soh.body.points.filter((p) => p.origin === 'edge').length >= DAYS);
    const models = await call<{ models: { kind: string; origin: string; name: string }[] }>(h, 'get', '/ml/models', { token, query: { siteId: loose.siteId } });
    const kinds = models.body.models.map((m) => `${m.kind}/${m.origin}`).sort();
    assert.deepEqual([...new Set(kinds)], ['anomaly/cloud', 'anomaly/edge', 'soh/cloud']);
  });

  it('rebuilds minute samples whose charge is the charge of the records (coulomb counting loses nothing)', async () => {
    const day = [...loose.truth.keys()][3]!;
    const samples = await batterySamples(h.store, loose.siteId, day, day + DAY, 16);
    assert.equal(samples.length, 1440);
    assert.ok(samples.every((s, i) => s.ts === day + i * 60_000 && s.cellVavg !== null && s.capacityWh !== null));
    // Each minute's current is the mean of its six records: charge = mean current x 60 s, exactly.
    const r = await h.store.range({ siteId: loose.siteId, from: day, to: day + DAY, everyMs: RECORD_MS, fields: ['batteryCurrentA'] });
    assert.equal(r.buckets.length, 1440 * 6);
    samples.forEach((s, i) => {
      const records = r.buckets.slice(6 * i, 6 * i + 6).map((b) => b.fields.batteryCurrentA?.mean ?? NaN);
      const mean = records.reduce((a, b) => a + b, 0) / 6;
      assert.ok(Math.abs(s.current - mean) < 1e-6, `minute ${i}: ${s.current} A vs the records' ${mean} A`);
    });
  });

  it('says once that a model is missing and scores nothing until `npm run build` has made it', async () => {
    const logged: string[] = [];
    const missing = new CloudBattery({
      store: () => h.store, insights: h.api.insights, anomalyModel: join(h.dir, 'none', 'anomaly.onnx'), ageingModel: join(h.dir, 'none', 'ageing.onnx'),
      cycleUtcOffsetMin: 0, backfillDays: 30, log: (l) => logged.push(l),
    });
    try {
      for (let i = 0; i < 2; i++) assert.deepEqual(await missing.site('site-new'), []);
      assert.equal(logged.length, 2, logged.join('\n'));
      assert.match(logged[0]!, /no anomaly model at .*npm run build/);
      assert.match(logged[1]!, /no ageing model at .*npm run build/);
    } finally {
      await missing.close();
    }
  });
});
