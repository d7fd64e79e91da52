import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import type { PcsTelemetry, Telemetry, LoadForecast } from '../../../domain/contracts';
import { DAY_MS, HISTORY_DAYS, STEPS_PER_DAY, dayAheadFeatures } from '../../../domain/forecast/features';
import { LoadForecastSchema } from '../../../domain/contracts';
import loadForecastNode from '../../../nodes/load-forecast/load-forecast';
import { loadHouseholdProfile } from '../../../io/data/real-data';
import { forecastToOnnx, predictForecast, trainForecast, trainingSet, type ForecastModel } from '../../../runtime/ml/forecast-model';

helper.init(require.resolve('node-red'));

/** The next forecast on `node` (for the day starting at `start`, when given). */
function next(node: TestNode, start?: number, ms = 10_000): Promise<LoadForecast> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no forecast')), ms);
    const on = (msg: { payload?: unknown }): void => {
      const f = LoadForecastSchema.parse(msg.payload);
      if (start !== undefined && f.start !== start) return;
      clearTimeout(timer);
      node.removeListener('input', on);
      resolve(f);
    };
    node.on('input', on);
  });
}

describe('load-forecast node', function () {
  this.timeout(60_000);
  const h = loadHouseholdProfile();
  const values = Float64Array.from(h.loadKw.subarray(0, 40 * STEPS_PER_DAY));
  const start = h.time[0]!;
  let dir: string;
  let model: ForecastModel;
  let file: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-ml-'));
    model = trainForecast(trainingSet({ startMs: start, values }, 'BY', HISTORY_DAYS, 30), 'BY', 'kW', { nTrees: 40 });
    file = join(dir, 'forecast.onnx');
    writeFileSync(file, forecastToOnnx(model));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => helper.unload());

  const flow = (): TestFlowNode[] => [
    { id: 'fc', type: 'load-forecast', siteId: 'site-1', model: file, region: '', utcOffsetMin: '0', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];

  it('forecasts the day after a 14-day history seed, as the trainer predicts it', async () => {
    await helper.load(loadForecastNode, flow());
    const out = helper.getNode('out');
    const got = next(out);
    const from = 16 * STEPS_PER_DAY;
    const day = start + 30 * DAY_MS;
    helper.getNode('fc').receive({ topic: 'history', payload: { start: start + 16 * DAY_MS, stepMinutes: 15, loadKw: Array.from(values.subarray(from, 30 * STEPS_PER_DAY)) } });
    const f = await got;
    assert.equal(f.start, day);
    assert.equal(f.filledSteps, 0);
    const expected = predictForecast(model, dayAheadFeatures(values.subarray(from, 30 * STEPS_PER_DAY), day, 'BY'));
    f.loadKw.forEach((v, s) => assert.ok(Math.abs(v - expected[s]!) <= 1e-3 + 1e-4 * Math.abs(expected[s]!), `step ${s}: ${v} vs ${expected[s]}`));
  });

  it('builds its history from meter + PCS telemetry and forecasts at the first telemetry of a new day', async () => {
    await helper.load(loadForecastNode, flow());
    const out = helper.getNode('out');
    const fc = helper.getNode('fc');
    // Seed 13.5 days, then telemetry covers the rest of the day: grid 1500 W import + battery 500 W discharge = 2 kW.
    const seedFrom = start + 16 * DAY_MS;
    fc.receive({ payload: { start: seedFrom, stepMinutes: 15, loadKw: Array.from(values.subarray(16 * STEPS_PER_DAY, 29 * STEPS_PER_DAY + 48)) } });
    const meter = (ts: number): Telemetry => ({ siteId: 'site-1', ts, meter: { ts, power: 1500, frequency: 50, voltage: 230, energyImportWh: null, energyExportWh: null, alarms: [] } });
    const pcs = (ts: number): PcsTelemetry => ({
      ts, power: 500, reactivePower: null, frequency: 50, voltage: null, state: 'RUNNING', gridConnected: true, setpointEnabled: true, setpoint: 500,
      revertTimeS: null, revertRemainingS: null, ratedPowerW: 5000, maxChargeW: 5000, maxDischargeW: 5000, energyInjectedWh: null, energyAbsorbedWh: null, alarms: [],
    });
    for (let t = start + 29 * DAY_MS + 12 * 3_600_000; t < start + 30 * DAY_MS; t += 5 * 60_000) fc.receive({ payload: { ...meter(t), pcs: pcs(t) } });
    const got = next(out, start + 30 * DAY_MS);
    fc.receive({ payload: meter(start + 30 * DAY_MS + 60_000) });
    const f = await got;
    assert.equal(f.start, start + 30 * DAY_MS);
    assert.equal(f.loadKw.length, 96);
    assert.ok(f.loadKw.every((v) => Number.isFinite(v) && v > 0));
  });

  it("runs the package's own model (dist/models/forecast.onnx) when no model is given", async () => {
    await helper.load(loadForecastNode, [{ ...flow()[0]!, model: '' }, flow()[1]!]);
    const got = next(helper.getNode('out'));
    const from = 16 * STEPS_PER_DAY;
    helper.getNode('fc').receive({ topic: 'history', payload: { start: start + 16 * DAY_MS, stepMinutes: 15, loadKw: Array.from(values.subarray(from, 30 * STEPS_PER_DAY)) } });
    const f = await got;
    assert.equal(f.start, start + 30 * DAY_MS);
    assert.match(f.model, /^forecast\.onnx /);
    assert.ok(f.loadKw.every((v) => Number.isFinite(v)));
  });

  it('rejects input that is neither telemetry nor a history seed, with an error Catch nodes see', async () => {
    await helper.load(loadForecastNode, flow());
    const fc = helper.getNode('fc');
    const err = new Promise<string>((resolve) => fc.on('call:error', (call) => resolve(String(call.args[0]))));
    fc.receive({ payload: { hello: 'world' } });
    assert.match(await err, /expected telemetry or a history seed/);
  });

});
