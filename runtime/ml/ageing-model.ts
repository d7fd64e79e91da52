// The LFP ageing model: capacity (% of the cell's first-cycle capacity) against equivalent full
// cycles, least squares on a small basis in x = cycles / 500 (1, sqrt x, x, x^2, x^3: the early
// sqrt-like SEI fade and the late knee), fitted with ml-matrix to the A123 LFP cell of Severson et
// al., Nature Energy 2019 (data/severson2019_b2c30_health_fig04.csv, q = % of nominal).
// Exported to ONNX: input `cycles` [N, 1] -> basis in the graph -> MatMul + Add -> `soh_pct` [N, 1].
import { readFileSync } from 'node:fs';
import { Matrix, solve } from 'ml-matrix';
import { dataPath } from '../data/real-data';
import { encodeModel, floatInput, floatTensor, node } from './onnx-graph';

export const AGEING_DATA_FILE = 'severson2019_b2c30_health_fig04.csv';
const SCALE = 500;
const f = Math.fround;

export interface AgeingModel {
  /** Coefficients of [1, sqrt x, x, x^2, x^3], x = cycles / 500, giving SoH in %. */
  coef: number[];
  rmsePct: number;
  maxCycles: number;
}

export interface AgeingPoint {
  cycles: number;
  qPct: number;
}

export function readAgeingData(file = dataPath(AGEING_DATA_FILE)): AgeingPoint[] {
  const rows = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  const header = (rows.shift() ?? '').split(',');
  const ic = header.indexOf('cycs');
  const iq = header.indexOf('q');
  if (ic < 0 || iq < 0) throw new Error(`${file}: expected columns cycs and q`);
  return rows.map((r) => {
    const c = r.split(',');
    return { cycles: Number(c[ic]), qPct: Number(c[iq]) };
  });
}

function basis(cycles: number): number[] {
  const x = f(cycles / SCALE);
  return [1, Math.sqrt(x), x, x * x, x * x * x];
}

/** SoH % relative to the first cycles' capacity (the mean of cycles 1..10), so SoH(0) ~ 100. */
export function fitAgeingModel(points: AgeingPoint[]): AgeingModel {
  const early = points.filter((p) => p.cycles <= 10);
  const ref = early.reduce((s, p) => s + p.qPct, 0) / Math.max(early.length, 1);
  const X = new Matrix(points.map((p) => basis(p.cycles)));
  const y = Matrix.columnVector(points.map((p) => (100 * p.qPct) / ref));
  const coef = solve(X, y).getColumn(0);
  const pred = X.mmul(Matrix.columnVector(coef)).getColumn(0);
  const rmse = Math.sqrt(pred.reduce((s, v, i) => s + (v - y.get(i, 0)) ** 2, 0) / pred.length);
  return { coef, rmsePct: rmse, maxCycles: Math.max(...points.map((p) => p.cycles)) };
}

/** SoH % after `cycles` equivalent full cycles (float32, as the ONNX graph computes it). */
export function ageingSoh(model: AgeingModel, cycles: number): number {
  const x = f(f(cycles) * f(1 / SCALE));
  const b = [1, f(Math.sqrt(x)), x, f(x * x), f(f(x * x) * x)];
  let s = 0;
  b.forEach((v, i) => (s += f(v * f(model.coef[i]!))));
  return f(s);
}

export const AGEING_MODEL_KIND = 'lifo4.lfp-ageing.v1';

export function ageingToOnnx(model: AgeingModel): Uint8Array {
  return encodeModel({
    name: 'lfp_ageing',
    docString: 'LFP capacity fade against equivalent full cycles (Severson et al. 2019, A123 cell)',
    inputs: [floatInput('cycles', 1)],
    outputs: [floatInput('soh_pct', 1)],
    initializers: [
      floatTensor('inv_scale', [1], [1 / SCALE]),
      floatTensor('one', [1], [1]),
      floatTensor('nil', [1], [0]),
      floatTensor('coef', [5, 1], model.coef),
    ],
    nodes: [
      node('Mul', ['cycles', 'inv_scale'], ['x']),
      node('Sqrt', ['x'], ['sqrt_x']),
      node('Mul', ['x', 'x'], ['x2']),
      node('Mul', ['x2', 'x'], ['x3']),
      node('Mul', ['x', 'nil'], ['zeros']),
      node('Add', ['zeros', 'one'], ['ones']),
      node('Concat', ['ones', 'sqrt_x', 'x', 'x2', 'x3'], ['basis'], [{ name: 'axis', type: 2, i: 1 }]),
      node('MatMul', ['basis', 'coef'], ['soh_pct']),
    ],
    metadata: { kind: AGEING_MODEL_KIND, rmse_pct: String(model.rmsePct), max_cycles: String(model.maxCycles), source: AGEING_DATA_FILE },
  });
}
