// What pcs-setpoint commands: a SunSpec 704 PCS (found by discovery) or a device through its
// profile's control section (domain/sunspec/profile-control.ts). Both give the same four things, so
// the node's heartbeat, clamping, staleness, refusal and release are one code path for both.
import { decodeModel } from '../../domain/sunspec/codec';
import { discoverModels, readBlock, type ReadRegisters } from '../../domain/sunspec/discovery';
import { sunspecModel } from '../../domain/sunspec/model';
import type { Profile } from '../../domain/sunspec/profile';
import { readProfileBlocks, type UnitReaders } from '../../domain/sunspec/profile-reader';
import { commandWrites, releaseWrites, setupWrites, type ProfileWrite } from '../../domain/sunspec/profile-writer';
import { pcsLimits, revertWrites, setpointWrite, wsetRaw, type PcsLimits } from './setpoint';

/** One register write: unit, first register, values (sent with function 16). */
/** One write of a target: function 16 unless the device documents 6 (one register) for it. */
export interface TargetWrite { unitId: number; address: number; values: number[]; what: string; function?: 6 | 16 }

export interface PcsTarget {
  limits: PcsLimits;
  /** Written once before the first command, and again after a reconnect (revert timer, mode registers). */
  arm: TargetWrite[];
  /** The writes that command `watts` (already clamped), re-sent as the heartbeat, and the watts they mean. */
  command(watts: number): { writes: TargetWrite[]; watts: number };
  /** Leaves the device at 0 W / released (close, refusal). */
  release: TargetWrite[];
}

interface Limits { maxChargeW: number | null; maxDischargeW: number | null }

/** Discover the unit's SunSpec 704 (and 702 ratings) and command WSet. */
export async function sunspecTarget(read: ReadRegisters, unitId: number, revertTimeoutS: number, config: Limits): Promise<PcsTarget> {
  const { models } = await discoverModels(read);
  const loc704 = models.find((m) => m.id === 704);
  const def704 = sunspecModel(704);
  if (!loc704 || !def704) throw new Error(`unit ${unitId} has no SunSpec model 704 (DER controls): models [${models.map((m) => m.id).join(', ')}]`);
  const m704 = decodeModel(def704, await readBlock(read, loc704.address, loc704.length + 2), loc704.address);
  const loc702 = models.find((m) => m.id === 702);
  const def702 = sunspecModel(702);
  const m702 = loc702 && def702 ? decodeModel(def702, await readBlock(read, loc702.address, loc702.length + 2), loc702.address) : null;
  const rating = (p: string): number | null => {
    const v = m702?.root.points[p];
    return typeof v === 'number' ? v : null;
  };
  const sf = m704.root.points.WSet_SF;
  const wsetSf = typeof sf === 'number' ? sf : 0;
  const at = (w: { offset: number; values: number[]; what: string }): TargetWrite => ({ unitId, address: loc704.address + w.offset, values: w.values, what: w.what });
  return {
    limits: pcsLimits({ WMaxRtg: rating('WMaxRtg'), WChaRteMaxRtg: rating('WChaRteMaxRtg'), WDisChaRteMaxRtg: rating('WDisChaRteMaxRtg') }, config),
    arm: revertWrites(def704, revertTimeoutS).map(at),
    command: (watts) => {
      const cmd = wsetRaw(def704, watts, wsetSf);
      return { writes: [at(setpointWrite(def704, cmd.raw))], watts: cmd.watts };
    },
    release: [at(setpointWrite(def704, 0))],
  };
}

/**
 * Command a device through its profile: the ratings come from the profile's 702 block if it has
 * one (read once), its control limits and the node's own; the writer also keeps to what the power
 * registers can carry.
 */
export async function profileTarget(readers: UnitReaders, profile: Profile, unitId: number, revertTimeoutS: number, config: Limits): Promise<PcsTarget> {
  const control = profile.control;
  if (!control) throw new Error(`profile ${profile.name} has no control section: it can be read, not commanded`);
  const ratings = profile.blocks.filter((b) => b.model === 702);
  let wCha: number | null = null;
  let wDis: number | null = null;
  let wMax: number | null = null;
  for (const b of ratings) {
    const [read] = await readProfileBlocks(readers, { ...profile, blocks: [b] });
    const num = (p: string): number | null => { const v = read?.model.root.points[p]; return typeof v === 'number' ? v : null; };
    wCha = num('WChaRteMaxRtg') ?? wCha;
    wDis = num('WDisChaRteMaxRtg') ?? wDis;
    wMax = num('WMaxRtg') ?? wMax;
  }
  // What the power register can carry is no rating: the writer clamps to it, the status does not claim it.
  const own = {
    maxChargeW: Math.min(config.maxChargeW ?? Infinity, control.limits?.maxChargeW ?? Infinity),
    maxDischargeW: Math.min(config.maxDischargeW ?? Infinity, control.limits?.maxDischargeW ?? Infinity),
  };
  const limits = pcsLimits({ WMaxRtg: wMax, WChaRteMaxRtg: wCha, WDisChaRteMaxRtg: wDis }, {
    maxChargeW: Number.isFinite(own.maxChargeW) ? own.maxChargeW : null,
    maxDischargeW: Number.isFinite(own.maxDischargeW) ? own.maxDischargeW : null,
  });
  // Say which limit is the profile's rather than the node's.
  if (limits.source.charge === 'maxChargeW' && config.maxChargeW !== own.maxChargeW) limits.source.charge = 'the profile';
  if (limits.source.discharge === 'maxDischargeW' && config.maxDischargeW !== own.maxDischargeW) limits.source.discharge = 'the profile';
  // Each register with the function the device documents for it: a device that wants 6 never gets 16 unasked.
  const resolve = (w: ProfileWrite): TargetWrite => ({ unitId: w.unitId ?? unitId, address: w.address, values: w.values, what: w.what, function: w.function });
  return {
    limits,
    arm: setupWrites(control).map(resolve),
    command: (watts) => {
      const cmd = commandWrites(control, watts, revertTimeoutS);
      return { writes: cmd.writes.map(resolve), watts: cmd.watts };
    },
    release: releaseWrites(control).map(resolve),
  };
}
