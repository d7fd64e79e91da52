import assert from 'node:assert/strict';
import { ageingToOnnx, fitAgeingModel } from '../../../runtime/ml/ageing-model';
import { readAgeingData } from '../../../io/data/real-data';
import { evaluateSoh } from '../../../runtime/ml/soh-eval';
import { ageingPriorFromOnnx } from '../../../io/ml/soh-prior';

describe('SoH estimator on the simulator: telemetry only, ONNX ageing prior, a simulated year', function () {
  // Trains models and simulates days to a year: slow on a busy machine.
  this.timeout(300_000);
  it('stays within 2 SoH points of the pack\'s true capacity over a year of fade', async () => {
    const prior = await ageingPriorFromOnnx(ageingToOnnx(fitAgeingModel(readAgeingData())));
    const r = evaluateSoh({ days: 365, ageCycles: 100, seed: 4, prior });
    assert.ok(r.trueSohStart - r.trueSohEnd > 5, `the pack faded only ${r.trueSohStart - r.trueSohEnd} points`);
    assert.ok(r.measurements > 300, `${r.measurements} capacity measurements`);
    assert.ok(r.maxAbsErrPct < 2, `max error ${r.maxAbsErrPct}`);
  });

  it('corrects a wrong prior from the measurements (pack older than the estimator believes)', async () => {
    const prior = await ageingPriorFromOnnx(ageingToOnnx(fitAgeingModel(readAgeingData())));
    const r = evaluateSoh({ days: 120, ageCycles: 350, seed: 5, prior, unknownAge: true });
    assert.ok(r.priorMeanAbsErrPct > 5, `prior error ${r.priorMeanAbsErrPct}`);
    assert.ok(Math.abs(r.estimateEnd - r.trueSohEnd) < 2, `end ${r.estimateEnd} vs ${r.trueSohEnd}`);
  });
});
