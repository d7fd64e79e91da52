// `lifo4 ml train forecast --data FILE --out MODEL.onnx`: trains the day-ahead load forecast on a
// 15-minute series (Modelica table text or `time,pv,load` CSV) and writes the ONNX model with its
// normalisation inside the graph. The holdout score is the last --holdout-days days, forecast at
// 00:00 each from the days before; it is stored in the model's metadata.
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { RegionSchema } from '../../nodes/domain/forecast/holidays';

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
    .action(async (o: { data: string; out: string; region: string; holdoutDays: string; origin?: string }) => {
      try {
        const region = RegionSchema.parse(o.region);
        const holdout = Number(o.holdoutDays);
        if (!Number.isInteger(holdout) || holdout < 0) throw new Error('--holdout-days must be a whole number');
        const { readLoadSeries } = await import('../ml/load-series.js');
        const { trainAndScoreForecast } = await import('../ml/forecast-training.js');
        const series = readLoadSeries(o.data, o.origin ? Date.parse(`${o.origin}T00:00:00Z`) : undefined);
        const t0 = Date.now();
        const result = trainAndScoreForecast(series, region, holdout);
        writeFileSync(o.out, result.onnx);
        console.log(
          JSON.stringify({
            out: o.out,
            region,
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
}
