// Reading SunSpec devices through the shared transport: discovery of the model chain, then the
// models a device kind needs, each read in chunks of at most 125 registers (discovery.readBlock).
import type { DeviceKind } from '../domain/contracts';
import { decodeModel, type DecodedModel } from '../domain/sunspec/codec';
import { discoverModels, readBlock, type ModelLocation, type ReadRegisters } from '../domain/sunspec/discovery';
import { sunspecModel } from '../domain/sunspec/model';
import { deviceKindOf, METER_MODEL_IDS } from '../domain/sunspec/telemetry';
import type { ModbusTransport } from '../modbus-connection/transport';

/** SunSpec devices serve holding registers (FC 3). */
export function holdingReader(transport: ModbusTransport, unit: number): ReadRegisters {
  return (address, count) => transport.readHoldingRegisters(unit, address, count);
}

const NEEDED: Record<DeviceKind, readonly number[]> = {
  battery: [802, 805, 713],
  pcs: [701, 702, 704],
  meter: METER_MODEL_IDS,
};

export interface DiscoveredDevice {
  base: number;
  kind: DeviceKind;
  /** Every model in the chain. */
  chain: ModelLocation[];
  /** The models polled for this kind of device. */
  polled: ModelLocation[];
}

export async function discoverDevice(read: ReadRegisters, base: number | undefined, kind: DeviceKind | 'auto'): Promise<DiscoveredDevice> {
  const found = await discoverModels(read, base);
  const ids = found.models.map((m) => m.id);
  const k = kind === 'auto' ? deviceKindOf(ids) : kind;
  if (!k) throw new Error(`SunSpec models [${ids.join(', ')}] at ${found.base} are not a battery (802), PCS (701) or meter (201-204)`);
  const polled = found.models.filter((m) => NEEDED[k].includes(m.id) && sunspecModel(m.id));
  if (polled.length === 0) throw new Error(`SunSpec models [${ids.join(', ')}] hold nothing a ${k} needs (${NEEDED[k].join(', ')})`);
  return { base: found.base, kind: k, chain: found.models, polled };
}

export async function readModel(read: ReadRegisters, loc: ModelLocation): Promise<DecodedModel> {
  const def = sunspecModel(loc.id);
  if (!def) throw new Error(`SunSpec model ${loc.id} is not known`);
  const regs = await readBlock(read, loc.address, loc.length + 2);
  return decodeModel(def, regs, loc.address);
}

export async function readModels(read: ReadRegisters, locs: readonly ModelLocation[]): Promise<DecodedModel[]> {
  const out: DecodedModel[] = [];
  for (const loc of locs) out.push(await readModel(read, loc));
  return out;
}
