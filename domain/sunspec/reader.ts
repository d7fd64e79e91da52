// Reading SunSpec devices through a register reader (io/modbus/unit-readers.ts on a transport): discovery of the model chain, then the
// models a device kind needs. As OpenEMS does with its HIGH and LOW priority tasks, a poll reads
// every "fast" model (live measurements, status and limits the control loop needs each cycle) and
// one "slow" model (ratings, capacities, our own echoed controls), round robin; the last decoded
// value of every model is kept, so each poll still yields the complete set. Models next to each
// other in the chain are read together, in reads of at most 125 registers (discovery.readBlock).
import type { DeviceKind } from '../contracts';
import { decodeModel, type DecodedModel } from './codec';
import { discoverModels, MAX_READ_REGISTERS, readBlock, type ModelLocation, type ReadRegisters } from './discovery';
import { sunspecModel } from './model';
import { deviceKindOf, METER_MODEL_IDS } from './telemetry';

/**
 * Read every poll. Battery: 802 (SoC, V, A, W, cell extremes, current and power limits, state,
 * events) and 805 (cell voltages and temperatures: the safety envelope's inputs). PCS: 701 (W,
 * state, grid connection, alarms). Meter: its 201-204 model (W at the grid connection point).
 */
export const FAST_MODELS: Record<DeviceKind, readonly number[]> = {
  battery: [802, 805],
  pcs: [701],
  meter: METER_MODEL_IDS,
};

/**
 * Refreshed one per poll. 713 (WHRtg, WHAvail, SoH) follows SoC slowly and 802 already carries
 * SoC and WHRtg; 702 holds nameplate ratings; 704 holds the controls the pcs-setpoint node writes,
 * whose acknowledged write is what the loop relies on: the read-back (WSet, revert timer) is for
 * display and verification and may be one slow round old. Model 1 (common) is not mapped to
 * Telemetry, so it is not polled at all.
 */
export const SLOW_MODELS: Record<DeviceKind, readonly number[]> = {
  battery: [713],
  pcs: [702, 704],
  meter: [],
};

export interface DiscoveredDevice {
  base: number;
  kind: DeviceKind;
  /** Every model in the chain. */
  chain: ModelLocation[];
  /** The models polled for this kind of device (fast and slow), in chain order. */
  polled: ModelLocation[];
  /** Read every poll. */
  fast: ModelLocation[];
  /** Read one per poll, round robin. */
  slow: ModelLocation[];
}

export async function discoverDevice(read: ReadRegisters, base: number | undefined, kind: DeviceKind | 'auto'): Promise<DiscoveredDevice> {
  const found = await discoverModels(read, base);
  const ids = found.models.map((m) => m.id);
  const k = kind === 'auto' ? deviceKindOf(ids) : kind;
  if (!k) throw new Error(`SunSpec models [${ids.join(', ')}] at ${found.base} are not a battery (802), PCS (701) or meter (201-204)`);
  const known = found.models.filter((m) => sunspecModel(m.id));
  const fast = known.filter((m) => FAST_MODELS[k].includes(m.id));
  const slow = known.filter((m) => SLOW_MODELS[k].includes(m.id));
  const polled = known.filter((m) => fast.includes(m) || slow.includes(m));
  if (polled.length === 0) {
    throw new Error(`SunSpec models [${ids.join(', ')}] hold nothing a ${k} needs (${[...FAST_MODELS[k], ...SLOW_MODELS[k]].join(', ')})`);
  }
  return { base: found.base, kind: k, chain: found.models, polled, fast, slow };
}

export async function readModel(read: ReadRegisters, loc: ModelLocation): Promise<DecodedModel> {
  const def = sunspecModel(loc.id);
  if (!def) throw new Error(`SunSpec model ${loc.id} is not known`);
  const regs = await readBlock(read, loc.address, loc.length + 2);
  return decodeModel(def, regs, loc.address);
}

export async function readModels(read: ReadRegisters, locs: readonly ModelLocation[]): Promise<DecodedModel[]> {
  return readSpans(read, planSpans(locs));
}

/** A run of registers read together (in reads of at most 125) and the models it holds. */
export interface Span {
  address: number;
  count: number;
  models: ModelLocation[];
}

const readsFor = (count: number): number => Math.ceil(count / MAX_READ_REGISTERS);
const endOf = (loc: ModelLocation): number => loc.address + loc.length + 2;

/**
 * Group models into spans: models that touch are always read together (it never costs a read);
 * a gap between two spans is read through only when that saves a read.
 */
export function planSpans(locs: readonly ModelLocation[]): Span[] {
  const sorted = [...locs].sort((a, b) => a.address - b.address);
  const spans: Span[] = [];
  for (const loc of sorted) {
    const last = spans[spans.length - 1];
    const size = loc.length + 2;
    if (last) {
      const end = last.address + last.count;
      const merged = endOf(loc) - last.address;
      if (loc.address >= end && (loc.address === end || readsFor(merged) < readsFor(last.count) + readsFor(size))) {
        last.count = merged;
        last.models.push(loc);
        continue;
      }
    }
    spans.push({ address: loc.address, count: size, models: [loc] });
  }
  return spans;
}

/** How many Modbus reads a set of spans takes. */
export function readCount(spans: readonly Span[]): number {
  return spans.reduce((n, s) => n + readsFor(s.count), 0);
}

export async function readSpans(read: ReadRegisters, spans: readonly Span[]): Promise<DecodedModel[]> {
  const out: DecodedModel[] = [];
  for (const span of spans) {
    const regs = await readBlock(read, span.address, span.count);
    for (const loc of span.models) {
      const def = sunspecModel(loc.id);
      if (!def) throw new Error(`SunSpec model ${loc.id} is not known`);
      const at = loc.address - span.address;
      out.push(decodeModel(def, regs.slice(at, at + loc.length + 2), loc.address));
    }
  }
  return out;
}

/**
 * The fast/slow polling of one discovered device: the first poll reads every polled model, each
 * later poll the fast models and the next slow one; the result always holds the latest decoded
 * value of every polled model, in chain order.
 */
export class RoundRobinReader {
  private readonly latest = new Map<number, DecodedModel>();
  private nextSlow = 0;

  constructor(readonly device: DiscoveredDevice) {}

  /** The models the next poll reads. */
  plan(): ModelLocation[] {
    const { fast, slow, polled } = this.device;
    if (this.latest.size < polled.length) return polled.filter((m) => !this.latest.has(m.address));
    const pick = slow[this.nextSlow % Math.max(1, slow.length)];
    return pick ? [...fast, pick] : [...fast];
  }

  async poll(read: ReadRegisters): Promise<DecodedModel[]> {
    const planned = this.plan();
    const full = this.latest.size === 0;
    const models = await readSpans(read, planSpans(planned));
    for (const m of models) this.latest.set(m.address, m);
    // The first (complete) poll does not use up a slow turn.
    if (!full && this.device.slow.some((s) => planned.includes(s))) this.nextSlow = (this.nextSlow + 1) % this.device.slow.length;
    return this.device.polled.map((loc) => this.latest.get(loc.address)).filter((m): m is DecodedModel => m !== undefined);
  }
}
