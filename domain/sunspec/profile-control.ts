// The control section of a device profile: how a device that is not a SunSpec 704 PCS is told to
// charge or discharge. It names the mode registers set once before the first command (setup), the
// power register(s) and their sign or direction register, what is re-written with every command
// (refresh), what is written on release, the device's own timeout (after which it stops by itself)
// and the device's limits. The writes it makes are in profile-writer.ts.
import { z } from 'zod';
import type { PointType } from './model';
import { toSunSpecType, typeSize } from './profile-types';

const WRITE_TYPES = ['uint16', 'int16', 'uint32', 'int32', 'enum16', 'float32'] as const satisfies readonly PointType[];

export const ControlRegisterSchema = z.object({
  address: z.number().int().min(0).max(65535),
  type: z.preprocess(toSunSpecType, z.enum(WRITE_TYPES)),
  /** Modbus function the register is written with: 6 (one register) or 16 (several). */
  function: z.number().int().default(16),
  /** Unit id when it is not the control section's (or the node's). */
  unitId: z.number().int().min(0).max(255).optional(),
  /** Power of ten: the register holds value / 10^scale (scale 1 = tens of W). */
  scale: z.number().int().min(-6).max(6).default(0),
  wordOrder: z.enum(['high', 'low']).default('high'),
  /** What the register is, in the vendor's words (shown in logs and errors). */
  name: z.string().default(''),
});
export type ControlRegister = z.infer<typeof ControlRegisterSchema>;

export const FixedWriteSchema = ControlRegisterSchema.extend({ value: z.number().finite() });
export type FixedWrite = z.infer<typeof FixedWriteSchema>;

const PowerSchema = z.discriminatedUnion('mode', [
  z.object({
    /** One signed register; `positive` says what a positive value means to the device. */
    mode: z.literal('signed'),
    register: ControlRegisterSchema,
    positive: z.enum(['discharge', 'charge']),
  }),
  z.object({
    /**
     * A direction register (its charge / discharge values) and an unsigned power register per
     * direction; without `discharge`, the charge register holds the power of both directions.
     */
    mode: z.literal('direction'),
    direction: ControlRegisterSchema.extend({ charge: z.number().int(), discharge: z.number().int() }),
    charge: ControlRegisterSchema,
    discharge: ControlRegisterSchema.optional(),
  }),
]);

const TimeoutSchema = z.discriminatedUnion('kind', [
  /** The device reverts by itself after this many seconds without a write (its firmware's fixed timer). */
  z.object({ kind: z.literal('fixed'), seconds: z.number().positive() }),
  /** The timer is a register written with every command (e.g. a duration in minutes). */
  z.object({ kind: z.literal('register'), register: ControlRegisterSchema, unit: z.enum(['s', 'min']), min: z.number().int().min(0), max: z.number().int().positive() }),
  /** No timer is documented: the device keeps the last command if the controller dies. */
  z.object({ kind: z.literal('none') }),
]);

export const ControlSchema = z.object({
  /** Unit id of the control registers when it is not the device node's. */
  unitId: z.number().int().min(0).max(255).optional(),
  setup: z.array(FixedWriteSchema).default([]),
  power: PowerSchema,
  /** Written with every command and heartbeat, after the power and before the direction register. */
  refresh: z.array(FixedWriteSchema).default([]),
  /** Written on release: close, refusal, lost command. */
  release: z.array(FixedWriteSchema).min(1),
  timeout: TimeoutSchema,
  /** Longest re-write period the device tolerates, s (shorter than its timeout, with margin). */
  heartbeatS: z.number().positive(),
  /** The device's own fixed limits, W, if its documentation gives them (else ratings read or the node's). */
  limits: z.object({ maxChargeW: z.number().nonnegative(), maxDischargeW: z.number().nonnegative() }).optional(),
});
export type ProfileControl = z.infer<typeof ControlSchema>;

const TYPE_MAX: Partial<Record<ControlRegister['type'], number>> = { uint16: 0xffff, int16: 0x7fff, uint32: 0xffffffff, int32: 0x7fffffff };

/** A range of registers of one unit and address space, for the overlap check. */
export interface RegisterSpan { unitId: number | undefined; space: string; address: number; size: number; what: string }

function named(path: string, r: ControlRegister): string {
  return `${path} (${r.name || `register ${r.address}`})`;
}

/** Every register the control section writes, with its path in the profile. */
export function controlRegisterList(c: ProfileControl): [string, ControlRegister][] {
  const list: [string, ControlRegister][] = [];
  c.setup.forEach((w, i) => list.push([`control.setup.${i}`, w]));
  if (c.power.mode === 'signed') list.push(['control.power.register', c.power.register]);
  else {
    list.push(['control.power.direction', c.power.direction], ['control.power.charge', c.power.charge]);
    if (c.power.discharge) list.push(['control.power.discharge', c.power.discharge]);
  }
  c.refresh.forEach((w, i) => list.push([`control.refresh.${i}`, w]));
  if (c.timeout.kind === 'register') list.push(['control.timeout.register', c.timeout.register]);
  return list;
}

/** The distinct registers the control section writes (release writes repeat registers written elsewhere). */
export function controlRegisters(c: ProfileControl): RegisterSpan[] {
  return controlRegisterList(c).map(([path, r]) => ({ unitId: r.unitId ?? c.unitId, space: 'write', address: r.address, size: typeSize(r.type), what: named(path, r) }));
}

/** What is wrong with a control section beyond its schema: read functions, FC 6 on wide types, limits. */
export function controlProblems(c: ProfileControl): string[] {
  const problems: string[] = [];
  const all: [string, ControlRegister][] = [...controlRegisterList(c), ...c.release.map((w, i): [string, ControlRegister] => [`control.release.${i}`, w])];
  for (const [path, r] of all) {
    if (r.function === 3 || r.function === 4) {
      problems.push(`${named(path, r)}.function: ${r.function} is a read function; a control register is written with function 6 or 16`);
    } else if (r.function !== 6 && r.function !== 16) {
      problems.push(`${named(path, r)}.function: ${r.function} is not a Modbus write function (6 or 16)`);
    } else if (r.function === 6 && typeSize(r.type) !== 1) {
      problems.push(`${named(path, r)}.function: 6 writes one register, a ${r.type} takes ${typeSize(r.type)}`);
    }
    if (r.address + typeSize(r.type) > 0x10000) problems.push(`${named(path, r)}: runs past address 65535`);
  }
  if (c.power.mode === 'signed' && c.power.register.type.startsWith('uint')) {
    problems.push(`control.power.register.type: a signed power register cannot be ${c.power.register.type}`);
  }
  const largest = c.limits ? Math.max(c.limits.maxChargeW, c.limits.maxDischargeW) : 0;
  const powerRegs: [string, ControlRegister][] = c.power.mode === 'signed'
    ? [['control.power.register', c.power.register]]
    : [['control.power.charge', c.power.charge], ['control.power.discharge', c.power.discharge ?? c.power.charge]];
  for (const [path, r] of powerRegs) {
    const max = TYPE_MAX[r.type];
    if (max !== undefined && largest / 10 ** r.scale > max) problems.push(`control.limits: ${largest} W does not fit ${named(path, r)}, a ${r.type} at scale ${r.scale}`);
  }
  if (c.timeout.kind === 'fixed' && c.heartbeatS >= c.timeout.seconds) {
    problems.push(`control.heartbeatS: ${c.heartbeatS} s is not shorter than the device's timeout of ${c.timeout.seconds} s`);
  }
  if (c.timeout.kind === 'register' && c.timeout.min > c.timeout.max) problems.push('control.timeout: min is above max');
  return problems;
}
