// A SunSpec register image served over Modbus, built from model definitions: 'SunS' at 40000, then
// a chain of models, then the end model 0xFFFF with length 0 (SunSpec Device Information Model
// Specification, "Device Modbus Map"). Every model is encoded from the physical state with the
// codec's encodeModel on each refresh; writes are accepted only on the RW points the device
// implements and go to the physical model, which the next refresh reflects. What the models hold
// is the devices' business (battery.ts, pcs.ts, meter.ts).
import { decodeModel, encodeModel, type GroupValues } from '../../../domain/sunspec/codec';
import { sunspecModel, type ModelDef, type PointDef } from '../../../domain/sunspec/model';
import { SUNS_MARKER } from '../../../domain/sunspec/discovery';
import { ENTER_SERVICE_MODEL, ISLAND_MODEL, islandModel } from '../../../domain/black-start/island-models';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from '../modbus/register-bank';

export const SUNSPEC_BASE = 40000;
const END_MODEL = [0xffff, 0];

/** One model of a unit: how to fill it and which of its points accept writes. */
export interface ModelSpec {
  def: ModelDef;
  values(): GroupValues;
  /** Top-level RW points this device implements, and what a write of them does. */
  writable?: ReadonlySet<string>;
  /** Apply decoded (engineering) values of written points; throw ModbusException to refuse all. */
  write?(points: Record<string, number>): void;
}

/** A model the simulated devices can carry: a standard SunSpec one or the islanding models (703, 64900). */
export function builtInModel(id: number): ModelDef {
  const def = sunspecModel(id) ?? (id === ENTER_SERVICE_MODEL || id === ISLAND_MODEL ? islandModel(id) : undefined);
  if (!def) throw new Error(`SunSpec model ${id} is not built in`);
  return def;
}

const illegalAddress = (msg: string): ModbusException => new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, msg);
/** The exception a device's write answers a value it refuses with. */
export const illegalValue = (msg: string): ModbusException => new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_VALUE, msg);

interface Placed {
  spec: ModelSpec;
  address: number;
  length: number;
  /** Offset of each top-level point from the model's ID register. */
  offsets: { point: PointDef; offset: number }[];
}

/** The register image of one Modbus unit. */
export class SunSpecImage implements RegisterBank {
  private regs: Uint16Array;
  private readonly placed: Placed[] = [];

  constructor(
    private readonly specs: readonly ModelSpec[],
    readonly base = SUNSPEC_BASE,
  ) {
    let address = base + SUNS_MARKER.length;
    for (const spec of specs) {
      const regs = encodeModel(spec.def, spec.values());
      const offsets: Placed['offsets'] = [];
      let at = 0;
      for (const point of spec.def.group.points) {
        offsets.push({ point, offset: at });
        at += point.size;
      }
      this.placed.push({ spec, address, length: regs.length, offsets });
      address += regs.length;
    }
    this.regs = new Uint16Array(address + END_MODEL.length - base);
    this.refresh();
  }

  /** Model ids in chain order. */
  get modelIds(): number[] {
    return this.placed.map((p) => p.spec.def.id);
  }

  get length(): number {
    return this.regs.length;
  }

  /** Re-encode every model from the physical state. */
  refresh(): void {
    const out = this.regs;
    out[0] = SUNS_MARKER[0];
    out[1] = SUNS_MARKER[1];
    for (const p of this.placed) {
      const regs = encodeModel(p.spec.def, p.spec.values());
      if (regs.length !== p.length) throw new Error(`model ${p.spec.def.id} changed length from ${p.length} to ${regs.length}`);
      out.set(regs, p.address - this.base);
    }
    out.set(END_MODEL, out.length - END_MODEL.length);
  }

  readRegisters(address: number, count: number): Uint16Array {
    if (address < this.base || address + count > this.base + this.regs.length) {
      throw illegalAddress(`registers ${address}..${address + count - 1} lie outside ${this.base}..${this.base + this.regs.length - 1}`);
    }
    return this.regs.subarray(address - this.base, address - this.base + count);
  }

  writeRegisters(address: number, values: readonly number[]): void {
    const end = address + values.length;
    const touched = this.placed.filter((p) => address < p.address + p.length && end > p.address);
    if (touched.length !== 1 || address < (touched[0]?.address ?? 0) || end > (touched[0]?.address ?? 0) + (touched[0]?.length ?? 0)) {
      throw illegalAddress(`registers ${address}..${end - 1} do not lie inside one model`);
    }
    const p = touched[0] as Placed;
    // Every register written must belong to a writable point.
    const names = new Set<string>();
    for (let a = address; a < end; a++) {
      const rel = a - p.address;
      const hit = p.offsets.find((o) => rel >= o.offset && rel < o.offset + o.point.size);
      if (!hit || hit.point.access !== 'RW' || !p.spec.writable?.has(hit.point.name)) {
        throw illegalAddress(`register ${a} (model ${p.spec.def.id} ${hit?.point.name ?? 'group data'}) is not writable on this device`);
      }
      names.add(hit.point.name);
    }
    // Decode the model as it would read after the write, then check and apply the written points.
    const current = Array.from(this.regs.subarray(p.address - this.base, p.address - this.base + p.length));
    values.forEach((v, i) => { current[address - p.address + i] = v & 0xffff; });
    const decoded = decodeModel(p.spec.def, current, p.address);
    const points: Record<string, number> = {};
    for (const name of names) {
      const def = p.offsets.find((o) => o.point.name === name)?.point;
      const v = decoded.root.points[name];
      if (typeof v !== 'number') throw illegalValue(`${name}: the "not implemented" value cannot be written`);
      if (def?.symbols && (def.type === 'enum16' || def.type === 'enum32') && !def.symbols.some((s) => s.value === v)) {
        throw illegalValue(`${name}: ${v} is not one of ${def.symbols.map((s) => `${s.value} (${s.name})`).join(', ')}`);
      }
      points[name] = v;
    }
    p.spec.write?.(points);
    this.refresh();
  }
}
