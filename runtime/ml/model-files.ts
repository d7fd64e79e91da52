// Reading our ONNX model files for the nodes: each file says what it is in its metadata (`kind`),
// so a node given the wrong file refuses it at start instead of producing nonsense.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import { basename } from 'node:path';
import { AGEING_MODEL_KIND, ageingToOnnx, fitAgeingModel, readAgeingData } from './ageing-model';
import { ANOMALY_MODEL_KIND } from './isolation-forest';
import { readMetadata } from './onnx-graph';

export interface ModelFile {
  bytes: Uint8Array;
  metadata: Record<string, string>;
  /** File name and training time, for messages and the dashboard. */
  name: string;
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

/** The ageing model from `file`, or fitted now to the LFP ageing data in data/ when no file is given. */
export function ageingModelFile(file: string): ModelFile {
  if (file) return readModelFile(file, AGEING_MODEL_KIND);
  const bytes = ageingToOnnx(fitAgeingModel(readAgeingData()));
  return { bytes, metadata: readMetadata(bytes), name: 'fitted on start to data/' };
}

/** The anomaly model and its alarm threshold (from the metadata written by `lifo4 ml train anomaly`). */
export function anomalyModelFile(file: string): ModelFile & { threshold: number | null } {
  const m = readModelFile(file, ANOMALY_MODEL_KIND);
  const t = Number(m.metadata.threshold);
  return { ...m, threshold: m.metadata.threshold !== undefined && Number.isFinite(t) ? t : null };
}

/** The model with these metadata entries set (added or replaced); the graph is untouched. */
export function withMetadata(bytes: Uint8Array, extra: Record<string, string>): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const props = new Map(m.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  for (const [k, v] of Object.entries(extra)) props.set(k, v);
  m.metadataProps = [...props].map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  return onnx.ModelProto.encode(m).finish();
}

/** Write a file whole or not at all (a node may read the model at any moment). */
export function writeAtomic(file: string, bytes: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}
