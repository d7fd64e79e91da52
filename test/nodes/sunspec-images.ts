// SunSpec register images for the node tests: a battery (1, 802, 805, 713), a PCS (1, 701, 702,
// 704) whose WSet drives its power and falls back to WSetRvrt when the revert timer runs out, and
// a grid meter (1, 203), served at base 40000 like the simulator's units.
import { encodeModel, pointOffset, type GroupValues } from '../../domain/sunspec/codec';
import { SUNS_MARKER } from '../../domain/sunspec/discovery';
import { sunspecModel, type ModelDef } from '../../domain/sunspec/model';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from '../../runtime/simulator/modbus/register-bank';

export const BASE = 40000;

export function model(id: number): ModelDef {
  const def = sunspecModel(id);
  if (!def) throw new Error(`model ${id} not built in`);
  return def;
}

/** Registers of a SunSpec device: marker, the models in order, end model. */
export function sunspecImage(models: [number, GroupValues][]): { regs: number[]; addresses: Map<number, number> } {
  const regs: number[] = [...SUNS_MARKER];
  const addresses = new Map<number, number>();
  for (const [id, values] of models) {
    addresses.set(id, BASE + regs.length);
    regs.push(...encodeModel(model(id), values));
  }
  regs.push(0xffff, 0);
  return { regs, addresses };
}

const common = (md: string): GroupValues => ({ points: { Mn: 'LiFePO4 EMS', Md: md, SN: `SN-${md}`, Vr: '1.0' } });

export const BATTERY_CELLS = [3.301, 3.312, 3.298, 3.305];
export const BATTERY_TEMPS = [24.5, 25.1, 25.8, 24.9];

export function batteryImage(): { regs: number[]; addresses: Map<number, number> } {
  return sunspecImage([
    [1, common('battery')],
    [802, { points: {
      AHRtg: 280, AHRtg_SF: 0, WHRtg: 14336, WHRtg_SF: 0, WChaRteMax: 7000, WDisChaRteMax: 7000, WChaDisChaMax_SF: 0,
      SoC: 52.3, SoC_SF: -1, SoH: 98, SoH_SF: 0, NCyc: 412, State: 3, Evt1: 0, V: 52.8, V_SF: -1,
      CellVMax: 3.312, CellVMin: 3.298, CellVAvg: 3.304, CellV_SF: -3, A: -39.8, A_SF: -1, AChaMax: 140, ADisChaMax: 140, AMax_SF: 0,
      W: -2100, W_SF: 0, DoD_SF: 0, DisChaRte_SF: 0,
    } }],
    [805, { points: {
      StrIdx: 1, ModIdx: 1, NCell: 4, SoC: 52.3, SoC_SF: -1, SoH: 98, SoH_SF: 0, V: 13.2, V_SF: -1,
      CellVMax: 3.312, CellVMin: 3.298, CellV_SF: -3, CellTmpMax: 25.8, CellTmpMin: 24.5, Tmp_SF: -1, DoD_SF: 0,
    }, groups: { 'lithium-ion-module-cell': BATTERY_CELLS.map((v, i) => ({ points: { CellV: v, CellTmp: BATTERY_TEMPS[i] } })) } }],
    [713, { points: { WHRtg: 14336, WHAvail: 7497, WH_SF: 0, SoC: 52.3, SoH: 98, Pct_SF: -1, Sta: 1 } }],
  ]);
}

export function meterImage(): { regs: number[]; addresses: Map<number, number> } {
  return sunspecImage([
    [1, common('meter')],
    [203, { points: { W: 850, W_SF: 0, Hz: 50.01, Hz_SF: -2, PhV: 230.1, V_SF: -1, TotWhImp: 123456, TotWhExp: 6543, TotWh_SF: 0, A_SF: -1, VA_SF: 0, VAR_SF: 0, PF_SF: -2, TotVAh_SF: 0, TotVArh_SF: 0, Evt: 0 } }],
  ]);
}

/** A bank over a register image at BASE; writes allowed where `writable` says. */
export class ImageBank implements RegisterBank {
  constructor(readonly regs: number[], private readonly writable: (address: number) => boolean = () => false) {}
  readRegisters(address: number, count: number): number[] {
    if (address < BASE || address + count > BASE + this.regs.length) {
      throw new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, `no registers at ${address}+${count}`);
    }
    return this.regs.slice(address - BASE, address - BASE + count);
  }
  writeRegisters(address: number, values: readonly number[]): void {
    for (let i = 0; i < values.length; i++) {
      if (!this.writable(address + i)) throw new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, `register ${address + i} is read-only`);
    }
    values.forEach((v, i) => { this.regs[address - BASE + i] = v; });
  }
}

/**
 * A PCS rated 10 kW (702) that follows its 704 WSet while WSetEna is ENABLED and reverts WSet to
 * WSetRvrt when WSetRvrtTms seconds pass without a write of WSet (SunSpec 704 "reversion").
 */
export class PcsBank extends ImageBank {
  readonly a704: number;
  readonly a701: number;
  private revertTimer: NodeJS.Timeout | null = null;
  readonly writes: { address: number; values: number[] }[] = [];
  reverted = 0;

  constructor() {
    const img = sunspecImage([
      [1, common('pcs')],
      [701, { points: { ACType: 1, St: 1, InvSt: 3, ConnSt: 1, Alrm: 0, W: 0, W_SF: 0, Var: 0, Var_SF: 0, Hz: 50, Hz_SF: -2, LNV: 230, V_SF: -1, A_SF: -1, PF_SF: -2, VA_SF: 0, TotWhInj: 1000, TotWhAbs: 2000, TotWh_SF: 0, TotVarh_SF: 0, Tmp_SF: 0 } }],
      [702, { points: { WMaxRtg: 10000, WChaRteMaxRtg: 8000, WDisChaRteMaxRtg: 10000, W_SF: 0, PF_SF: -2, VA_SF: 0, Var_SF: 0, V_SF: -1, A_SF: -1, S_SF: 0 } }],
      [704, { points: { WSetEna: 0, WSetMod: 1, WSet: 0, WSetRvrt: 0, WSetEnaRvrt: 0, WSetRvrtTms: 0, WSetRvrtRem: 0, WSet_SF: 0, WSetPct_SF: 0, PF_SF: -2, WMaxLimPct_SF: 0, VarSet_SF: 0, VarSetPct_SF: 0 } }],
    ]);
    const a704 = img.addresses.get(704) ?? 0;
    const def = model(704);
    const first = a704 + pointOffset(def, 'PFWInjEna');
    const last = a704 + pointOffset(def, 'AntiIslEna');
    super(img.regs, (a) => a >= first && a <= last);
    this.a704 = a704;
    this.a701 = img.addresses.get(701) ?? 0;
  }

  reg(model704Point: string, size = 1): number {
    const at = this.a704 - BASE + pointOffset(model(704), model704Point);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 65536 + (this.regs[at + i] ?? 0);
    return v;
  }

  private set(point: string, value: number, size: number): void {
    const at = this.a704 - BASE + pointOffset(model(704), point);
    const u = value < 0 ? value + 2 ** (16 * size) : value;
    for (let i = 0; i < size; i++) this.regs[at + i] = Math.floor(u / 2 ** (16 * (size - 1 - i))) & 0xffff;
  }

  /** The setpoint WSet as a signed W (WSet_SF is 0 here). */
  get wset(): number {
    const u = this.reg('WSet', 2);
    return u >= 2 ** 31 ? u - 2 ** 32 : u;
  }

  /** Power the PCS delivers: WSet while enabled, else 0. */
  get power(): number {
    return this.reg('WSetEna') === 1 ? this.wset : 0;
  }

  override readRegisters(address: number, count: number): number[] {
    // 701.W follows the setpoint, as a PCS that reaches it at once.
    const at = this.a701 - BASE + pointOffset(model(701), 'W');
    const p = this.power;
    this.regs[at] = p < 0 ? p + 65536 : p;
    return super.readRegisters(address, count);
  }

  override writeRegisters(address: number, values: readonly number[]): void {
    super.writeRegisters(address, values);
    this.writes.push({ address, values: [...values] });
    const wset = this.a704 + pointOffset(model(704), 'WSet');
    if (address <= wset + 1 && address + values.length > wset) this.armRevert();
  }

  private armRevert(): void {
    if (this.revertTimer) clearTimeout(this.revertTimer);
    this.revertTimer = null;
    const secs = this.reg('WSetRvrtTms', 2);
    if (this.reg('WSetEnaRvrt') !== 1 || secs <= 0) return;
    this.revertTimer = setTimeout(() => {
      this.revertTimer = null;
      const back = this.reg('WSetRvrt', 2);
      this.set('WSet', back >= 2 ** 31 ? back - 2 ** 32 : back, 2);
      this.reverted++;
    }, secs * 1000);
  }

  stop(): void {
    if (this.revertTimer) clearTimeout(this.revertTimer);
    this.revertTimer = null;
  }
}
