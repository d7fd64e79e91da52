// flows/edge.json's models on the in-process simulator: the load forecast, the SoH estimate and the
// anomaly score run from the ONNX files `npm run build` trained (dist/models, named through the
// EMS_* variables the runtime sets), and their outputs reach the cloud inside telemetry records.
// A fresh edge has no load history: it seeds it from the simulator's GET /history/load, the real
// household profile the simulator replayed, which is checked here against data/ itself.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import helper from 'node-red-node-test-helper';
import { TelemetryRecordSchema } from '../../domain/contracts';
import { LoadHistorySeedSchema } from '../../domain/forecast/load-history';
import anomalyScore from '../../nodes/anomaly-score/anomaly-score';
import loadForecast from '../../nodes/load-forecast/load-forecast';
import mqttLink from '../../nodes/mqtt-link/mqtt-link';
import sohEstimate from '../../nodes/soh-estimate/soh-estimate';
import telemetryOut from '../../nodes/telemetry-out/telemetry-out';
import { edgeModelEnv } from '../../runtime/app/edge-models';
import { BUILT_MODELS_DIR } from '../../io/ml/built-models';
import { FLOW_ENV } from '../../runtime/app/flow-files';
import { loadHouseholdProfile } from '../../io/data/real-data';
import { startSimulator, type RunningSimulator } from '../../runtime/simulator';
import { startFakeCloud, type FakeCloud } from '../nodes/mqtt/fake-cloud';
import { startAedes, type RunningAedes } from '../services/aedes';
import { makeTempDir, waitUntil } from '../services/service';
import { edgeLoopFlow, LOOP_NODES } from './edge-loop';
import { tempUserDirPerTest } from '../user-dir';

helper.init(require.resolve('node-red'));

const STEP_MS = 900_000;
const DAY_MS = 86_400_000;
const CET_MS = 3_600_000;

describe("the simulator's past load (GET /history/load)", function () {
  this.timeout(30_000);
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0 });
  });
  after(() => sim.close());

  it('gives 15 days of 15-minute net loads (load - pv) that the household profile in data/ replayed, ending now', async () => {
    const res = await fetch(`http://127.0.0.1:${sim.controlPort}/history/load`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { simStart: string };
    const seed = LoadHistorySeedSchema.parse(body);
    assert.equal(seed.loadKw.length, 15 * 96);
    assert.equal(seed.start % STEP_MS, 0);
    const end = seed.start + seed.loadKw.length * STEP_MS;
    assert.ok(end <= Date.now() && end > Date.now() - STEP_MS, 'the last whole step before now');
    // Each step is the mean of the profile over its simulated 15 minutes (speed 1): between the
    // smallest and largest of the measured points around it.
    const h = loadHouseholdProfile();
    const net = (i: number): number => h.loadKw[i]! - h.pvKw[i]!;
    const simStart = Date.parse(body.simStart);
    seed.loadKw.forEach((v, i) => {
      const k = Math.floor((simStart + i * STEP_MS - h.time[0]!) / STEP_MS);
      const around = [net(k), net(k + 1), net(k + 2)];
      assert.ok(v >= Math.min(...around) - 1e-3 && v <= Math.max(...around) + 1e-3, `step ${i}: ${v} kW outside ${around.join(', ')}`);
    });
  });

  it('refuses a bad number of days', async () => {
    const res = await fetch(`http://127.0.0.1:${sim.controlPort}/history/load?days=0`);
    assert.equal(res.status, 400);
  });
});

describe('the default edge flow (flows/edge.json) with its models on the simulator', function () {
  tempUserDirPerTest();
  this.timeout(90_000);
  let sim: RunningSimulator;
  let aedes: RunningAedes;
  let cloud: FakeCloud;
  let tmp: ReturnType<typeof makeTempDir>;
  const saved: Record<string, string | undefined> = {};

  before(function () {
    for (const m of ['forecast', 'ageing', 'anomaly']) {
      // The models are build output (scripts/train-models.mjs): without them the flow cannot run.
      if (!existsSync(`${BUILT_MODELS_DIR}/${m}.onnx`)) throw new Error(`dist/models/${m}.onnx is missing: run npm run build`);
    }
  });

  beforeEach(async () => {
    tmp = makeTempDir('edge-models');
    sim = await startSimulator({ modbusPort: 0, controlPort: 0 });
    aedes = await startAedes();
    cloud = await startFakeCloud(aedes.url, 'site-1');
    // What the runtime sets for the edge (runtime.ts): broker, no TLS, models, past loads.
    const env: Record<string, string> = {
      [FLOW_ENV.mqttUrl]: aedes.url, [FLOW_ENV.mqttCa]: '', [FLOW_ENV.mqttCert]: '', [FLOW_ENV.mqttKey]: '',
      ...edgeModelEnv(tmp.dir, { [FLOW_ENV.loadHistoryUrl]: `http://127.0.0.1:${sim.controlPort}/history/load` }),
    };
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const flow = edgeLoopFlow({ modbusPort: sim.modbusPort, cycleMs: 200, keep: ['load-forecast', 'soh-estimate', 'anomaly-score', 'telemetry-out', 'mqtt-link'] });
    // Files under the test's folder, not the user's home (the helper has no user dir).
    for (const n of flow) if (n.type === 'telemetry-out' || n.type === 'load-forecast') n.dir = tmp.dir;
    await helper.load([...LOOP_NODES, loadForecast, sohEstimate, anomalyScore, telemetryOut, mqttLink], flow);
  });
  afterEach(async () => {
    await helper.unload();
    await cloud.close();
    await aedes.stop();
    await sim.close();
    tmp.remove();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("sends the pack's SoH and, from the replayed past, today's load forecast to the cloud inside telemetry records", async () => {
    const insight = (kind: 'soh' | 'forecast') => cloud.stored.find((r) => r.insights?.[kind]);
    await waitUntil('a record with the SoH estimate', async () => insight('soh') !== undefined, { timeoutMs: 60_000 });
    await waitUntil('a record with the load forecast', async () => insight('forecast') !== undefined, { timeoutMs: 60_000 });

    const soh = insight('soh')!;
    assert.ok(TelemetryRecordSchema.safeParse(soh).success);
    // A new pack (the simulator starts at 0 cycles): 100 % from the ageing model until a rest-to-rest measurement.
    assert.equal(soh.insights!.soh!.source, 'prior');
    assert.ok(Math.abs(soh.insights!.soh!.sohPct - 100) < 0.5, `SoH ${soh.insights!.soh!.sohPct}`);

    const f = insight('forecast')!.insights!.forecast!;
    const today = Math.floor((Date.now() + CET_MS) / DAY_MS) * DAY_MS - CET_MS;
    assert.ok(f.start === today || f.start === today - DAY_MS, 'the forecast of the site-local day it started on');
    assert.equal(f.loadKw.length, 96);
    assert.ok(f.filledSteps <= 96, `${f.filledSteps} steps filled`);
    assert.match(f.model, /^forecast\.onnx /);
    // A household's net load: kilowatts, a few at most, PV surplus negative.
    assert.ok(f.loadKw.every((v) => Number.isFinite(v) && v > -10 && v < 10), JSON.stringify(f.loadKw));
  });
});
