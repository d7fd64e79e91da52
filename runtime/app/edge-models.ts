// The ONNX models the default edge flow runs (load-forecast, soh-estimate, anomaly-score), handed
// to it through FLOW_ENV variables: a model an operator put in <dataDir>/models/ (e.g. retrained
// with `lifo4 ml retrain forecast`) wins over the one `npm run build` trained into dist/models/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FLOW_ENV } from './flow-files';
import { BUILT_MODELS_DIR, builtModel, type BuiltModel } from '../../io/ml/built-models';

export const EDGE_MODELS: Readonly<Record<BuiltModel, string>> = {
  forecast: FLOW_ENV.forecastModel,
  ageing: FLOW_ENV.ageingModel,
  anomaly: FLOW_ENV.anomalyModel,
};

/**
 * The edge flow's model and history variables. A model missing from both places still gets the
 * build's path, so the node's error names the file `npm run build` should have made. The history
 * URL is passed through when the process was given one (the all-in-one points it at its
 * simulator), else '' (Node-RED leaves an unset `${NAME}` in place, which is not a URL).
 */
export function edgeModelEnv(dataDir: string, env: NodeJS.ProcessEnv = process.env, builtDir = BUILT_MODELS_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(EDGE_MODELS) as BuiltModel[]) {
    const own = builtModel(name, join(dataDir, 'models'));
    out[EDGE_MODELS[name]] = existsSync(own) ? own : builtModel(name, builtDir);
  }
  out[FLOW_ENV.loadHistoryUrl] = env[FLOW_ENV.loadHistoryUrl] ?? '';
  return out;
}
