// The profile writer: from a decision (battery power in W, + = discharge) to the register writes of
// a profile's control section, and back from register contents to the power they command. Pure:
// pcs-setpoint sends the writes, the simulator's vendor presentation reads them back with the same
// functions, and the property tests check that the two agree.
import { decodeRaw, encodeRaw } from './codec';
import type { PointDef } from './model';
import type { ControlRegister, FixedWrite, ProfileControl } from './profile-control';
import { typeSize } from './profile-types';
import { deviceTimeoutS } from './profile-timeout';

export interface ProfileWrite {
  /** undefined = the device node's unit id. */
  unitId: number | undefined;
  address: number;
  function: 6 | 16;
  values: number[];
  what: string;
}

function asPoint(r: ControlRegister): PointDef {
  return { name: r.name || `register ${r.address}`, type: r.type, size: typeSize(r.type) };
}

function inWordOrder(r: ControlRegister, regs: number[]): number[] {
  return r.wordOrder === 'low' ? [...regs].reverse() : regs;
}

/** The registers holding `value` (engineering units): scaled, truncated toward zero, in the register's word order. */
export function encodeRegister(r: ControlRegister, value: number): number[] {
  const raw = r.type === 'float32' ? value / 10 ** r.scale : Math.trunc(value / 10 ** r.scale);
  return inWordOrder(r, encodeRaw(asPoint(r), raw));
}

/** The engineering value of a register's contents, or null for the type's "not implemented" value. */
export function decodeRegister(r: ControlRegister, regs: readonly number[]): number | null {
  const raw = decodeRaw(asPoint(r), inWordOrder(r, [...regs]), 0);
  if (typeof raw !== 'number' && typeof raw !== 'bigint') return null;
  const v = Number(raw) * 10 ** r.scale;
  return r.scale < 0 ? Number(v.toFixed(-r.scale)) : v;
}

function write(c: ProfileControl, r: ControlRegister, value: number): ProfileWrite {
  return {
    unitId: r.unitId ?? c.unitId,
    address: r.address,
    function: r.function === 6 ? 6 : 16,
    values: encodeRegister(r, value),
    what: `${r.name || `register ${r.address}`} = ${value}`,
  };
}

const fixed = (c: ProfileControl, ws: readonly FixedWrite[]): ProfileWrite[] => ws.map((w) => write(c, w, w.value));

/** Mode registers set before the first command (and again after a reconnect). */
export function setupWrites(c: ProfileControl): ProfileWrite[] {
  return fixed(c, c.setup);
}

/** What leaves the device at rest when this controller lets go. */
export function releaseWrites(c: ProfileControl): ProfileWrite[] {
  return fixed(c, c.release);
}

/**
 * The device's own timeout in seconds for a wanted revert time: a fixed firmware timer as it is,
 * a timer register rounded up to its unit and clamped to its range, null when it has none.
 */
export { deviceTimeoutS };

/** The largest charge and discharge power the power register(s) can carry at their scale, W. */
export function registerRange(c: ProfileControl): { maxChargeW: number; maxDischargeW: number } {
  const range = (r: ControlRegister, positive: boolean): number => {
    const max = { uint16: 0xffff, int16: positive ? 0x7fff : 0x8000, uint32: 0xffffffff, int32: positive ? 0x7fffffff : 0x80000000, enum16: 0xfffe, float32: 3.4e38 }[r.type];
    return max * 10 ** r.scale;
  };
  if (c.power.mode === 'signed') {
    const dischargePositive = c.power.positive === 'discharge';
    // The not-implemented value of a signed type (0x8000...) is not a power: one step short of it.
    return { maxChargeW: range(c.power.register, !dischargePositive) - (dischargePositive ? 10 ** c.power.register.scale : 0), maxDischargeW: range(c.power.register, dischargePositive) - (dischargePositive ? 0 : 10 ** c.power.register.scale) };
  }
  return { maxChargeW: range(c.power.charge, true) - 10 ** c.power.charge.scale, maxDischargeW: range(c.power.discharge ?? c.power.charge, true) - 10 ** (c.power.discharge ?? c.power.charge).scale };
}

/** The decision clamped to the profile's limits and to what its registers can carry. */
export function clampToLimits(c: ProfileControl, w: number): number {
  const reg = registerRange(c);
  const maxCharge = Math.min(reg.maxChargeW, c.limits?.maxChargeW ?? Number.POSITIVE_INFINITY);
  const maxDischarge = Math.min(reg.maxDischargeW, c.limits?.maxDischargeW ?? Number.POSITIVE_INFINITY);
  return Math.min(maxDischarge, Math.max(-maxCharge, w));
}

/**
 * The writes that command `watts` (clamped to the profile's limits; rounded toward zero to the
 * register's step, so never beyond what was decided), and the watts those registers mean.
 */
export function commandWrites(c: ProfileControl, watts: number, revertS: number): { writes: ProfileWrite[]; watts: number } {
  const w = clampToLimits(c, watts);
  const writes: ProfileWrite[] = [];
  let meant: number;
  if (c.power.mode === 'signed') {
    const reg = c.power.register;
    const value = c.power.positive === 'discharge' ? w : -w;
    const regs = encodeRegister(reg, value);
    writes.push({ ...write(c, reg, value), values: regs });
    const back = decodeRegister(reg, regs) ?? 0;
    meant = c.power.positive === 'discharge' ? back : -back;
  } else {
    const { charge, direction } = c.power;
    const discharge = c.power.discharge ?? charge;
    const charging = w < 0;
    const magnitude = Math.abs(w);
    if (c.power.discharge) writes.push(write(c, charge, charging ? magnitude : 0), write(c, discharge, charging ? 0 : magnitude));
    else writes.push(write(c, charge, magnitude));
    const back = decodeRegister(charging ? charge : discharge, encodeRegister(charging ? charge : discharge, magnitude)) ?? 0;
    meant = charging ? -back : back;
    if (c.timeout.kind === 'register') {
      const unit = c.timeout.unit === 'min' ? 60 : 1;
      writes.push(write(c, c.timeout.register, (deviceTimeoutS(c, revertS) ?? 0) / unit));
    }
    writes.push(...fixed(c, c.refresh));
    // The direction last: the device acts on it with the power and timer already in place.
    writes.push(write(c, direction, charging ? direction.charge : direction.discharge));
    return { writes, watts: meant === 0 ? 0 : meant };
  }
  if (c.timeout.kind === 'register') {
    const unit = c.timeout.unit === 'min' ? 60 : 1;
    writes.push(write(c, c.timeout.register, (deviceTimeoutS(c, revertS) ?? 0) / unit));
  }
  writes.push(...fixed(c, c.refresh));
  return { writes, watts: meant === 0 ? 0 : meant };
}

/** Reads one control register's current contents (the device's, or a simulator's). */
export type ReadControlRegister = (r: ControlRegister) => readonly number[] | undefined;

/** The power the control registers command now, W (+ = discharge), or null when the device is released. */
export function commandedPower(c: ProfileControl, read: ReadControlRegister): number | null {
  const value = (r: ControlRegister): number | null => {
    const regs = read(r);
    return regs ? decodeRegister(r, regs) : null;
  };
  if (c.power.mode === 'signed') {
    const v = value(c.power.register);
    if (v === null) return null;
    const w = c.power.positive === 'discharge' ? v : -v;
    return w === 0 ? 0 : w;
  }
  const dir = value(c.power.direction);
  if (dir === c.power.direction.charge) { const v = value(c.power.charge); return v === null || v === 0 ? v : -v; }
  if (dir === c.power.direction.discharge) return value(c.power.discharge ?? c.power.charge);
  return null;
}
