// ONNX Runtime sessions for our models, through onnxruntime-web: the same runtime compiled to
// WebAssembly, so installing the package downloads nothing and builds nothing (onnxruntime-node's
// install script fetches GPU libraries). One thread on the wasm (CPU) backend: the edge controller
// has few cores and the models are tiny (a 96-row forecast day runs in about a millisecond).
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;

export type Session = ort.InferenceSession;

export async function openSession(bytes: Uint8Array): Promise<Session> {
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** Runs a model with one [N, cols] float input and returns its first output as float32. */
export async function runRows(session: Session, rows: Float32Array, cols: number): Promise<Float32Array> {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (!inputName || !outputName) throw new Error('model has no input or output');
  const feeds = { [inputName]: new ort.Tensor('float32', rows, [rows.length / cols, cols]) };
  const result = await session.run(feeds);
  const out = result[outputName];
  if (!out) throw new Error(`model produced no ${outputName}`);
  return out.data as Float32Array;
}
