// The PCS active-power command in SunSpec model 704 terms (pure: no I/O). Registers of the
// WSet block, in model order: WSetEna, WSetMod, WSet (int32), WSetRvrt (int32), WSetPct,
// WSetPctRvrt, WSetEnaRvrt, WSetRvrtTms (uint32, seconds). Signs: SunSpec 704 WSet is positive
// when the DER injects, which for a battery PCS is discharging: + = discharge, as everywhere here.
import { encodeRaw, pointDef, pointOffset } from '../../domain/sunspec/codec';
import type { ModelDef } from '../../domain/sunspec/model';

export const ENABLED = 1;
/** 704 WSetMod symbol WATTS: WSet holds watts, not a percentage of WMax. */
export const WSET_MODE_WATTS = 1;

export interface PcsLimits {
  /** Largest charge power, W >= 0 (applied to negative setpoints). */
  maxChargeW: number;
  /** Largest discharge power, W >= 0. */
  maxDischargeW: number;
  /** Where each limit came from, for the status and the result message. */
  source: { charge: string; discharge: string };
}

function smallest(candidates: [number | null, string][]): [number, string] {
  let best: [number, string] = [Number.POSITIVE_INFINITY, 'none'];
  for (const [v, why] of candidates) if (v !== null && Number.isFinite(v) && v >= 0 && v < best[0]) best = [v, why];
  return best;
}

/**
 * The limits a setpoint is clamped to: the PCS ratings (702 WChaRteMaxRtg / WDisChaRteMaxRtg,
 * else WMaxRtg) and the node's own optional maxChargeW / maxDischargeW, whichever is smaller.
 */
export function pcsLimits(ratings: { WMaxRtg: number | null; WChaRteMaxRtg: number | null; WDisChaRteMaxRtg: number | null },
  config: { maxChargeW: number | null; maxDischargeW: number | null }): PcsLimits {
  const [maxChargeW, charge] = smallest([
    [ratings.WChaRteMaxRtg ?? ratings.WMaxRtg, ratings.WChaRteMaxRtg !== null ? '702.WChaRteMaxRtg' : '702.WMaxRtg'],
    [config.maxChargeW, 'maxChargeW'],
  ]);
  const [maxDischargeW, discharge] = smallest([
    [ratings.WDisChaRteMaxRtg ?? ratings.WMaxRtg, ratings.WDisChaRteMaxRtg !== null ? '702.WDisChaRteMaxRtg' : '702.WMaxRtg'],
    [config.maxDischargeW, 'maxDischargeW'],
  ]);
  return { maxChargeW, maxDischargeW, source: { charge, discharge } };
}

export function clampSetpoint(w: number, limits: PcsLimits): number {
  return Math.min(limits.maxDischargeW, Math.max(-limits.maxChargeW, w));
}

/** The raw WSet value for `w` watts at scale factor `sf`, and the watts that raw value means. */
export function wsetRaw(def704: ModelDef, w: number, sf: number): { raw: number; watts: number } {
  const point = pointDef(def704, 'WSet');
  const raw = Math.round(w / 10 ** sf);
  encodeRaw(point, raw); // throws RangeError when it does not fit int32
  const watts = sf >= 0 ? raw * 10 ** sf : Number((raw / 10 ** -sf).toFixed(-sf));
  return { raw, watts };
}

export interface RegisterWrite { offset: number; values: number[]; what: string }

/** The writes that arm the revert timer: WSetRvrt = 0 W, WSetEnaRvrt = ENABLED, WSetRvrtTms. */
export function revertWrites(def704: ModelDef, revertSeconds: number): RegisterWrite[] {
  return [
    { offset: pointOffset(def704, 'WSetRvrt'), values: encodeRaw(pointDef(def704, 'WSetRvrt'), 0), what: 'WSetRvrt = 0 W' },
    {
      offset: pointOffset(def704, 'WSetEnaRvrt'),
      values: [ENABLED, ...encodeRaw(pointDef(def704, 'WSetRvrtTms'), revertSeconds)],
      what: `WSetEnaRvrt = ENABLED, WSetRvrtTms = ${revertSeconds} s`,
    },
  ];
}

/** One write of WSetEna = ENABLED, WSetMod = WATTS and WSet: the command and its heartbeat. */
export function setpointWrite(def704: ModelDef, raw: number): RegisterWrite {
  return {
    offset: pointOffset(def704, 'WSetEna'),
    values: [ENABLED, WSET_MODE_WATTS, ...encodeRaw(pointDef(def704, 'WSet'), raw)],
    what: `WSetEna = ENABLED, WSetMod = WATTS, WSet = ${raw}`,
  };
}
