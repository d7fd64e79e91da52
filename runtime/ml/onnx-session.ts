// onnxruntime-node sessions for our models: CPU only, one intra-op thread (the edge controller has
// few cores and the models are tiny: a 96-row batch runs in well under a millisecond).
import * as ort from 'onnxruntime-node';

export type Session = ort.InferenceSession;

export async function openSession(bytes: Uint8Array): Promise<Session> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
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
