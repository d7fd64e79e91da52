// Reading our ONNX model files for inference: each file says what it is in its metadata (`kind`),
// so a node given the wrong file refuses it at start instead of producing nonsense. Writing and
// training models is the host's work (runtime/ml); this module only reads.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { onnx } from 'onnx-proto';
import { FEATURE_NAMES } from '../../domain/forecast/features';
import type { Region } from '../../domain/forecast/holidays';
import { builtModel } from './built-models';

/** The `kind` each of our models carries in its metadata. */
export const FORECAST_MODEL_KIND = 'lifo4.load-forecast.v1';
export const ANOMALY_MODEL_KIND = 'lifo4.anomaly-iforest.v1';
export const AGEING_MODEL_KIND = 'lifo4.lfp-ageing.v1';

export interface ModelFile {
  bytes: Uint8Array;
  metadata: Record<string, string>;
  /** File name and training time, for messages and the dashboard. */
  name: string;
}

/** The metadata entries of an ONNX model (key -> value). */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  const m = onnx.ModelProto.decode(bytes);
  const out: Record<string, string> = {};
  for (const p of m.metadataProps) if (p.key) out[p.key] = p.value ?? '';
  return out;
}

function describe(file: string, metadata: Record<string, string>): string {
  return `${basename(file)} ${metadata.trained_at ?? ''}`.trim();
}

export function readModelFile(file: string, kind: string): ModelFile {
  const bytes = readFileSync(file);
  const metadata = readMetadata(bytes);
  if (metadata.kind !== kind) throw new Error(`not a ${kind} model (kind ${metadata.kind ?? 'missing'}): ${file}`);
  return { bytes, metadata, name: describe(file, metadata) };
}

/** The ageing model from `file`, or the one the build fitted to the LFP ageing data in data/ when no file is given. */
export function ageingModelFile(file: string): ModelFile {
  return readModelFile(file || builtModel('ageing'), AGEING_MODEL_KIND);
}

/** The anomaly model and its alarm threshold (from the metadata written by `lifo4 ml train anomaly`). */
export function anomalyModelFile(file: string): ModelFile & { threshold: number | null } {
  const m = readModelFile(file || builtModel('anomaly'), ANOMALY_MODEL_KIND);
  const t = Number(m.metadata.threshold);
  return { ...m, threshold: m.metadata.threshold !== undefined && Number.isFinite(t) ? t : null };
}

export interface ForecastModelInfo {
  kind: string;
  region: Region;
  unit: string;
  metadata: Record<string, string>;
}

/** Reads and checks a forecast model's metadata. */
export function forecastModelInfo(bytes: Uint8Array): ForecastModelInfo {
  const metadata = readMetadata(bytes);
  if (metadata.kind !== FORECAST_MODEL_KIND) throw new Error(`not a load forecast model (kind ${metadata.kind ?? 'missing'})`);
  if (metadata.feature_names !== FEATURE_NAMES.join(',')) throw new Error('model was trained on other features than this version builds');
  return { kind: metadata.kind, region: (metadata.region ?? 'DE') as Region, unit: metadata.unit ?? '', metadata };
}
