// Where `npm run build` writes the default models (scripts/train-models.mjs): dist/models/. The
// edge flow, the cloud's forecasts and its SoH and anomaly scores all start from these files.
import { join } from 'node:path';
import { packageRoot } from '../package-root';

export type BuiltModel = 'forecast' | 'anomaly' | 'ageing';

export const BUILT_MODELS_DIR = join(packageRoot, 'dist', 'models');

export function builtModel(name: BuiltModel, dir = BUILT_MODELS_DIR): string {
  return join(dir, `${name}.onnx`);
}
