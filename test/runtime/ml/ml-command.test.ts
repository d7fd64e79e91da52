import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataPath, DATA_FILES } from '../../../io/data/real-data';
import { forecastModelInfo } from '../../../io/ml/model-files';
import { openSession } from '../../../io/ml/onnx-session';
import { CLI } from '../../integration/lifo4-process';

describe('lifo4 ml train forecast', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'lifo4-mlcli-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains on the household CSV and writes an ONNX model onnxruntime loads, with its holdout score', async () => {
    // 45 days of the real file keep the test short.
    const lines = readFileSync(dataPath(DATA_FILES.household), 'utf8').split('\n').slice(0, 1 + 45 * 96);
    const data = join(dir, 'household.csv');
    writeFileSync(data, lines.join('\n'));
    const out = join(dir, 'model.onnx');
    const cli = CLI;
    const r = spawnSync(process.execPath, [cli, 'ml', 'train', 'forecast', '--data', data, '--out', out, '--region', 'BY', '--holdout-days', '7'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { holdout_days: number; train_days: number; holdout_mae: number };
    assert.equal(summary.holdout_days, 7);
    assert.equal(summary.train_days, 45 - 14 - 7);
    assert.ok(summary.holdout_mae > 0);
    const bytes = readFileSync(out);
    assert.equal(forecastModelInfo(bytes).region, 'BY');
    const session = await openSession(bytes);
    assert.deepEqual(session.inputNames, ['features']);
    await session.release();
  });

  it('trains on the net load (load - pv) with --series net: what an edge meters, PV surplus negative, a finite holdout error', async () => {
    // 45 days from 10 February: in early March PV and load about cancel out (the net load's 7-day
    // mean crosses 0 kW), the hardest case for a model that scales by the load's level.
    const rows = readFileSync(dataPath(DATA_FILES.household), 'utf8').split('\n');
    const from = 1 + 40 * 96;
    const data = join(dir, 'household-spring.csv');
    writeFileSync(data, [rows[0], ...rows.slice(from, from + 45 * 96)].join('\n'));
    const out = join(dir, 'net.onnx');
    const cli = CLI;
    const r = spawnSync(process.execPath, [cli, 'ml', 'train', 'forecast', '--data', data, '--out', out, '--series', 'net', '--holdout-days', '7'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { series: string; holdout_mae: number; naive_week_mae: number };
    assert.equal(summary.series, 'net');
    assert.ok(summary.holdout_mae > 0 && summary.holdout_mae < 2 * summary.naive_week_mae, JSON.stringify(summary));
    assert.equal(forecastModelInfo(readFileSync(out)).metadata.series, 'net');
  });

  it('refuses an unknown region with a clear message', () => {
    const cli = CLI;
    const r = spawnSync(process.execPath, [cli, 'ml', 'train', 'forecast', '--data', dataPath(DATA_FILES.household), '--out', join(dir, 'x.onnx'), '--region', 'XX'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /lifo4 ml train forecast:/);
  });
});
