// SoH estimator against the simulator's truth over a simulated year (in process, fast): the pack
// ages along the measured LFP fade (runtime/simulator/ageing.ts), the estimator sees battery
// telemetry only and uses the ONNX ageing model (fitted by our own trainer) as its prior.
// Run: npm run bench -- soh [--days 365] [--age 100] [--seed 1]
// unknownAge: a pack 250 cycles older, the estimator told it is new and given no BMS cycle count.
import { ageingToOnnx, fitAgeingModel } from '../runtime/ml/ageing-model';
import { readAgeingData } from '../io/data/real-data';
import { ageingPriorFromOnnx } from '../io/ml/soh-prior';
import { evaluateSoh } from '../runtime/ml/soh-eval';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number`);
  return v;
}

async function main(): Promise<void> {
  const days = arg('days', 365);
  const age = arg('age', 100);
  const seed = arg('seed', 1);
  const model = fitAgeingModel(readAgeingData());
  const prior = await ageingPriorFromOnnx(ageingToOnnx(model));
  const t0 = performance.now();
  const r = evaluateSoh({ days, ageCycles: age, seed, prior });
  const simS = (performance.now() - t0) / 1000;
  // The same pack again, the estimator told it is new and given no cycle count: measurements only.
  const u = evaluateSoh({ days, ageCycles: age + 250, seed, prior, unknownAge: true });
  const unknownAge = { ageCycles: age + 250, trueSohStart: u.trueSohStart, trueSohEnd: u.trueSohEnd, estimateEnd: u.estimateEnd, meanAbsErrPct: u.meanAbsErrPct, maxAbsErrPct: u.maxAbsErrPct, priorMeanAbsErrPct: u.priorMeanAbsErrPct, priorMaxAbsErrPct: u.priorMaxAbsErrPct };
  console.log(JSON.stringify({ bench: 'soh', seed, ageingModelRmsePct: Number(model.rmsePct.toFixed(3)), ...r, simS: Number(simS.toFixed(1)), unknownAge, target: 'error within 2 SoH points' }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
