// `lifo4 ml train forecast --data FILE --out MODEL.onnx`: trains the day-ahead load forecast on a
// 15-minute series (Modelica table text or `time,pv,load` CSV) and writes the ONNX model with its
// normalisation inside the graph. The holdout score is the last --holdout-days days, forecast at
// 00:00 each from the days before; it is stored in the model's metadata.
// `lifo4 ml train anomaly|ageing --out MODEL.onnx`: the isolation forest on healthy simulated cycles
// (with its alarm threshold in the metadata) and the LFP ageing model fitted to data/.
// `lifo4 ml retrain forecast --data FILE --current MODEL.onnx`: retraining with rollback on
// regression (runtime/ml/forecast-retrain.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { RegionSchema } from '../../domain/forecast/holidays';

export function addMlCommand(program: Command): void {
  const ml = program.command('ml').description('train the forecast, state-of-health and anomaly models (ONNX)');
  const train = ml.command('train').description('train a model and write it as ONNX');
  train
    .command('forecast')
    .description('day-ahead load forecast from 15-minute load data')
    .requiredOption('--data <FILE>', 'Modelica table (seconds<TAB>W) or CSV with columns time,pv,load (kW)')
    .requiredOption('--out <MODEL.onnx>', 'where to write the model')
    .addOption(new Option('--region <CODE>', 'public holidays of this German state (ISO 3166-2:DE), DE = national only').default('DE'))
    .addOption(new Option('--holdout-days <N>', 'score on the last N days, trained on the days before').default('14'))
    .addOption(new Option('--origin <YYYY-MM-DD>', 'origin of a Modelica table when its file name does not tell'))
    .addOption(new Option('--series <KIND>', 'CSV only: forecast the load, or the net load (load - pv) an edge meters').choices(['load', 'net']).default('load'))
    .action(async (o: { data: string; out: string; region: string; holdoutDays: string; origin?: string; series: 'load' | 'net' }) => {
      try {
        const region = RegionSchema.parse(o.region);
        const holdout = Number(o.holdoutDays);
        if (!Number.isInteger(holdout) || holdout < 0) throw new Error('--holdout-days must be a whole number');
        const { readLoadSeries } = await import('../ml/load-series.js');
        const { trainAndScoreForecast } = await import('../ml/forecast-training.js');
        const series = readLoadSeries(o.data, o.origin ? Date.parse(`${o.origin}T00:00:00Z`) : undefined, o.series);
        const t0 = Date.now();
        const result = trainAndScoreForecast(series, region, holdout);
        const { withMetadata } = await import('../ml/model-output.js');
        writeFileSync(o.out, withMetadata(result.onnx, { series: o.series }));
        console.log(
          JSON.stringify({
            out: o.out,
            region,
            series: o.series,
            unit: series.unit,
            train_days: result.trainDays,
            holdout_days: result.holdoutDays,
            holdout_mape_pct: result.score.mapePct,
            holdout_mae: result.score.mae,
            naive_week_mae: result.score.naiveWeekMae,
            trees: result.trees,
            train_s: (Date.now() - t0) / 1000,
          }),
        );
      } catch (err) {
        console.error(`lifo4 ml train forecast: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });

  train
    .command('anomaly')
    .description('isolation forest over per-cycle battery features, trained on healthy simulated packs')
    .requiredOption('--out <MODEL.onnx>', 'where to write the model')
    .addOption(new Option('--seed <N>', 'random seed of the forest').default('1'))
    .action(async (o: { out: string; seed: string }) => {
      try {
        const seed = Number(o.seed);
        if (!Number.isInteger(seed)) throw new Error('--seed must be a whole number');
        const { trainAnomalyOnnx } = await import('../ml/model-training.js');
        const t0 = Date.now();
        const r = trainAnomalyOnnx(seed);
        writeFileSync(o.out, r.onnx);
        console.log(JSON.stringify({ out: o.out, training_cycles: r.trainingRows, threshold: r.threshold, trees: r.trees, train_s: (Date.now() - t0) / 1000 }));
      } catch (err) {
        console.error(`lifo4 ml train anomaly: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
  train
    .command('ageing')
    .description('LFP capacity fade against equivalent full cycles, fitted to the ageing data')
    .requiredOption('--out <MODEL.onnx>', 'where to write the model')
    .option('--data <FILE>', 'CSV with columns cycs and q (default: the Severson et al. 2019 cell in data/)')
    .action(async (o: { out: string; data?: string }) => {
      try {
        const { trainAgeingOnnx } = await import('../ml/model-training.js');
        const r = trainAgeingOnnx(o.data);
        writeFileSync(o.out, r.onnx);
        console.log(JSON.stringify({ out: o.out, points: r.points, rmse_pct: r.rmsePct, max_cycles: r.maxCycles }));
      } catch (err) {
        console.error(`lifo4 ml train ageing: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
  ml.command('retrain')
    .description('retrain a model and keep it only when it beats the current one')
    .command('forecast')
    .description('retrain the load forecast; the new model replaces --current only when its MAE over the most recent days is lower')
    .requiredOption('--data <FILE>', 'Modelica table (seconds<TAB>W) or CSV with columns time,pv,load (kW), up to the present')
    .requiredOption('--current <MODEL.onnx>', 'the model in use (replaced in place; the old one is kept as <name>.previous.onnx)')
    .addOption(new Option('--eval-days <N>', 'compare on the last N days; the candidate trains on the days before').default('14'))
    .addOption(new Option('--origin <YYYY-MM-DD>', 'origin of a Modelica table when its file name does not tell'))
    .addOption(new Option('--series <KIND>', "CSV only: load or net (load - pv); default the current model's").choices(['load', 'net']))
    .action(async (o: { data: string; current: string; evalDays: string; origin?: string; series?: 'load' | 'net' }) => {
      try {
        const evalDays = Number(o.evalDays);
        if (!Number.isInteger(evalDays) || evalDays < 1) throw new Error('--eval-days must be a whole number >= 1');
        const { readLoadSeries } = await import('../ml/load-series.js');
        const { retrainForecast, scoresFileOf } = await import('../ml/forecast-retrain.js');
        const { forecastModelInfo } = await import('../../io/ml/model-files.js');
        // Retraining keeps what the current model forecasts: a net-load model is not replaced by a load one.
        const kind = o.series ?? (forecastModelInfo(readFileSync(o.current)).metadata.series === 'net' ? 'net' : 'load');
        const series = readLoadSeries(o.data, o.origin ? Date.parse(`${o.origin}T00:00:00Z`) : undefined, kind);
        const r = await retrainForecast(series, o.current, evalDays);
        console.log(
          JSON.stringify({
            current: o.current,
            replaced: r.replaced,
            eval_from: r.evalFrom,
            eval_to: r.evalTo,
            current_mae: r.current.mae,
            current_mape_pct: r.current.mapePct,
            candidate_mae: r.candidate.mae,
            candidate_mape_pct: r.candidate.mapePct,
            scores: scoresFileOf(o.current),
          }),
        );
      } catch (err) {
        console.error(`lifo4 ml retrain forecast: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
    });
}
