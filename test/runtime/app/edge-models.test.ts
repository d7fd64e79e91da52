import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeModelEnv } from '../../../runtime/app/edge-models';
import { BUILT_MODELS_DIR } from '../../../io/ml/built-models';
import { FLOW_ENV } from '../../../runtime/app/flow-files';

describe('the edge flow\'s models and past loads (EMS_* variables)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-models-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the models `npm run build` trained into dist/models when the data dir has none', () => {
    const env = edgeModelEnv(dir, {});
    assert.equal(env[FLOW_ENV.forecastModel], join(BUILT_MODELS_DIR, 'forecast.onnx'));
    assert.equal(env[FLOW_ENV.ageingModel], join(BUILT_MODELS_DIR, 'ageing.onnx'));
    assert.equal(env[FLOW_ENV.anomalyModel], join(BUILT_MODELS_DIR, 'anomaly.onnx'));
  });

  it('prefers a model put in <data-dir>/models, one by one', () => {
    mkdirSync(join(dir, 'models'));
    writeFileSync(join(dir, 'models', 'forecast.onnx'), 'retrained');
    const env = edgeModelEnv(dir, {});
    assert.equal(env[FLOW_ENV.forecastModel], join(dir, 'models', 'forecast.onnx'));
    assert.equal(env[FLOW_ENV.anomalyModel], join(BUILT_MODELS_DIR, 'anomaly.onnx'));
  });

  it('passes a given past-load URL through, and sets it empty otherwise (an unset ${NAME} would stay in the flow)', () => {
    assert.equal(edgeModelEnv(dir, {})[FLOW_ENV.loadHistoryUrl], '');
    const url = 'http://127.0.0.1:5021/history/load';
    assert.equal(edgeModelEnv(dir, { [FLOW_ENV.loadHistoryUrl]: url })[FLOW_ENV.loadHistoryUrl], url);
  });
});
