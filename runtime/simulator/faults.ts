// The simulator's fault catalogue: the faults the control API can inject (POST /faults), how a
// request for one is checked, and what each does to the site's parts while it is active.
//   over-temperature    `cell`'s temperature sensor reads `value`, degC (default 60)
//   cell-over-voltage   `cell`'s voltage tap reads `value`, V (default 3.7)
//   cell-under-voltage  `cell`'s voltage tap reads `value`, V (default 2.4)
//   pcs-fault           the PCS goes to FAULT and delivers nothing
//   modbus-silence      the Modbus server stops answering (the simulator's server watches for it)
//   grid-loss           the utility is gone at the grid side of the tie; the PCS trips
//   self-discharge, fan-failure, loose-connection: slow faults, see SLOW_FAULT_TYPES
// The sensor faults lay readings over what the BMS measures; the physics stays true underneath.
import { z } from 'zod';
import type { BatteryPack } from './battery-pack';

export const FAULT_TYPES = [
  'over-temperature',
  'cell-over-voltage',
  'cell-under-voltage',
  'pcs-fault',
  'modbus-silence',
  'grid-loss',
  'self-discharge',
  'fan-failure',
  'loose-connection',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/**
 * Slow faults: they grow from nothing at a constant rate per simulated day since injection, as the
 * ageing faults that anomaly detection must catch early do.
 *   self-discharge    `cell` leaks; `value` = growth of its self-discharge, % of its capacity per
 *                     day, per day (a developing internal micro-short).
 *   fan-failure       the pack's cooling (hA to ambient) degrades; `value` = part lost per day
 *                     (down to 5 % left): temperature rise against current grows.
 *   loose-connection  a busbar joint at `cell` (so on that cell's module) loosens; `value` = contact
 *                     resistance added per day, milliohm: the drop shows in that cell's voltage tap.
 */
export const SLOW_FAULT_TYPES: readonly FaultType[] = ['self-discharge', 'fan-failure', 'loose-connection'];
const MIN_COOLING = 0.05;

/** POST /faults body. `cell` picks the cell (default 0); `value` the sensor reading (degC or V), or a slow fault's rate. */
export const FaultRequestSchema = z
  .object({
    type: z.enum(FAULT_TYPES),
    cell: z.number().int().nonnegative().optional(),
    value: z.number().finite().optional(),
  })
  .strict();
export type FaultRequest = z.infer<typeof FaultRequestSchema>;

export interface ActiveFault {
  type: FaultType;
  cell?: number;
  value?: number;
  /** Simulated time the fault began, ISO 8601. */
  since: string;
}

/** Sensor readings a fault forces when no value is given: just beyond the LFP limits. */
const FAULT_DEFAULT_VALUE: Partial<Record<FaultType, number>> = {
  'over-temperature': 60,
  'cell-over-voltage': 3.7,
  'cell-under-voltage': 2.4,
  'self-discharge': 1,
  'fan-failure': 0.25,
  'loose-connection': 0.2,
};

/** The faults injected into one site, at most one of each type, and the effects on its battery pack. */
export class InjectedFaults {
  private readonly faults = new Map<FaultType, ActiveFault>();
  /** Simulated time each slow fault began, ms. */
  private readonly slowSince = new Map<FaultType, number>();

  active(): ActiveFault[] {
    return [...this.faults.values()];
  }

  has(type: FaultType): boolean {
    return this.faults.has(type);
  }

  /** A slow fault is growing: the pack's slow-fault physics must follow the simulated time. */
  get growing(): boolean {
    return this.slowSince.size > 0;
  }

  /**
   * Adds (or replaces) the fault a request asks for at simulated time `nowMs`. Throws RangeError,
   * changing nothing, for a cell the pack does not have or a slow fault without a positive rate.
   */
  inject(req: FaultRequest, cellCount: number, nowMs: number): ActiveFault {
    const cell = req.cell ?? 0;
    if (cell >= cellCount) throw new RangeError(`cell ${cell} does not exist: the pack has cells 0..${cellCount - 1}`);
    const fault: ActiveFault = { type: req.type, since: new Date(nowMs).toISOString() };
    const value = req.value ?? FAULT_DEFAULT_VALUE[req.type];
    if (value !== undefined) {
      fault.cell = cell;
      fault.value = value;
    }
    if (SLOW_FAULT_TYPES.includes(req.type) && !(value !== undefined && value > 0)) throw new RangeError(`${req.type}: value is a growth rate per day and must be positive`);
    this.faults.set(req.type, fault);
    // Injected again: the slow fault starts over from nothing.
    this.slowSince.delete(req.type);
    return fault;
  }

  /** Removes one type of fault, or all of them. Returns what was removed. */
  clear(type?: FaultType): ActiveFault[] {
    const cleared = [...this.faults.values()].filter((f) => type === undefined || f.type === type);
    for (const f of cleared) this.faults.delete(f.type);
    return cleared;
  }

  /** Puts the active faults into the pack at simulated time `nowMs`: sensor overlays on the BMS and the slow faults' physics. */
  applyTo(pack: BatteryPack, nowMs: number): void {
    const overlays = pack.faults;
    overlays.cellTemp.clear();
    overlays.cellVoltage.clear();
    for (const f of this.faults.values()) {
      if (f.cell === undefined || f.value === undefined) continue;
      if (f.type === 'over-temperature') overlays.cellTemp.set(f.cell, f.value);
      else if (f.type === 'cell-over-voltage' || f.type === 'cell-under-voltage') overlays.cellVoltage.set(f.cell, f.value);
    }
    // Slow faults grow from the time they were (last) injected; a cleared one stops at once.
    for (const t of [...this.slowSince.keys()]) if (!this.faults.has(t)) this.slowSince.delete(t);
    for (const f of this.faults.values()) if (SLOW_FAULT_TYPES.includes(f.type) && !this.slowSince.has(f.type)) this.slowSince.set(f.type, nowMs);
    this.grow(pack, nowMs);
  }

  /** Sets the pack's slow-fault physics from the slow faults' age at simulated time `nowMs`. */
  grow(pack: BatteryPack, nowMs: number): void {
    const slow = pack.slow;
    slow.leakA.clear();
    slow.contactOhm.clear();
    slow.cooling = 1;
    for (const [type, since] of this.slowSince) {
      const f = this.faults.get(type);
      if (!f || f.cell === undefined || f.value === undefined) continue;
      const days = Math.max(0, nowMs - since) / 86_400_000;
      if (type === 'self-discharge') {
        const cap = pack.cellStates()[f.cell]?.capacityAh ?? pack.ratedAh;
        slow.leakA.set(f.cell, ((f.value / 100) * days * cap) / 24);
      } else if (type === 'fan-failure') {
        slow.cooling = Math.max(MIN_COOLING, 1 - f.value * days);
      } else if (type === 'loose-connection') {
        slow.contactOhm.set(f.cell, (f.value / 1000) * days);
      }
    }
  }
}
