// `lifo4 ml train anomaly|ageing` and retraining the load forecast with rollback on regression.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataPath, DATA_FILES, readAgeingData } from '../../../io/data/real-data';
import { ageingSoh, fitAgeingModel } from '../../../runtime/ml/ageing-model';
import { AGEING_MODEL_KIND, ANOMALY_MODEL_KIND, readMetadata } from '../../../io/ml/model-files';
import { trainAndScoreForecast } from '../../../runtime/ml/forecast-training';
import { previousFileOf, readRetrainHistory, retrainForecast, scoresFileOf } from '../../../runtime/ml/forecast-retrain';
import { readLoadSeries } from '../../../runtime/ml/load-series';
import { openSession, runRows } from '../../../io/ml/onnx-session';
import { CLI } from '../../integration/lifo4-process';

const cli = (): string => CLI;
const run = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [cli(), ...args], { encoding: 'utf8' });
const lastJson = (out: string | Buffer): Record<string, unknown> => JSON.parse(String(out).trim().split('\n').pop() ?? '{}') as Record<string, unknown>;

describe('lifo4 ml train anomaly / ageing and retrain forecast', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'lifo4-retrain-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('train ageing writes the fitted LFP ageing model, and onnxruntime computes what the fit says', async () => {
    const out = join(dir, 'ageing.onnx');
    const r = run('ml', 'train', 'ageing', '--out', out);
    assert.equal(r.status, 0, String(r.stderr));
    const summary = lastJson(r.stdout);
    assert.ok(Number(summary.points) > 100 && Number(summary.rmse_pct) < 2, JSON.stringify(summary));
    const bytes = readFileSync(out);
    assert.equal(readMetadata(bytes).kind, AGEING_MODEL_KIND);
    const fit = fitAgeingModel(readAgeingData());
    const s = await openSession(bytes);
    try {
      const y = await runRows(s, Float32Array.from([0, 500, 1000]), 1);
      [0, 500, 1000].forEach((c, i) => assert.ok(Math.abs((y[i] as number) - ageingSoh(fit, c)) < 1e-3, `cycle ${c}`));
    } finally {
      await s.release();
    }
  });

  it('train anomaly writes the isolation forest with its alarm threshold in the metadata', () => {
    const out = join(dir, 'anomaly.onnx');
    const r = run('ml', 'train', 'anomaly', '--out', out);
    assert.equal(r.status, 0, String(r.stderr));
    const summary = lastJson(r.stdout);
    const meta = readMetadata(readFileSync(out));
    assert.equal(meta.kind, ANOMALY_MODEL_KIND);
    assert.equal(Number(meta.threshold), summary.threshold);
    assert.ok(Number(meta.threshold) > 0 && Number(meta.threshold) < 1);
    assert.equal(meta.trees, '100');
  });

  describe('retrain forecast', () => {
    let data: string;
    before(() => {
      // 50 days of the real household profile: 14 of history, 22 to train, 14 to compare on.
      data = join(dir, 'household.csv');
      writeFileSync(data, readFileSync(dataPath(DATA_FILES.household), 'utf8').split('\n').slice(0, 1 + 50 * 96).join('\n'));
    });

    it('keeps the current model when the candidate is no better on the last two weeks (the same training: equal)', async () => {
      const series = readLoadSeries(data);
      const current = join(dir, 'same.onnx');
      // What retraining on the same data produces: the candidate ties and must not replace it.
      writeFileSync(current, trainAndScoreForecast(series, 'DE', 14).onnx);
      const r = await retrainForecast(series, current);
      assert.equal(r.candidate.mae, r.current.mae);
      assert.equal(r.replaced, false);
      assert.equal(existsSync(previousFileOf(current)), false);
      const meta = readMetadata(readFileSync(current));
      assert.equal(Number(meta.eval_mae), r.current.mae);
      assert.equal(Number(meta.rejected_candidate_eval_mae), r.candidate.mae);
      assert.deepEqual(readRetrainHistory(current), [r]);
    });

    it('retrains a net-load model (what the edge meters) as a net-load model unless told otherwise', () => {
      const current = join(dir, 'net.onnx');
      const t = run('ml', 'train', 'forecast', '--data', data, '--out', current, '--series', 'net');
      assert.equal(t.status, 0, String(t.stderr));
      // The same training on the same net series ties: had it read the gross load, the scores would differ.
      const r = run('ml', 'retrain', 'forecast', '--data', data, '--current', current);
      assert.equal(r.status, 0, String(r.stderr));
      const printed = lastJson(r.stdout);
      assert.equal(printed.candidate_mae, printed.current_mae, JSON.stringify(printed));
      assert.equal(printed.replaced, false);
      assert.equal(readMetadata(readFileSync(current)).series, 'net');
    });

    it('replaces a worse model (trained on a city\'s demand) from the CLI, keeps the old one and both scores', async () => {
      const current = join(dir, 'city.onnx');
      const city = join(dir, 'berlin.txt');
      // 40 days of Berlin demand make a model of a city's shape, poor for a household.
      const lines = readFileSync(dataPath(DATA_FILES.berlinDemand), 'utf8').split('\n');
      const header = lines.filter((l) => l.startsWith('#') || /^[a-z]/i.test(l.trim()));
      const rows = lines.filter((l) => /^\s*[0-9]/.test(l)).slice(0, 40 * 96);
      writeFileSync(city, [...header, ...rows].join('\n'));
      const t = run('ml', 'train', 'forecast', '--data', city, '--out', current, '--holdout-days', '0', '--origin', '2012-01-01');
      assert.equal(t.status, 0, String(t.stderr));
      const before = readFileSync(current);
      const r = run('ml', 'retrain', 'forecast', '--data', data, '--current', current);
      assert.equal(r.status, 0, String(r.stderr));
      const printed = lastJson(r.stdout);
      assert.ok(Number(printed.candidate_mae) < Number(printed.current_mae), JSON.stringify(printed));
      assert.equal(printed.replaced, true);
      assert.deepEqual(readFileSync(previousFileOf(current)), before, 'the replaced model is kept');
      const meta = readMetadata(readFileSync(current));
      assert.equal(Number(meta.eval_mae), printed.candidate_mae);
      assert.equal(Number(meta.replaced_model_eval_mae), printed.current_mae);
      const history = readRetrainHistory(current);
      assert.equal(history.length, 1);
      assert.equal(history[0]?.replaced, true);
      assert.equal(printed.scores, scoresFileOf(current));
      // Retrained again on the same data, the new model ties with itself: it stays, a record more.
      const again = run('ml', 'retrain', 'forecast', '--data', data, '--current', current);
      assert.equal(again.status, 0, String(again.stderr));
      assert.equal(lastJson(again.stdout).replaced, false);
      assert.equal(readRetrainHistory(current).length, 2);
    });
  });
});
