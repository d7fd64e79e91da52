// The load forecast's history outlives the process: kept on disk per site, restored on start, and
// on a fresh edge filled from a past-load source (the simulator's GET /history/load) without ever
// overwriting what the site measured itself.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import type { Telemetry, LoadForecast } from '../../../domain/contracts';
import { DAY_MS, FEATURE_NAMES, HISTORY_DAYS, LEVEL_FEATURE, N_FEATURES, STEPS_PER_DAY, STEP_MS, dayAheadFeatures } from '../../../domain/forecast/features';
import { LoadHistory, LoadHistoryFileSchema } from '../../../domain/forecast/load-history';
import { LoadForecastSchema } from '../../../domain/contracts';
import { LoadForecastConfigSchema } from '../../../nodes/load-forecast/config';
import loadForecastNode from '../../../nodes/load-forecast/load-forecast';
import { loadHouseholdProfile } from '../../../io/data/real-data';
import { forecastToOnnx, trainForecast, trainingSet } from '../../../runtime/ml/forecast-model';

helper.init(require.resolve('node-red'));

describe('load history: kept across restarts', () => {
  const t0 = Date.UTC(2014, 5, 1);

  it('restores the 15-minute means and their sample counts from its file, also under another UTC offset', () => {
    const h = new LoadHistory(3_600_000);
    h.add(t0 + 60_000, 1);
    h.add(t0 + 120_000, 2);
    h.add(t0 + STEP_MS, 4);
    const file = LoadHistoryFileSchema.parse(JSON.parse(JSON.stringify(h.toFile())));
    assert.deepEqual(file.steps, [[t0, 1.5, 2], [t0 + STEP_MS, 4, 1]]);
    const again = new LoadHistory(0);
    again.restore(file);
    again.add(t0 + 180_000, 3); // the interrupted step goes on averaging
    assert.deepEqual(again.toFile().steps, [[t0, 2, 3], [t0 + STEP_MS, 4, 1]]);
  });

  it('fills only the steps it did not measure from a seed', () => {
    const h = new LoadHistory(0);
    h.add(t0 + STEP_MS, 9);
    assert.equal(h.seedMissing(t0, [1, 2, 3]), 2);
    assert.deepEqual(h.toFile().steps.map(([, kw]) => kw), [1, 9, 3]);
  });

  it("treats an unset ${EMS_LOAD_HISTORY_URL} reference as no source, and refuses what is not an http(s) URL", () => {
    const base = { siteId: 'site-1', model: 'm.onnx' };
    assert.equal(LoadForecastConfigSchema.parse({ ...base, historyUrl: '${EMS_LOAD_HISTORY_URL}' }).historyUrl, '');
    assert.equal(LoadForecastConfigSchema.parse({ ...base, historyUrl: 'http://127.0.0.1:5021/history/load' }).historyUrl, 'http://127.0.0.1:5021/history/load');
    assert.equal(LoadForecastConfigSchema.safeParse({ ...base, historyUrl: 'file:///etc/passwd' }).success, false);
  });
});

describe('forecast features of a net load (load - PV)', () => {
  it('scale by the mean magnitude of the last 7 days, a real scale also when the net load averages below zero', () => {
    // Nights at +0.5 kW, days at -0.7 kW (PV surplus): the week's mean is -0.1 kW, its magnitude 0.6 kW.
    const history = Float64Array.from({ length: HISTORY_DAYS * STEPS_PER_DAY }, (_, i) => (i % STEPS_PER_DAY < 48 ? 0.5 : -0.7));
    const X = dayAheadFeatures(history, Date.UTC(2014, 2, 3), 'DE');
    assert.equal(FEATURE_NAMES[LEVEL_FEATURE], 'level_7d');
    for (let s = 0; s < STEPS_PER_DAY; s++) assert.ok(Math.abs(X[s * N_FEATURES + LEVEL_FEATURE]! - 0.6) < 1e-6);
  });
});

describe('load-forecast node: its history on disk and from a past-load source', function () {
  this.timeout(60_000);
  const h = loadHouseholdProfile();
  const start = h.time[0]!;
  const values = Float64Array.from(h.loadKw.subarray(0, 40 * STEPS_PER_DAY));
  const day = start + 30 * DAY_MS;
  /** The 14 days before `day`. */
  const seed = { start: day - HISTORY_DAYS * DAY_MS, stepMinutes: 15, loadKw: Array.from(values.subarray(16 * STEPS_PER_DAY, 30 * STEPS_PER_DAY)) };
  let dir: string;
  let model: string;
  let server: Server | null = null;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-history-'));
    model = join(dir, 'forecast.onnx');
    writeFileSync(model, forecastToOnnx(trainForecast(trainingSet({ startMs: start, values }, 'BY', HISTORY_DAYS, 30), 'BY', 'kW', { nTrees: 20 })));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await helper.unload();
    if (server) await new Promise((r) => server!.close(r));
    server = null;
    rmSync(join(dir, 'site-1.json'), { force: true });
  });

  const flow = (over: Record<string, unknown> = {}): TestFlowNode[] => [
    { id: 'fc', type: 'load-forecast', siteId: 'site-1', model, region: '', utcOffsetMin: '0', dir, wires: [['out']], ...over },
    { id: 'out', type: 'helper' },
  ];
  const next = (node: TestNode): Promise<LoadForecast> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no forecast')), 20_000);
      node.once('input', (msg: { payload?: unknown }) => {
        clearTimeout(timer);
        resolve(LoadForecastSchema.parse(msg.payload));
      });
    });
  const meter = (ts: number): Telemetry => ({ siteId: 'site-1', ts, meter: { ts, power: 800, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] } });

  it('forecasts after a restart from the history it saved before, without a new seed', async () => {
    await helper.load(loadForecastNode, flow());
    const first = next(helper.getNode('out'));
    helper.getNode('fc').receive({ topic: 'history', payload: seed });
    assert.equal((await first).start, day);
    await helper.unload();
    const saved = LoadHistoryFileSchema.parse(JSON.parse(readFileSync(join(dir, 'site-1.json'), 'utf8')));
    assert.equal(saved.steps.length, HISTORY_DAYS * STEPS_PER_DAY);

    await helper.load(loadForecastNode, flow());
    const again = next(helper.getNode('out'));
    helper.getNode('fc').receive({ payload: meter(day + 6 * 3_600_000) });
    const f = await again;
    assert.equal(f.start, day);
    assert.equal(f.filledSteps, 0);
  });

  it('asks its past-load URL once at start when its history falls short, and forecasts today from the answer', async () => {
    // The same measured fortnight, as if it had just ended at today's midnight.
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const recent = { ...seed, start: today - HISTORY_DAYS * DAY_MS };
    const requests: string[] = [];
    // The answer waits until the test listens for the forecast it leads to.
    let answer = (): void => undefined;
    const listening = new Promise<void>((r) => (answer = r));
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      void listening.then(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(recent));
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/history/load`;
    await helper.load(loadForecastNode, flow({ historyUrl: url }));
    const forecast = next(helper.getNode('out'));
    answer();
    const f = await forecast;
    assert.equal(f.start, today);
    assert.equal(f.filledSteps, 0);
    assert.deepEqual(requests, ['/history/load']);
    await helper.unload();
    // What it was given is kept like what it measures: the next start asks no more.
    assert.equal(LoadHistoryFileSchema.parse(JSON.parse(readFileSync(join(dir, 'site-1.json'), 'utf8'))).steps.length, HISTORY_DAYS * STEPS_PER_DAY);
    await helper.load(loadForecastNode, flow({ historyUrl: url }));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(requests, ['/history/load']);
  });
});
