// The data types a device profile may name: the SunSpec type names of model.ts, and the short names
// vendors' register lists use (u16, s16, u32, s32, f32, u64, s64), which mean the same types.
import type { PointType } from './model';

export class ProfileError extends Error {
  override name = 'ProfileError';
}

export const SHORT_TYPES = { u16: 'uint16', s16: 'int16', i16: 'int16', u32: 'uint32', s32: 'int32', i32: 'int32', f32: 'float32', u64: 'uint64', s64: 'int64' } as const satisfies Record<string, PointType>;

/** The SunSpec type name for a short one; anything else passes unchanged (the schema judges it). */
export function toSunSpecType(type: unknown): unknown {
  return typeof type === 'string' && type in SHORT_TYPES ? SHORT_TYPES[type as keyof typeof SHORT_TYPES] : type;
}

/** Registers a value of the type takes (0 for a type whose size the point must give). */
export function typeSize(type: PointType): number {
  if (/64/.test(type)) return 4;
  if (/32|ipaddr/.test(type)) return 2;
  if (type === 'string' || type === 'pad' || type === 'eui48' || type === 'ipv6addr') return 0;
  return 1;
}
