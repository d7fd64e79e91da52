// The cloud's side of the models: the edge's insights stored once however often a record is resent, the
// cloud's own day-ahead forecast from the real household load put into a real SQLite time-series
// store (through onnxruntime-web, equal to the model run offline on the same days), retraining
// with rollback on regression (real training on small data, in a worker thread) with both scores
// kept as a model version, and the /api/v1/ml routes with who may read them.
import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TelemetryRecord, AnomalyScore, LoadForecast, SohEstimateMessage } from '../../../domain/contracts';
import { DAY_MS, N_FEATURES, STEPS_PER_DAY, STEP_MS, featuresForDay } from '../../../domain/forecast/features';
import { dataPath, DATA_FILES } from '../../../io/data/real-data';
import { previousFileOf } from '../../../runtime/ml/forecast-retrain';
import { trainAndScoreForecast } from '../../../runtime/ml/forecast-training';
import { readLoadSeries, type LoadedSeries } from '../../../runtime/ml/load-series';
import { readMetadata } from '../../../io/ml/model-files';
import { openSession, runRows } from '../../../io/ml/onnx-session';
import type { RetrainEntry, StoredForecast } from '../../../runtime/ml/insight-store';
import { CloudMl, type Skipped } from '../../../runtime/ml/cloud-ml';
import { eventually } from '../../integration/lifo4-process';
import { buildFleet, type Fleet } from '../api/fleet-fixture';
import { call, createUser, login, startHarness, type Harness } from '../api/harness';

/** A record as the edge's telemetry-out sends it: meter and PCS, so the store derives netLoadW. */
function loadRecord(siteId: string, seq: number, ts: number, loadKw: number): TelemetryRecord {
  return {
    siteId, seq, ts,
    telemetry: {
      siteId, ts,
      meter: { ts, power: loadKw * 1000, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] },
      pcs: {
        ts, power: 0, reactivePower: 0, frequency: 50, voltage: 230, state: 'RUNNING', gridConnected: true, setpointEnabled: true,
        setpoint: 0, revertTimeS: 5, revertRemainingS: 4, ratedPowerW: 5000, maxChargeW: 5000, maxDischargeW: 5000,
        energyInjectedWh: null, energyAbsorbedWh: null, alarms: [],
      },
    },
  };
}

/** Puts `days` days of the series into the store, one record per 15-minute step (a minute into it). */
async function storeLoad(h: Harness, siteId: string, series: LoadedSeries, days: number): Promise<void> {
  const n = days * STEPS_PER_DAY;
  for (let i = 0; i < n; i += 1000) {
    const batch: TelemetryRecord[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(loadRecord(siteId, j + 1, series.startMs + j * STEP_MS + 60_000, series.values[j]!));
    const r = await h.store.write(batch);
    assert.equal(r.rejected.length, 0, JSON.stringify(r.rejected[0]));
  }
  h.hub.emit('record', loadRecord(siteId, n + 1, series.startMs + n * STEP_MS, series.values[n - 1]!));
}

const days = (s: LoadedSeries, n: number): LoadedSeries => ({ ...s, values: s.values.slice(0, n * STEPS_PER_DAY) });
const skipped = (r: unknown): r is Skipped => typeof r === 'object' && r !== null && 'skipped' in r;
const count = async (h: Harness, table: 'ml_forecasts' | 'ml_soh' | 'ml_anomalies' | 'ml_retrains', siteId: string) =>
  (await h.api.db.one(sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(table)} WHERE site_id = ${siteId}`))?.n ?? 0;

describe('cloud ML: insights from the edge, the cloud forecast, retraining, /api/v1/ml', function () {
  this.timeout(300_000);
  let household: LoadedSeries;
  before(() => {
    // data/household_profile.csv: one household's 15-minute load, 2014, read on its local calendar as UTC.
    household = readLoadSeries(dataPath(DATA_FILES.household));
  });

  describe('insights carried by telemetry records', () => {
    let h: Harness;
    let fleet: Fleet;
    const t0 = Date.UTC(2026, 10, 20);
    const forecast = (ts: number, kw: number): LoadForecast => ({
      siteId: 'site-a', ts, start: t0, stepMinutes: 15, loadKw: Array.from({ length: 96 }, (_, i) => kw + (i % 4) / 10), model: 'forecast.onnx 2026-11-01T00:00:00.000Z', filledSteps: 0,
    });
    const soh: SohEstimateMessage = { siteId: 'site-a', ts: t0 + 3_600_000, sohPct: 97.4, sdPct: 0.6, capacityWh: 9973, source: 'measured', measurements: 3, cycles: 212, priorPct: 97.9 };
    const anomaly: AnomalyScore = {
      siteId: 'site-a', cycleStart: t0 - DAY_MS, cycleEnd: t0, score: 0.71, threshold: 0.62, anomalous: true, samples: 86_400, model: 'anomaly.onnx 2026-11-01T00:00:00.000Z',
      features: { restSpreadMv: 14, restDriftMvPerH: 2.5, loadDeviationMohm: 0.3, resistanceMohm: 4.1, thermalKPerKA2: 0.9 },
    };

    before(async () => {
      h = await startHarness({ ml: { tickMs: 0, utcOffsetMin: 60 } });
      fleet = await buildFleet(h);
    });
    after(() => h?.close());

    it('stores a forecast, an SoH estimate and an anomaly score once, however often the record is resent', async () => {
      const r: TelemetryRecord = { siteId: 'site-a', seq: 500, ts: t0 + 3_600_000, insights: { forecast: forecast(t0 + 60_000, 1.2), soh, anomaly } };
      for (let i = 0; i < 3; i++) h.hub.emit('record', structuredClone(r));
      await eventually(async () => ((await count(h, 'ml_anomalies', 'site-a')) > 0 ? true : undefined), 5000, 'the record stored');
      assert.equal(await h.api.insights.ingest(r), false, 'nothing new in a resend');
      assert.equal(await count(h, 'ml_forecasts', 'site-a'), 1);
      assert.equal(await count(h, 'ml_soh', 'site-a'), 1);
      assert.equal(await count(h, 'ml_anomalies', 'site-a'), 1);
      // A forecast of the same day made later (the edge restarted) is a new forecast, and the newest is shown.
      h.hub.emit('record', { siteId: 'site-a', seq: 501, ts: t0 + 7_200_000, insights: { forecast: forecast(t0 + 120_000, 2.2) } });
      await eventually(async () => ((await count(h, 'ml_forecasts', 'site-a')) === 2 ? true : undefined), 5000, 'the later forecast stored');
    });

    it("files an insight under the record's site, whatever site the message inside names", async () => {
      h.hub.emit('record', { siteId: 'site-a2', seq: 9, ts: t0, insights: { soh: { ...soh, siteId: 'site-b', ts: t0 + 1 } } });
      await eventually(async () => ((await count(h, 'ml_soh', 'site-a2')) === 1 ? true : undefined), 5000, 'the estimate stored under site-a2');
      assert.equal(await count(h, 'ml_soh', 'site-b'), 0);
    });

    it("answers a day's edge forecast with its error against the stored load, the SoH history and the anomaly scores with the threshold", async () => {
      const token = fleet.sessions.USER.accessToken;
      // The store holds the first two steps of the forecast's day.
      const actual = [1.0, 3.0];
      for (const [i, kw] of actual.entries()) await h.store.write([loadRecord('site-a', 1000 + i, t0 + i * STEP_MS + 1000, kw)]);
      const f = await call<{ edge: { loadKw: number[]; maeKw: number; comparedSteps: number; model: string } | null; cloud: unknown; actualKw: (number | null)[]; start: string }>(
        h, 'get', '/ml/sites/site-a/forecast', { token, query: { day: '2026-11-20' } },
      );
      assert.equal(f.status, 200, JSON.stringify(f.body));
      assert.equal(f.body.start, new Date(t0).toISOString());
      assert.equal(f.body.cloud, null);
      assert.ok(f.body.edge);
      assert.equal(f.body.edge.loadKw[0], 2.2, 'the newest forecast of the day');
      assert.deepEqual(f.body.actualKw.slice(0, 3), [1.0, 3.0, null]);
      assert.equal(f.body.edge.comparedSteps, 2);
      assert.ok(Math.abs(f.body.edge.maeKw - (Math.abs(2.2 - 1.0) + Math.abs(2.3 - 3.0)) / 2) < 1e-9);

      const sohRes = await call<{ points: { ts: string; sohPct: number; sdPct: number; source: string; origin: string }[] }>(h, 'get', '/ml/sites/site-a/soh', {
        token, query: { from: new Date(t0 - DAY_MS).toISOString(), to: new Date(t0 + DAY_MS).toISOString() },
      });
      assert.equal(sohRes.status, 200);
      assert.deepEqual(sohRes.body.points.map((p) => [p.ts, p.sohPct, p.sdPct, p.source, p.origin]), [[new Date(soh.ts).toISOString(), 97.4, 0.6, 'measured', 'edge']]);

      const an = await call<{ threshold: number; cycles: { score: number; anomalous: boolean; features: Record<string, number>; cycleStart: string }[] }>(
        h, 'get', '/ml/sites/site-a/anomalies', { token, query: { from: new Date(t0 - 2 * DAY_MS).toISOString(), to: new Date(t0 + DAY_MS).toISOString() } },
      );
      assert.equal(an.status, 200);
      assert.equal(an.body.threshold, 0.62);
      assert.equal(an.body.cycles.length, 1);
      assert.deepEqual(an.body.cycles[0]?.features, anomaly.features);
      assert.equal(an.body.cycles[0]?.anomalous, true);
      assert.equal(an.body.cycles[0]?.cycleStart, new Date(t0 - DAY_MS).toISOString());
    });

    it("shows a USER its assigned site's insights only, and nobody another organisation's", async () => {
      h.hub.emit('record', { siteId: 'site-a2', seq: 10, ts: t0, insights: { forecast: { ...forecast(t0 + 5, 3), siteId: 'site-a2' } } });
      const user = fleet.sessions.USER.accessToken;
      assert.equal((await call(h, 'get', '/ml/sites/site-a2/soh', { token: user })).status, 404);
      assert.equal((await call(h, 'get', '/ml/sites/site-a2/forecast', { token: user })).status, 404);
      assert.equal((await call(h, 'get', '/ml/sites/site-a/anomalies', { token: fleet.otherOrgViewer.accessToken })).status, 404);
      const models = async (token: string) => (await call<{ models: { siteId: string; kind: string; origin: string }[] }>(h, 'get', '/ml/models', { token })).body.models;
      assert.deepEqual([...new Set((await models(user)).map((m) => m.siteId))], ['site-a']);
      assert.deepEqual([...new Set((await models(fleet.sessions.VIEWER.accessToken)).map((m) => m.siteId))].sort(), ['site-a', 'site-a2']);
      assert.deepEqual(await models(fleet.otherOrgAdmin.accessToken), []);
      assert.ok((await models(user)).some((m) => m.kind === 'anomaly' && m.origin === 'edge'));
    });

    it('refuses a day that does not exist with a 400 and a message', async () => {
      const r = await call(h, 'get', '/ml/sites/site-a/forecast', { token: fleet.sessions.VIEWER.accessToken, query: { day: '2026-02-30' } });
      assert.equal(r.status, 400);
      assert.match(String(r.body.message), /no such date/);
    });
  });

  describe('the cloud forecast and retraining on the household load in the time-series store', () => {
    let h: Harness;
    let initial: string;
    const SITE = 'site-h';
    // The household data is on its local calendar read as UTC: the sites' days begin at 00:00 UTC here.
    const at = (day: number, hours = 1) => household.startMs + day * DAY_MS + hours * 3_600_000;

    before(async () => {
      h = await startHarness({ ml: { tickMs: 0, utcOffsetMin: 0 } });
      // The model the cloud starts from: trained on the first 30 days (holdout 0: all of them).
      initial = join(h.dir, 'initial-forecast.onnx');
      writeFileSync(initial, trainAndScoreForecast(days(household, 30), 'DE', 0).onnx);
      await storeLoad(h, SITE, household, 50);
    });
    after(() => h?.close());

    it('forecasts the day from the 14 days before it in the store, as the model does offline on the same days', async () => {
      const ml = new CloudMl({
        dataDir: h.dir, store: () => h.store, insights: h.api.insights, sites: () => [SITE], initialModel: initial, utcOffsetMin: 0, tickMs: 0, log: () => undefined,
      });
      const f = await ml.forecastSite(SITE, at(40));
      assert.ok(!skipped(f), JSON.stringify(f));
      assert.equal(f.start, household.startMs + 40 * DAY_MS);
      const session = await openSession(readFileSync(initial));
      try {
        const offline = await runRows(session, featuresForDay(household, 40, 'DE'), N_FEATURES);
        f.loadKw.forEach((v, i) => assert.ok(Math.abs(v - offline[i]!) < 2e-3, `step ${i}: cloud ${v}, offline ${offline[i]}`));
      } finally {
        await session.release();
      }
      assert.ok(existsSync(ml.modelFile(SITE)), 'the site got its own copy of the model');
      assert.deepEqual(await ml.forecastSite(SITE, at(40, 5)), { skipped: 'forecast made already' });
      assert.match((await ml.forecastSite(SITE, at(10)) as Skipped).skipped, /too little load history/);
      await ml.close();

      const r = await call<{ cloud: { loadKw: number[]; maeKw: number; comparedSteps: number } | null; actualKw: number[] }>(h, 'get', `/ml/sites/${SITE}/forecast`, {
        token: await superAdmin(h), query: { day: new Date(household.startMs + 40 * DAY_MS).toISOString().slice(0, 10) },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.cloud);
      assert.equal(r.body.cloud.comparedSteps, 96);
      r.body.actualKw.forEach((a, i) => assert.ok(Math.abs(a - household.values[40 * STEPS_PER_DAY + i]!) < 1e-9, `actual step ${i}`));
    });

    it('keeps the current model when the retrained candidate is worse on the last two weeks, and records both scores', async () => {
      // The current model has seen the comparison days (trained on all 50): the candidate, which has not, scores worse.
      const file = h.api.ml.modelFile(SITE);
      writeFileSync(file, trainAndScoreForecast(days(household, 50), 'DE', 0).onnx);
      const trainedAt = readMetadata(readFileSync(file)).trained_at;
      const r = (await h.api.ml.retrainSite(SITE, at(50))) as RetrainEntry;
      assert.ok(!skipped(r), JSON.stringify(r));
      assert.ok(r.candidate.mae > r.current.mae, JSON.stringify(r));
      assert.equal(r.replaced, false);
      assert.equal(readMetadata(readFileSync(file)).trained_at, trainedAt, 'the same model stays');
      assert.equal(existsSync(previousFileOf(file)), false);
      assert.equal(r.evalTo - r.evalFrom, 14 * DAY_MS);
      assert.equal(r.evalTo, household.startMs + 50 * DAY_MS);
      assert.equal(r.modelAfter, r.current.model);
    });

    it('replaces a model that does worse than the retrained candidate, keeps the old file, and shows both scores', async () => {
      // A model of a city's demand (Berlin, 40 days of 2012) forecasts a household poorly.
      const berlin = readLoadSeries(dataPath(DATA_FILES.berlinDemand));
      const file = h.api.ml.modelFile(SITE);
      const city = trainAndScoreForecast(days(berlin, 40), 'DE', 0).onnx;
      writeFileSync(file, city);
      const r = (await h.api.ml.retrainSite(SITE, at(50))) as RetrainEntry;
      assert.ok(!skipped(r), JSON.stringify(r));
      assert.ok(r.candidate.mae < r.current.mae, JSON.stringify(r));
      assert.equal(r.replaced, true);
      assert.deepEqual(readFileSync(previousFileOf(file)), Buffer.from(city), 'the replaced model is kept');
      assert.equal(r.modelAfter, r.candidate.model);
      assert.notEqual(r.modelAfter, r.current.model);

      const m = await call<{ retrains: { siteId: string; replaced: boolean; current: { mae: number }; candidate: { mae: number }; modelAfter: string }[]; models: { name: string; origin: string }[] }>(
        h, 'get', '/ml/models', { token: await superAdmin(h), query: { siteId: SITE } },
      );
      assert.equal(m.status, 200);
      assert.deepEqual(m.body.retrains.map((x) => x.replaced), [true, false], 'newest first, both retrainings');
      assert.equal(m.body.retrains[0]?.current.mae, r.current.mae);
      assert.equal(m.body.retrains[0]?.candidate.mae, r.candidate.mae);
      assert.ok(m.body.models.some((x) => x.origin === 'cloud' && x.name === r.modelAfter));
    });

    it('on its schedule retrains only when a retraining is due, and forecasts each day once', async () => {
      const now = { ms: at(50) };
      const ml = new CloudMl({
        dataDir: h.dir, store: () => h.store, insights: h.api.insights, sites: () => [SITE], initialModel: initial, utcOffsetMin: 0, tickMs: 0,
        retrainEveryMs: 7 * DAY_MS, now: () => now.ms, log: (l) => logged.push(l),
      });
      const logged: string[] = [];
      try {
        const retrains = await count(h, 'ml_retrains', SITE);
        assert.equal(await ml.retrainDue(SITE), false, 'retrained moments ago (in the tests before)');
        await ml.tick();
        assert.equal(await count(h, 'ml_retrains', SITE), retrains);
        const day50 = (await h.api.insights.latestForecasts(SITE, household.startMs + 50 * DAY_MS, household.startMs + 51 * DAY_MS)).cloud as StoredForecast;
        assert.ok(day50, 'the day after the stored data is forecast');
        await ml.tick();
        assert.equal(await count(h, 'ml_forecasts', SITE), 2, 'days 40 and 50, each once');
        now.ms = at(58);
        assert.equal(await ml.retrainDue(SITE), true, 'a week later');
        assert.deepEqual(logged, []);
      } finally {
        await ml.close();
      }
    });

    it('says once, not on every pass, that a site has no model to start from, nor the SoH and anomaly models', async () => {
      const logged: string[] = [];
      const ml = new CloudMl({
        dataDir: join(h.dir, 'no-models'), store: () => h.store, insights: h.api.insights, sites: () => [SITE], initialModel: join(h.dir, 'missing.onnx'),
        utcOffsetMin: 0, tickMs: 0, now: () => at(45), log: (l) => logged.push(l),
        battery: { anomalyModel: join(h.dir, 'missing-anomaly.onnx'), ageingModel: join(h.dir, 'missing-ageing.onnx') },
      });
      try {
        await ml.tick();
        await ml.tick();
        assert.equal(logged.length, 3, logged.join('\n'));
        assert.match(logged[0]!, /site-h: no forecast model .*npm run build/);
        assert.match(logged[1]!, /no anomaly model at .*missing-anomaly\.onnx \(npm run build writes it\)/);
        assert.match(logged[2]!, /no ageing model at .*missing-ageing\.onnx \(npm run build writes it\)/);
      } finally {
        await ml.close();
      }
    });
  });
});

async function superAdmin(h: Harness): Promise<string> {
  const email = `sa-${Math.random().toString(36).slice(2)}@a.example`;
  return (await login(h, await createUser(h, email, 'SUPER_ADMIN'))).accessToken;
}
