// The LFP ageing model: capacity (% of the cell's first-cycle capacity) against equivalent full
// cycles, least squares on a small basis in x = cycles / 500 (1, sqrt x, x, x^2, x^3: the early
// sqrt-like SEI fade and the late knee), fitted with ml-matrix to the A123 LFP cell of Severson et
// al., Nature Energy 2019 (data/severson2019_b2c30_health_fig04.csv, q = % of nominal).
// Past the last measured cycle a cubic runs off (it gave -45 % at 800 cycles): there the fit
// continues in a straight line with its slope over the last 20 measured cycles, floored at 50 %, as
// the simulator's measured curve does (runtime/simulator/ageing.ts), so the prior stays a capacity.
// Exported to ONNX: input `cycles` [N, 1] -> Min(cycles, last) -> basis -> MatMul, + slope x
// Relu(cycles - last), Max(floor) -> `soh_pct` [N, 1].
import { Matrix, solve } from 'ml-matrix';
import type { AgeingPoint } from '../../domain/lfp/ageing-data';
import { DATA_FILES } from '../../io/data/real-data';
import { AGEING_MODEL_KIND } from '../../io/ml/model-files';
import { encodeModel, floatInput, floatTensor, node } from './onnx-graph';

const SCALE = 500;
/** Cycles before the last measured one over which the straight continuation takes its slope. */
const TAIL_CYCLES = 20;
/** Lowest SoH the model gives, %: the simulator's floor too (half the capacity, long past end of life). */
export const FLOOR_SOH_PCT = 50;
const f = Math.fround;

export interface AgeingModel {
  /** Coefficients of [1, sqrt x, x, x^2, x^3], x = cycles / 500, giving SoH in %. */
  coef: number[];
  rmsePct: number;
  maxCycles: number;
  /** SoH change per cycle past maxCycles (<= 0), %. */
  tailSlopePerCycle: number;
  floorPct: number;
}


function basis(cycles: number): number[] {
  const x = f(cycles / SCALE);
  return [1, Math.sqrt(x), x, x * x, x * x * x];
}

/** SoH of a new pack, %: the intercept of the fit, held fixed. */
export const NEW_PACK_SOH_PCT = 100;

/**
 * SoH % relative to the first cycles' capacity (the mean of cycles 1..10), with SoH(0) = 100
 * exactly: the intercept is fixed and only the shape terms are fitted (to y - 100). A free
 * intercept gave 96.6 % at 0 cycles, since the cell's first cycles read low (capacity rises over
 * its first ~50 cycles as the electrodes activate, Severson et al. Fig. 4) and the sqrt term
 * bends down steeply towards 0; a pack at 0 cycles is new by definition.
 */
export function fitAgeingModel(points: AgeingPoint[]): AgeingModel {
  const early = points.filter((p) => p.cycle <= 10);
  const ref = early.reduce((s, p) => s + p.capacityPct, 0) / Math.max(early.length, 1);
  const y = points.map((p) => (100 * p.capacityPct) / ref);
  const shape = new Matrix(points.map((p) => basis(p.cycle).slice(1)));
  const b = solve(shape, Matrix.columnVector(y.map((v) => v - NEW_PACK_SOH_PCT))).getColumn(0);
  const coef = [NEW_PACK_SOH_PCT, ...b];
  const pred = points.map((p) => basis(p.cycle).reduce((s, v, i) => s + v * coef[i]!, 0));
  const rmse = Math.sqrt(pred.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / pred.length);
  const maxCycles = Math.max(...points.map((p) => p.cycle));
  const poly = (c: number): number => basis(c).reduce((s, v, i) => s + v * coef[i]!, 0);
  const tailSlopePerCycle = Math.min(0, (poly(maxCycles) - poly(maxCycles - TAIL_CYCLES)) / TAIL_CYCLES);
  return { coef, rmsePct: rmse, maxCycles, tailSlopePerCycle, floorPct: FLOOR_SOH_PCT };
}

/** SoH % after `cycles` equivalent full cycles (float32, as the ONNX graph computes it). */
export function ageingSoh(model: AgeingModel, cycles: number): number {
  const c = f(cycles);
  const last = f(model.maxCycles);
  const x = f(Math.min(c, last) * f(1 / SCALE));
  const b = [1, f(Math.sqrt(x)), x, f(x * x), f(f(x * x) * x)];
  let s = 0;
  b.forEach((v, i) => (s += f(v * f(model.coef[i]!))));
  const tail = f(Math.max(0, f(c - last)) * f(model.tailSlopePerCycle));
  return Math.max(f(model.floorPct), f(f(s) + tail));
}


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
      floatTensor('last', [1], [model.maxCycles]),
      floatTensor('tail_slope', [1], [model.tailSlopePerCycle]),
      floatTensor('floor', [1], [model.floorPct]),
    ],
    nodes: [
      node('Min', ['cycles', 'last'], ['measured']),
      node('Mul', ['measured', 'inv_scale'], ['x']),
      node('Sqrt', ['x'], ['sqrt_x']),
      node('Mul', ['x', 'x'], ['x2']),
      node('Mul', ['x2', 'x'], ['x3']),
      node('Mul', ['x', 'nil'], ['zeros']),
      node('Add', ['zeros', 'one'], ['ones']),
      node('Concat', ['ones', 'sqrt_x', 'x', 'x2', 'x3'], ['basis'], [{ name: 'axis', type: 2, i: 1 }]),
      node('MatMul', ['basis', 'coef'], ['fitted']),
      node('Sub', ['cycles', 'last'], ['beyond']),
      node('Relu', ['beyond'], ['past_last']),
      node('Mul', ['past_last', 'tail_slope'], ['tail']),
      node('Add', ['fitted', 'tail'], ['continued']),
      node('Max', ['continued', 'floor'], ['soh_pct']),
    ],
    metadata: {
      kind: AGEING_MODEL_KIND, rmse_pct: String(model.rmsePct), max_cycles: String(model.maxCycles),
      tail_slope_pct_per_cycle: String(model.tailSlopePerCycle), floor_pct: String(model.floorPct), source: DATA_FILES.ageing,
    },
  });
}
