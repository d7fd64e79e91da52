// The ONNX models the default edge flow runs (load-forecast, soh-estimate, anomaly-score), handed
// to it through FLOW_ENV variables: a model an operator put in <dataDir>/models/ (e.g. retrained
// with `lifo4 ml retrain forecast`) wins over the one `npm run build` trained into dist/models/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FLOW_ENV } from './flow-files';
import { packageRoot } from './package-info';

export const EDGE_MODELS = {
  forecast: FLOW_ENV.forecastModel,
  ageing: FLOW_ENV.ageingModel,
  anomaly: FLOW_ENV.anomalyModel,
} as const;

/** Where the build writes the default models (scripts/train-models.mjs). */
export const BUILT_MODELS_DIR = join(packageRoot, 'dist', 'models');

/**
 * The edge flow's model and history variables. A model missing from both places still gets the
 * build's path, so the node's error names the file `npm run build` should have made. The history
 * URL is passed through when the process was given one (the all-in-one points it at its
 * simulator), else '' (Node-RED leaves an unset `${NAME}` in place, which is not a URL).
 */
export function edgeModelEnv(dataDir: string, env: NodeJS.ProcessEnv = process.env, builtDir = BUILT_MODELS_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, variable] of Object.entries(EDGE_MODELS)) {
    const own = join(dataDir, 'models', `${name}.onnx`);
    out[variable] = existsSync(own) ? own : join(builtDir, `${name}.onnx`);
  }
  out[FLOW_ENV.loadHistoryUrl] = env[FLOW_ENV.loadHistoryUrl] ?? '';
  return out;
}
