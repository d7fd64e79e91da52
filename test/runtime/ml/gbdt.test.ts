import assert from 'node:assert/strict';
import { binThresholds, predictGbdt, trainGbdt } from '../../../runtime/ml/gbdt';

describe('GBDT trainer (squared and absolute loss, histogram splits)', () => {
  it('learns a step function exactly with one split', () => {
    const X = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]);
    const y = [5, 5, 5, 5, 9, 9, 9, 9];
    const model = trainGbdt(X, 1, y, { nTrees: 1, learningRate: 1, maxDepth: 1, minSamplesLeaf: 1, lambda: 0 });
    const root = model.trees[0]!.nodes[0]!;
    assert.equal(root.feature, 0);
    // the threshold is the float32 midpoint between the two groups
    assert.equal(root.threshold, 6.5);
    assert.deepEqual(Array.from(predictGbdt(model, X)), y);
  });

  it('starts from the mean (l2) or the median (l1) of the targets', () => {
    const X = Float32Array.from([1, 1, 1, 1, 1]);
    const y = [1, 2, 3, 4, 100];
    assert.equal(trainGbdt(X, 1, y, { nTrees: 1 }).baseScore, 22);
    assert.equal(trainGbdt(X, 1, y, { nTrees: 1, loss: 'l1', minSamplesLeaf: 1 }).baseScore, 3);
  });

  it('shrinks each leaf by the learning rate and lambda: leaf = -sum(g) / (n + lambda) * lr', () => {
    const X = Float32Array.from([0, 0, 1, 1]);
    const y = [0, 0, 4, 4];
    const model = trainGbdt(X, 1, y, { nTrees: 1, learningRate: 0.5, maxDepth: 1, minSamplesLeaf: 1, lambda: 2 });
    // base 2; right leaf: gradients -2, -2 -> 4 / (2 + 2) * 0.5 = 0.5
    const pred = predictGbdt(model, Float32Array.from([0, 1]));
    assert.deepEqual(Array.from(pred), [1.5, 2.5]);
  });

  it('fits a smooth two-feature function to a small error with enough trees', () => {
    const n = 2000;
    const X = new Float32Array(n * 2);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = (i % 50) / 50;
      const b = Math.floor(i / 50) / 40;
      X[2 * i] = a;
      X[2 * i + 1] = b;
      y[i] = Math.sin(6 * a) + 2 * b * b;
    }
    const model = trainGbdt(X, 2, y, { nTrees: 300, learningRate: 0.1, maxDepth: 4, minSamplesLeaf: 5 });
    const pred = predictGbdt(model, X);
    let mae = 0;
    for (let i = 0; i < n; i++) mae += Math.abs(pred[i]! - y[i]!) / n;
    assert.ok(mae < 0.02, `MAE ${mae}`);
  });

  it('fits the median with l1 loss, ignoring an outlier the mean would follow', () => {
    const X = Float32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    const y = [1, 1, 1, 1, 50, 7, 7, 7, 7, 7];
    const model = trainGbdt(X, 1, y, { nTrees: 50, learningRate: 0.5, maxDepth: 1, minSamplesLeaf: 1, loss: 'l1' });
    const [p0, p1] = Array.from(predictGbdt(model, Float32Array.from([0, 1])));
    assert.ok(Math.abs(p0! - 1) < 0.05, `p0 ${p0}`);
    assert.ok(Math.abs(p1! - 7) < 0.05, `p1 ${p1}`);
  });

  it('is reproducible for a given seed when subsampling', () => {
    const X = Float32Array.from({ length: 400 }, (_, i) => i % 37);
    const y = Array.from({ length: 400 }, (_, i) => (i % 37) * 2 + (i % 3));
    const a = trainGbdt(X, 1, y, { nTrees: 20, subsample: 0.5, seed: 3 });
    const b = trainGbdt(X, 1, y, { nTrees: 20, subsample: 0.5, seed: 3 });
    assert.deepEqual(a, b);
  });

  it('puts every split threshold strictly between two distinct float32 training values', () => {
    const col = Float32Array.from({ length: 1000 }, (_, i) => Math.fround(Math.sqrt(i)));
    const t = binThresholds(col, 16);
    assert.ok(t.length <= 15 && t.length > 10);
    for (const th of t) {
      assert.equal(th, Math.fround(th));
      assert.ok(col.some((v) => v <= th) && col.some((v) => v > th));
    }
  });

  it('rejects non-finite inputs and mismatched shapes', () => {
    assert.throws(() => trainGbdt(Float32Array.from([1, 2]), 1, [1]), /expected 1 rows/);
    assert.throws(() => trainGbdt(Float32Array.from([1]), 1, [NaN]), /not finite/);
  });
});
