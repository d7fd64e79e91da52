// Decode and encode SunSpec model registers. Values are big-endian, multi-register values high
// word first, strings two ASCII characters per register padded with NUL (SunSpec Information Model
// Specification, "Data types"). A point holding its type's "not implemented" value decodes to null,
// and so does a scaled point whose scale factor is not implemented.
import { groupSize, type GroupDef, type ModelDef, type PointDef, type PointType } from './model';

export type RawValue = number | bigint | string | null;
export type PointValue = number | string | null;

export interface DecodedGroup {
  /** Engineering values: scale factors applied, unimplemented = null. */
  points: Record<string, PointValue>;
  /** Register values before scaling, for diagnostics and for sunssf points. */
  raw: Record<string, RawValue>;
  groups: Record<string, DecodedGroup[]>;
}

export interface DecodedModel {
  id: number;
  /** Model length L in registers, not counting the ID and L registers. */
  length: number;
  /** Register address of the model's ID register. */
  address: number;
  root: DecodedGroup;
}

/** What an encoder is given for one group instance: engineering values and repeated groups. */
export interface GroupValues {
  points: Record<string, number | string | null | undefined>;
  groups?: Record<string, GroupValues[]>;
}

export class SunSpecDecodeError extends Error {
  override name = 'SunSpecDecodeError';
}

const NOT_IMPLEMENTED: Partial<Record<PointType, number | bigint>> = {
  int16: 0x8000, sunssf: 0x8000, uint16: 0xffff, count: 0, acc16: 0, enum16: 0xffff,
  bitfield16: 0xffff, raw16: 0xffff,
  int32: 0x80000000, uint32: 0xffffffff, acc32: 0, enum32: 0xffffffff, bitfield32: 0xffffffff, ipaddr: 0,
  int64: 0x8000000000000000n, uint64: 0xffffffffffffffffn, acc64: 0n,
};

function readUnsigned(regs: ArrayLike<number>, at: number, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 16n) | BigInt((regs[at + i] ?? 0) & 0xffff);
  return v;
}

/** Decode one point's registers to its raw (unscaled) value; null when not implemented. */
/** Registers [at, at + count) as big-endian bytes (Modbus register order), for the float and byte types. */
function registerView(regs: ArrayLike<number>, at: number, count: number): DataView {
  const view = new DataView(new ArrayBuffer(count * 2));
  for (let i = 0; i < count; i++) view.setUint16(i * 2, (regs[at + i] ?? 0) & 0xffff);
  return view;
}

export function decodeRaw(point: PointDef, regs: ArrayLike<number>, at: number): RawValue {
  const { type, size } = point;
  if (type === 'pad') return null;
  if (type === 'string') {
    let s = '';
    for (let i = 0; i < size; i++) {
      const r = regs[at + i] ?? 0;
      s += String.fromCharCode((r >> 8) & 0xff, r & 0xff);
    }
    const end = s.indexOf('\0');
    const text = (end >= 0 ? s.slice(0, end) : s).trimEnd();
    return text.length ? text : null;
  }
  if (type === 'float32') {
    const view = registerView(regs, at, 2);
    const v = view.getFloat32(0);
    return Number.isNaN(v) ? null : v;
  }
  if (type === 'float64' || type === 'ipv6addr' || type === 'eui48') {
    const view = registerView(regs, at, size);
    if (type === 'float64') {
      const v = view.getFloat64(0);
      return Number.isNaN(v) ? null : v;
    }
    let hex = '';
    for (let i = 0; i < view.byteLength; i++) hex += view.getUint8(i).toString(16).padStart(2, '0');
    return hex;
  }
  const u = readUnsigned(regs, at, size);
  const na = NOT_IMPLEMENTED[type];
  if (na !== undefined && u === BigInt(na)) return null;
  const bits = BigInt(size * 16);
  const signed = type === 'int16' || type === 'int32' || type === 'int64' || type === 'sunssf';
  const v = signed && u >= 1n << (bits - 1n) ? u - (1n << bits) : u;
  return size === 4 ? v : Number(v);
}

function scaled(raw: RawValue, sf: number | null | undefined): PointValue {
  if (raw === null) return null;
  if (typeof raw === 'string') return raw;
  const n = typeof raw === 'bigint' ? Number(raw) : raw;
  if (sf === undefined) return n;
  if (sf === null) return null;
  // Round away binary noise of 10^-n so that 3312 * 10^-3 reads 3.312, not 3.3120000000000003.
  return sf >= 0 ? n * 10 ** sf : Number((n / 10 ** -sf).toFixed(-sf));
}

/** Resolve a point's scale factor: a number, or the name of a sunssf point in this or an enclosing group. */
function scaleFactor(point: PointDef, scopes: readonly Record<string, RawValue>[]): number | null | undefined {
  if (point.sf === undefined) return undefined;
  if (typeof point.sf === 'number') return point.sf;
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (scope && point.sf in scope) {
      const v = scope[point.sf];
      if (v === null || v === undefined) return null;
      const n = Number(v);
      return n >= -10 && n <= 10 ? n : null;
    }
  }
  return null;
}

function repeatCount(group: GroupDef, parent: Record<string, RawValue>, remaining: number): number {
  if (group.count === undefined) return 1;
  if (typeof group.count === 'number' && group.count > 0) return group.count;
  if (typeof group.count === 'string') {
    const v = parent[group.count];
    return typeof v === 'number' && v >= 0 ? v : 0;
  }
  // count 0: as many instances as the model length leaves room for.
  const size = groupSize(group);
  return size > 0 ? Math.max(0, Math.floor(remaining / size)) : 0;
}

interface Cursor { at: number; end: number }

function decodeGroup(group: GroupDef, regs: ArrayLike<number>, cur: Cursor, scopes: Record<string, RawValue>[]): DecodedGroup {
  const out: DecodedGroup = { points: {}, raw: {}, groups: {} };
  for (const p of group.points) {
    if (cur.at + p.size > cur.end) throw new SunSpecDecodeError(`${group.name}.${p.name} lies past the end of the model`);
    out.raw[p.name] = decodeRaw(p, regs, cur.at);
    cur.at += p.size;
  }
  const chain = [...scopes, out.raw];
  for (const p of group.points) {
    if (p.type === 'pad') continue;
    out.points[p.name] = p.type === 'sunssf' ? (out.raw[p.name] as number | null) : scaled(out.raw[p.name] ?? null, scaleFactor(p, chain));
  }
  for (const sub of group.groups ?? []) {
    const n = repeatCount(sub, out.raw, cur.end - cur.at);
    const instances: DecodedGroup[] = [];
    for (let i = 0; i < n; i++) instances.push(decodeGroup(sub, regs, cur, chain));
    out.groups[sub.name] = instances;
  }
  return out;
}

/**
 * Decode one model from registers that start at its ID register.
 * `address` is only recorded, for writes that need it later.
 */
export function decodeModel(def: ModelDef, regs: ArrayLike<number>, address = 0): DecodedModel {
  if (regs.length < 2) throw new SunSpecDecodeError(`model ${def.id}: fewer than 2 registers`);
  const id = regs[0] ?? 0;
  const length = regs[1] ?? 0;
  if (id !== def.id) throw new SunSpecDecodeError(`expected model ${def.id} but registers hold model ${id}`);
  if (regs.length < length + 2) {
    throw new SunSpecDecodeError(`model ${def.id}: length ${length} but only ${regs.length - 2} registers given`);
  }
  const fixed = groupSize(def.group) - 2;
  if (length < fixed) throw new SunSpecDecodeError(`model ${def.id}: length ${length} is shorter than its ${fixed} fixed registers`);
  const root = decodeGroup(def.group, regs, { at: 0, end: length + 2 }, []);
  return { id, length, address, root };
}

// ---------------------------------------------------------------- encoding

function writeUnsigned(out: number[], value: bigint, size: number): void {
  for (let i = size - 1; i >= 0; i--) out.push(Number((value >> BigInt(i * 16)) & 0xffffn));
}

/** Encode one point to its registers. `value` is the raw (already scaled) value; null = not implemented. */
export function encodeRaw(point: PointDef, value: number | bigint | string | null): number[] {
  const { type, size, name } = point;
  const out: number[] = [];
  if (type === 'pad') return new Array<number>(size).fill(0x8000);
  if (type === 'string') {
    const s = value === null ? '' : String(value);
    if (s.length > size * 2) throw new RangeError(`${name}: "${s}" is longer than ${size * 2} characters`);
    for (let i = 0; i < size; i++) out.push(((s.charCodeAt(2 * i) || 0) << 8) | (s.charCodeAt(2 * i + 1) || 0));
    return out;
  }
  if (type === 'float32' || type === 'float64') {
    const view = new DataView(new ArrayBuffer(size * 2));
    const v = value === null ? Number.NaN : Number(value);
    if (type === 'float32') view.setFloat32(0, v);
    else view.setFloat64(0, v);
    for (let i = 0; i < size; i++) out.push(view.getUint16(i * 2));
    return out;
  }
  if (typeof value === 'string') throw new TypeError(`${name}: a ${type} point cannot hold "${value}"`);
  const bits = BigInt(size * 16);
  if (value === null) {
    writeUnsigned(out, BigInt(NOT_IMPLEMENTED[type] ?? 0), size);
    return out;
  }
  const v = typeof value === 'bigint' ? value : BigInt(Math.round(value));
  const signed = type === 'int16' || type === 'int32' || type === 'int64' || type === 'sunssf';
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) throw new RangeError(`${name}: ${v} does not fit ${type}`);
  writeUnsigned(out, v < 0n ? v + (1n << bits) : v, size);
  return out;
}

function encodeGroup(group: GroupDef, values: GroupValues | undefined, scopes: Record<string, RawValue>[], out: number[]): void {
  const own: Record<string, RawValue> = {};
  for (const p of group.points) {
    if (p.type === 'sunssf') {
      const v = values?.points[p.name];
      own[p.name] = typeof v === 'number' ? v : null;
    }
  }
  const chain = [...scopes, own];
  for (const p of group.points) {
    const v = values?.points[p.name];
    if (v === undefined || v === null || p.type === 'pad') {
      out.push(...encodeRaw(p, null));
    } else if (typeof v === 'string' || p.type === 'sunssf') {
      out.push(...encodeRaw(p, v));
    } else {
      const sf = scaleFactor(p, chain);
      if (sf === null) throw new RangeError(`${group.name}.${p.name}: scale factor ${String(p.sf)} is not set`);
      out.push(...encodeRaw(p, sf === undefined ? v : v / 10 ** sf));
    }
  }
  for (const sub of group.groups ?? []) {
    const instances = values?.groups?.[sub.name] ?? [];
    const n = typeof sub.count === 'number' && sub.count > 0 ? sub.count : sub.count === undefined ? 1 : instances.length;
    for (let i = 0; i < n; i++) encodeGroup(sub, instances[i], chain, out);
  }
}

/** Encode a whole model, ID and L registers included. ID and L in `values` are ignored. */
export function encodeModel(def: ModelDef, values: GroupValues): number[] {
  const out: number[] = [];
  const points = { ...values.points, ID: def.id, L: 0 };
  encodeGroup(def.group, { ...values, points }, [], out);
  out[1] = out.length - 2;
  return out;
}

/** Register offset of a top-level point from the model's ID register. */
export function pointOffset(def: ModelDef, pointName: string): number {
  let at = 0;
  for (const p of def.group.points) {
    if (p.name === pointName) return at;
    at += p.size;
  }
  throw new RangeError(`model ${def.id} has no point ${pointName}`);
}

export function pointDef(def: ModelDef, pointName: string): PointDef {
  const p = def.group.points.find((q) => q.name === pointName);
  if (!p) throw new RangeError(`model ${def.id} has no point ${pointName}`);
  return p;
}
