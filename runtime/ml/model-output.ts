// Model metadata: the trainers stamp training time, scores and series into a model before they
// write it (whole, with io/durable-file.ts: a node may read it at any moment).
import { onnx } from 'onnx-proto';

/** The model with these metadata entries set (added or replaced); the graph is untouched. */
export function withMetadata(bytes: Uint8Array, extra: Record<string, string>): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const props = new Map(m.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  for (const [k, v] of Object.entries(extra)) props.set(k, v);
  m.metadataProps = [...props].map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  return onnx.ModelProto.encode(m).finish();
}
