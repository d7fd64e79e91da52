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

/** The Telemetry message a profiled device's decoded blocks make (throws if a mandatory point is missing). */
export function profileTelemetry(profile: Profile, models: readonly DecodedModel[], siteId: string, deviceId: string, ts: number): Telemetry {
  const part = deviceTelemetry(profile.kind, models, ts);
  const t: Telemetry = { siteId, ts };
  if (deviceId) t.deviceId = deviceId;
  if (part.kind === 'battery') t.battery = part.battery;
  else if (part.kind === 'pcs') t.pcs = part.pcs;
  else t.meter = part.meter;
  return t;
}
