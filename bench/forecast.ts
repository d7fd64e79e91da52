// Day-ahead load forecast against the naive baselines, all in one run: at 00:00 of each test day,
// forecast its 96 steps from the data up to the previous day's end (the model through
// onnxruntime-web, from the ONNX file our trainer exports).
// Run: npm run bench -- forecast [--train FILE --test FILE] [--split YYYY-MM-DD] [--region BE]
// Without --train: Berlin demand 2012 and the household CSV 2014. data/ holds January to September
// only (data/SOURCES.md), so the default split trains on January-June and tests July-September.
import type { Region } from '../domain/forecast/holidays';
import { RegionSchema } from '../domain/forecast/holidays';
import { HISTORY_DAYS, N_FEATURES, STEPS_PER_DAY, dayCount, featuresForDay } from '../domain/forecast/features';
import { dataPath, DATA_FILES } from '../io/data/real-data';
import { forecastToOnnx, trainForecast, trainingSet } from '../runtime/ml/forecast-model';
import type { LoadedSeries } from '../runtime/ml/load-series';
import { readLoadSeries, splitSeries } from '../runtime/ml/load-series';
import { openSession, runRows } from '../io/ml/onnx-session';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Errors {
  ape: number;
  ae: number;
  n: number;
}
const add = (e: Errors, actual: number, predicted: number): void => {
  e.ae += Math.abs(actual - predicted);
  if (actual !== 0) e.ape += Math.abs(actual - predicted) / Math.abs(actual);
  e.n++;
};
const zero = (): Errors => ({ ape: 0, ae: 0, n: 0 });

/** One contiguous series: the training part, then the test part. */
function joined(train: LoadedSeries, test: LoadedSeries): { series: LoadedSeries; firstTestDay: number } {
  const trainEnd = train.startMs + train.values.length * 900_000;
  if (test.startMs === trainEnd) {
    const values = new Float64Array(train.values.length + test.values.length);
    values.set(train.values);
    values.set(test.values, train.values.length);
    return { series: { ...train, values }, firstTestDay: dayCount(train) };
  }
  // Not contiguous: the test file's own first 14 days serve as history only.
  return { series: test, firstTestDay: HISTORY_DAYS };
}

async function run(train: LoadedSeries, test: LoadedSeries, region: Region, dataset: string): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const model = trainForecast(trainingSet(train, region), region, train.unit);
  const onnxBytes = forecastToOnnx(model);
  const trainS = (performance.now() - t0) / 1000;
  const session = await openSession(onnxBytes);
  const { series, firstTestDay } = joined(train, test);
  const m = zero();
  const week = zero();
  const day = zero();
  let inferMs = 0;
  const days = dayCount(series);
  for (let d = firstTestDay; d < days; d++) {
    const X = featuresForDay(series, d, region);
    const t1 = performance.now();
    const pred = await runRows(session, X, N_FEATURES);
    inferMs += performance.now() - t1;
    for (let s = 0; s < STEPS_PER_DAY; s++) {
      const i = d * STEPS_PER_DAY + s;
      const actual = series.values[i]!;
      add(m, actual, pred[s]!);
      add(week, actual, series.values[i - 7 * STEPS_PER_DAY]!);
      add(day, actual, series.values[i - STEPS_PER_DAY]!);
    }
  }
  await session.release();
  const testDays = days - firstTestDay;
  const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
  const base = {
    dataset,
    model: `gbdt ${model.gbdt.trees.length} trees, onnx ${onnxBytes.length} bytes`,
    train_days: dayCount(train) - HISTORY_DAYS,
    test_days: testDays,
    test_from: iso(series.startMs + firstTestDay * 86_400_000),
    test_to: iso(series.startMs + days * 86_400_000 - 1),
  };
  const r2 = (v: number): number => Math.round(v * 1000) / 1000;
  const figures =
    train.unit === 'kW'
      ? { mae_kw: r2(m.ae / m.n), naive_week_mae_kw: r2(week.ae / week.n), naive_day_mae_kw: r2(day.ae / day.n), mae_vs_week_pct: r2((100 * (m.ae - week.ae)) / week.ae) }
      : { mape_pct: r2((100 * m.ape) / m.n), naive_week_mape_pct: r2((100 * week.ape) / week.n), naive_day_mape_pct: r2((100 * day.ape) / day.n) };
  return { ...base, ...figures, train_s: r2(trainS), infer_ms_per_day: r2(inferMs / testDays) };
}

async function fromFiles(trainFile: string, testFile: string, split: string | undefined, region: Region): Promise<Record<string, unknown>> {
  const a = readLoadSeries(trainFile);
  if (trainFile === testFile || split) {
    if (!split) throw new Error('--train and --test are the same file: give --split YYYY-MM-DD');
    const at = Date.parse(`${split}T00:00:00Z`);
    const { before } = splitSeries(a, at);
    const { from } = splitSeries(readLoadSeries(testFile), at);
    return run(before, from, region, `${trainFile} | ${testFile} split ${split}`);
  }
  return run(a, readLoadSeries(testFile), region, `${trainFile} | ${testFile}`);
}

async function main(): Promise<void> {
  const region = RegionSchema.parse(arg('region') ?? 'BE');
  const trainFile = arg('train');
  if (trainFile) {
    console.log(JSON.stringify({ bench: 'forecast', ...(await fromFiles(trainFile, arg('test') ?? trainFile, arg('split'), region)) }));
    return;
  }
  const berlin = await fromFiles(dataPath(DATA_FILES.berlinDemand), dataPath(DATA_FILES.berlinDemand), '2012-07-01', 'BE');
  // The household is from the Kucevic et al. data set of TU Munich: Bavarian holidays.
  const household = await fromFiles(dataPath(DATA_FILES.household), dataPath(DATA_FILES.household), '2014-07-01', 'BY');
  console.log(JSON.stringify({ bench: 'forecast', berlin, household }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
