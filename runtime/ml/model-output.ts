// Writing model files: the trainers stamp metadata (training time, scores, series) into a model
// and replace the file whole, since a node may read it at any moment.
import { renameSync, writeFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';

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
