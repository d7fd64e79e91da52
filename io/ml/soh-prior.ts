// The ageing prior for the SoH tracker, computed by the ONNX ageing model (runtime/ml/ageing-model.ts)
// through onnxruntime-web: one batch over a grid of cycles at start-up, then linear interpolation,
// so the per-sample path stays synchronous and the edge and the cloud use the same ONNX file.
import type { AgeingPrior } from '../../domain/soh/soh-tracker';
import { openSession, runRows } from './onnx-session';

/** Grid step and span of the table, equivalent full cycles. */
const STEP = 5;
const SPAN = 6000;

export async function ageingPriorFromOnnx(bytes: Uint8Array): Promise<AgeingPrior> {
  const session = await openSession(bytes);
  let table: Float32Array;
  try {
    const cycles = Float32Array.from({ length: SPAN / STEP + 1 }, (_, i) => i * STEP);
    table = await runRows(session, cycles, 1);
  } finally {
    await session.release();
  }
  return (c: number): number => {
    const x = Math.min(SPAN, Math.max(0, c)) / STEP;
    const i = Math.min(table.length - 2, Math.floor(x));
    const a = table[i]!;
    const b = table[i + 1]!;
    return a + (b - a) * (x - i);
  };
}
