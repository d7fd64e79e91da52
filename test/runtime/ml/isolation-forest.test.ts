import assert from 'node:assert/strict';
import { N_ANOMALY_FEATURES } from '../../../domain/anomaly/cycle-features';
import { simulateCycles, stack, trainAnomalyModel } from '../../../runtime/ml/anomaly-eval';
import { anomalyScores, averagePathLength, isolationForestToOnnx, trainIsolationForest } from '../../../runtime/ml/isolation-forest';
import { openSession, runRows } from '../../../io/ml/onnx-session';
import { Prng } from '../../../runtime/simulator/prng';

function cluster(n: number, seed: number): Float32Array {
  const rng = new Prng(seed);
  return Float32Array.from({ length: n * 2 }, () => rng.normal(0, 1));
}

describe('isolation forest', function () {
  // Trains models and simulates days to a year: slow on a busy machine.
  this.timeout(300_000);
  it('uses the BST average path length c(n) of Liu et al. 2008', () => {
    assert.equal(averagePathLength(1), 0);
    assert.equal(averagePathLength(2), 1);
    // c(256) = 2 (ln 255 + 0.5772) - 2 * 255 / 256 = 10.2448
    assert.ok(Math.abs(averagePathLength(256) - 10.2448) < 1e-3);
  });

  it('scores a far point near 1 and the cluster it was trained on below 0.5', () => {
    const X = cluster(500, 3);
    const forest = trainIsolationForest(X, 2, { trees: 100, sampleSize: 256, seed: 1 });
    const inliers = anomalyScores(forest, X);
    const mean = inliers.reduce((a, b) => a + b, 0) / inliers.length;
    assert.ok(mean < 0.5, `mean inlier score ${mean}`);
    const out = anomalyScores(forest, Float32Array.from([8, 8, 0, 0]));
    assert.ok(out[0]! > 0.7, `outlier ${out[0]}`);
    assert.ok(out[1]! < 0.5, `centre ${out[1]}`);
  });

  it('isolates points beyond the training range earlier with a widened split range', () => {
    const X = cluster(300, 4);
    const classic = trainIsolationForest(X, 2, { trees: 100, sampleSize: 128, seed: 2 });
    const wide = trainIsolationForest(X, 2, { trees: 100, sampleSize: 128, seed: 2, rangeMargin: 1 });
    const far = Float32Array.from([50, 0]);
    assert.ok(anomalyScores(wide, far)[0]! > anomalyScores(classic, far)[0]! + 0.05);
  });

  it('gives the same scores through onnxruntime-web as in TypeScript (TreeEnsembleRegressor AVERAGE + Exp)', async () => {
    const X = cluster(400, 5);
    const forest = trainIsolationForest(X, 2, { trees: 50, sampleSize: 128, seed: 3, rangeMargin: 1 });
    const probe = Float32Array.from([...X.subarray(0, 200), 6, -6, 30, 1, -0.5, 0.25]);
    const js = anomalyScores(forest, probe);
    const session = await openSession(isolationForestToOnnx(forest));
    try {
      const onnx = await runRows(session, probe, 2);
      js.forEach((v, i) => assert.ok(Math.abs(onnx[i]! - v) <= 1e-5, `row ${i}: onnx ${onnx[i]} vs ${v}`));
    } finally {
      await session.release();
    }
  });
});

describe('anomaly model on the simulator', function () {
  // A simulated year of a pack on one core: CPU-bound, slower when the suite runs beside it.
  this.timeout(120_000);
  it('keeps healthy cycles below the threshold and alarms on a pack with a slow fault', async () => {
    const model = trainAnomalyModel();
    const healthy = simulateCycles({ seed: 31, days: 10, ageCycles: 200, ambientC: 21 });
    const h = anomalyScores(model.forest, stack(healthy));
    assert.ok(Math.max(...h) < model.threshold, `healthy max ${Math.max(...h)} >= ${model.threshold}`);
    const faulty = simulateCycles({ seed: 32, days: 10, ageCycles: 200, ambientC: 21, fault: { type: 'loose-connection', atDay: 3, cell: 11 } });
    const session = await openSession(isolationForestToOnnx(model.forest));
    try {
      const f = await runRows(session, stack(faulty), N_ANOMALY_FEATURES);
      const before = faulty.map((r, i) => (r.faulty ? -1 : f[i]!));
      assert.ok(Math.max(...before) < model.threshold, 'no alarm before the fault');
      assert.ok(faulty.some((r, i) => r.faulty && f[i]! > model.threshold), 'an alarm once the joint loosens');
    } finally {
      await session.release();
    }
  });
});
