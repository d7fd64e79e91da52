// Reading a device through a JSON profile (domain/sunspec/profile.ts): each block is read
// with its own Modbus function and decoded as the SunSpec model it stands for. Shared by the
// profile-device node and the profile editor's test-read, so both decode a device the same way.
import type { Telemetry } from '../contracts';
import type { DecodedModel } from './codec';
import { readBlock, type ReadRegisters } from './discovery';
import { blockSize, decodeProfileBlock, type Profile } from './profile';
import { deviceTelemetry } from './telemetry';

export interface ProfileBlockRead {
  /** The block's registers as read, from its address on. */
  registers: number[];
  model: DecodedModel;
}

/** The readers of one unit id (undefined = the device node's own). */
export type UnitReaders = (unitId: number | undefined) => Record<'holding' | 'input', ReadRegisters>;

/** Read and decode every block of the profile, in order, each on its own unit id if it has one (one request in flight at a time). */
export async function readProfileBlocks(readers: UnitReaders, profile: Profile): Promise<ProfileBlockRead[]> {
  const out: ProfileBlockRead[] = [];
  for (const block of profile.blocks) {
    const registers = await readBlock(readers(block.unitId)[block.function], block.address, blockSize(block));
    out.push({ registers, model: decodeProfileBlock(block, registers) });
  }
  return out;
}

/**
 * Blocks of plain points that stand for the same model (read from different registers or units)
 * as one model: a point of a later block fills what the earlier ones left out. Blocks with groups
 * stay apart: several 805 blocks are several modules.
 */
export function mergeSameModels(models: readonly DecodedModel[]): DecodedModel[] {
  const out: DecodedModel[] = [];
  const plain = new Map<number, DecodedModel>();
  for (const m of models) {
    if (Object.keys(m.root.groups).length > 0) { out.push(m); continue; }
    const seen = plain.get(m.id);
    if (!seen) {
      const copy = { ...m, root: { ...m.root, points: { ...m.root.points } } };
      plain.set(m.id, copy);
      out.push(copy);
      continue;
    }
    for (const [name, v] of Object.entries(m.root.points)) if (seen.root.points[name] === undefined || seen.root.points[name] === null) seen.root.points[name] = v;
  }
  return out;
}

/** The Telemetry message a profiled device's decoded blocks make (throws if a mandatory point is missing). */
export function profileTelemetry(profile: Profile, models: readonly DecodedModel[], siteId: string, deviceId: string, ts: number): Telemetry {
  const part = deviceTelemetry(profile.kind, mergeSameModels(models), ts);
  const t: Telemetry = { siteId, ts };
  if (deviceId) t.deviceId = deviceId;
  if (part.kind === 'battery') t.battery = part.battery;
  else if (part.kind === 'pcs') t.pcs = part.pcs;
  else t.meter = part.meter;
  return t;
}
