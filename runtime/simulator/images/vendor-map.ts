// The simulated site presented through vendor register maps (profiles/*.json) as well as SunSpec:
// one generic presenter driven by the same profile JSON the edge reads the device with. A profile
// block stands for a SunSpec model, so its points are filled from the simulator's own SunSpec model
// values and encoded in the vendor's layout (types, scale, word and byte order, sign). The control
// section's registers accept writes; the power they command (profile-writer.ts, the same decoder the
// property tests check) goes to the simulated PCS with the device's own timeout as the revert timer,
// so a lapsed heartbeat or a release brings the PCS back to 0 W as the real device would.
import { encodeModel, type GroupValues } from '../../../domain/sunspec/codec';
import { blockModelDef, blockSize, toSunSpecOrder, type Profile, type ProfileBlock } from '../../../domain/sunspec/profile';
import { controlRegisterList, type ControlRegister, type ProfileControl } from '../../../domain/sunspec/profile-control';
import { commandedPower, decodeRegister } from '../../../domain/sunspec/profile-writer';
import { typeSize } from '../../../domain/sunspec/profile-types';
import type { Pcs } from '../pcs';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from '../modbus/register-bank';
import type { ModelSpec } from './image';

const illegalAddress = (msg: string): ModbusException => new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, msg);

/** The simulator's SunSpec models by id, to fill the vendor blocks from. */
export type ModelValues = (modelId: number) => GroupValues | undefined;

/** The SunSpec values of each model id among the site's specs; repeated models (805) merge Max/Min points. */
export function modelValuesOf(specs: readonly ModelSpec[]): ModelValues {
  return (id) => {
    const all = specs.filter((s) => s.def.id === id).map((s) => s.values());
    if (all.length <= 1) return all[0];
    const points: GroupValues['points'] = { ...all[0]?.points };
    for (const name of Object.keys(points)) {
      const nums = all.map((v) => v.points[name]).filter((v): v is number => typeof v === 'number');
      if (name.endsWith('Max') && nums.length) points[name] = Math.max(...nums);
      if (name.endsWith('Min') && nums.length) points[name] = Math.min(...nums);
    }
    return { points };
  };
}

interface ReadBlock { block: ProfileBlock; size: number }
interface ControlOf { control: ProfileControl; unitOf(r: ControlRegister): number }

/** One unit's vendor registers: the read blocks of its profiles and their control registers. */
class VendorUnit {
  readonly blocks: ReadBlock[] = [];
  /** Control registers of this unit by address: their written contents (0 until written). */
  readonly written = new Map<number, number>();
  readonly controls: ControlOf[] = [];

  covers(address: number): boolean {
    return this.written.has(address) || this.blocks.some((b) => address >= b.block.address && address < b.block.address + b.size);
  }
}

/** What the presenter needs of the site: the SunSpec values to present and the PCS to command. */
export interface PresentedSite { values: ModelValues; pcs: Pick<Pcs, 'write'> }

/**
 * The vendor banks of a family of profiles, by unit id. Each profile's unit id is its own (a
 * block's or control register's own unit id first).
 */
export function vendorBanks(profiles: readonly Profile[], site: PresentedSite): Map<number, VendorBank> {
  const units = new Map<number, VendorUnit>();
  const unit = (id: number): VendorUnit => {
    let u = units.get(id);
    if (!u) units.set(id, (u = new VendorUnit()));
    return u;
  };
  for (const profile of profiles) {
    const own = (id: number | undefined, what: string): number => {
      const u = id ?? profile.unitId;
      if (u === undefined) throw new Error(`profile ${profile.name}: ${what} has no unit id, and the profile none either`);
      return u;
    };
    for (const block of profile.blocks) unit(own(block.unitId, `the block at ${block.address}`)).blocks.push({ block, size: blockSize(block) });
    const c = profile.control;
    if (!c) continue;
    const unitOf = (r: ControlRegister): number => own(r.unitId ?? c.unitId, r.name || `register ${r.address}`);
    for (const [, r] of [...controlRegisterList(c), ...c.release.map((w): [string, ControlRegister] => ['release', w])]) {
      for (let i = 0; i < typeSize(r.type); i++) unit(unitOf(r)).written.set(r.address + i, 0);
    }
    const entry = { control: c, unitOf };
    for (const u of new Set([...controlRegisterList(c)].map(([, r]) => unitOf(r)))) unit(u).controls.push(entry);
  }
  const banks = new Map<number, VendorBank>();
  for (const [id, u] of units) banks.set(id, new VendorBank(u, units, site));
  return banks;
}

export class VendorBank implements RegisterBank {
  constructor(
    private readonly unit: VendorUnit,
    private readonly units: ReadonlyMap<number, VendorUnit>,
    private readonly site: PresentedSite,
  ) {}

  /** Whether every register of the range is one of this unit's vendor registers. */
  covers(address: number, count: number): boolean {
    for (let a = address; a < address + count; a++) if (!this.unit.covers(a)) return false;
    return true;
  }

  readRegisters(address: number, count: number): number[] {
    const out: number[] = [];
    for (let a = address; a < address + count; a++) {
      const block = this.unit.blocks.find((b) => a >= b.block.address && a < b.block.address + b.size);
      if (block) {
        out.push(this.encodeBlock(block.block)[a - block.block.address] ?? 0);
        continue;
      }
      const w = this.unit.written.get(a);
      if (w === undefined) throw illegalAddress(`register ${a} is not in this device's map`);
      out.push(w);
    }
    return out;
  }

  writeRegisters(address: number, values: readonly number[]): void {
    for (let i = 0; i < values.length; i++) {
      if (!this.unit.written.has(address + i)) throw illegalAddress(`register ${address + i} is not writable on this device`);
    }
    values.forEach((v, i) => this.unit.written.set(address + i, v & 0xffff));
    for (const c of this.unit.controls) this.apply(c);
  }

  private encodeBlock(block: ProfileBlock): number[] {
    const values = this.site.values(block.model);
    const points: GroupValues['points'] = {};
    for (const p of block.points) {
      const v = values?.points[p.name];
      points[p.name] = p.invert && typeof v === 'number' ? -v : v;
    }
    return toSunSpecOrder(block, encodeModel(blockModelDef(block), { points }).slice(2));
  }

  /** The power the control registers command now, applied to the PCS with the device's timeout. */
  private apply({ control: c, unitOf }: ControlOf): void {
    const read = (r: ControlRegister): number[] | undefined => {
      const u = this.units.get(unitOf(r));
      const regs: number[] = [];
      for (let i = 0; i < typeSize(r.type); i++) {
        const v = u?.written.get(r.address + i);
        if (v === undefined) return undefined;
        regs.push(v);
      }
      return regs;
    };
    // The device obeys its power registers only in the mode the setup selects (e.g. Hub4Mode 3).
    const inMode = c.setup.every((s) => decodeRegister(s, read(s) ?? []) === s.value);
    const watts = inMode ? commandedPower(c, read) : null;
    if (watts === null) {
      this.site.pcs.write({ wSetEna: false, wSet: 0, wSetRvrtTms: 0 });
      return;
    }
    let timeoutS = 0;
    if (c.timeout.kind === 'fixed') timeoutS = c.timeout.seconds;
    if (c.timeout.kind === 'register') timeoutS = (decodeRegister(c.timeout.register, read(c.timeout.register) ?? []) ?? 0) * (c.timeout.unit === 'min' ? 60 : 1);
    // On its timeout the device stops: back to 0 W, setpoint disabled (the PCS's revert values).
    this.site.pcs.write({ wSetEna: true, wSetMod: 'WATTS', wSet: watts, wSetRvrt: 0, wSetPctRvrt: 0, wSetEnaRvrt: false, wSetRvrtTms: timeoutS });
  }
}

/** A unit served by both the SunSpec image and a vendor map: the vendor's addresses go to the vendor map. */
export class CombinedBank implements RegisterBank {
  constructor(
    private readonly vendor: VendorBank,
    private readonly sunspec: RegisterBank | undefined,
  ) {}

  private route(address: number, count: number): RegisterBank {
    if (this.vendor.covers(address, count) || !this.sunspec) return this.vendor;
    return this.sunspec;
  }

  readRegisters(address: number, count: number): ArrayLike<number> {
    return this.route(address, count).readRegisters(address, count);
  }

  writeRegisters(address: number, values: readonly number[]): void {
    this.route(address, values.length).writeRegisters(address, values);
  }
}

/** The site's units with the vendor maps of `profiles` added beside (or, on a new unit id, instead of) SunSpec. */
export function withVendorMaps(sunspec: ReadonlyMap<number, RegisterBank>, profiles: readonly Profile[], site: PresentedSite): Map<number, RegisterBank> {
  const out = new Map<number, RegisterBank>(sunspec);
  for (const [unit, bank] of vendorBanks(profiles, site)) out.set(unit, new CombinedBank(bank, sunspec.get(unit)));
  return out;
}
