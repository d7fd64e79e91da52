// How the simulated devices put engineering values into SunSpec points: a scale factor wide enough
// for the device's range, values rounded and clamped to what the point's type holds (its "not
// implemented" value left free), and bits of bitfield points.

type IntType = 'int16' | 'uint16' | 'int32' | 'uint32';
const RANGE: Record<IntType, [number, number]> = {
  int16: [-32768, 32767],
  uint16: [0, 65534],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967294],
};

/** The smallest scale factor >= minSf at which maxAbs fits the type (leaving the NaN value free). */
export function scaleFactorFor(maxAbs: number, type: IntType, minSf: number): number {
  const hi = RANGE[type][1] - 1;
  let sf = minSf;
  while (Math.abs(maxAbs) / 10 ** sf > hi && sf < 10) sf++;
  return sf;
}

/** An engineering value clamped into what the type holds at this scale factor; null stays null. */
export function fit(value: number | null | undefined, sf: number, type: IntType): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const [lo, hi] = RANGE[type];
  const raw = Math.min(hi, Math.max(lo === -32768 || lo === -2147483648 ? lo + 1 : lo, Math.round(value / 10 ** sf)));
  return raw * 10 ** sf;
}

/** Bit `b` of a bitfield point, set when `on`. */
export const bit = (on: boolean, b: number): number => (on ? 2 ** b : 0);
