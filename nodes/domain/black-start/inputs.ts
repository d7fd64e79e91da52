// From what the black-start node receives (site telemetry, the safety envelope, the PCS's 64900
// registers) to the state machine's input. Pure.
import type { Envelope } from '../contracts';
import type { DecodedModel } from '../sunspec/codec';
import type { SiteSnapshot } from '../telemetry-snapshot';
import { ISLAND_STATES, LOAD_GROUPS } from './island-models';
import type { BlackStartInput, IslandFeedback } from './state-machine';

/** Vendor model 64900 as decoded: null when a mandatory point is not implemented. */
export function islandFeedback(m: DecodedModel): IslandFeedback | null {
  const p = m.root.points;
  const n = (name: string): number | null => (typeof p[name] === 'number' ? p[name] : null);
  const form = n('GridForm');
  const tie = n('Tie');
  const st = n('IslSt');
  if (form === null || tie === null || st === null) return null;
  return {
    gridForming: form === 1,
    tieClosed: tie === 1,
    state: ISLAND_STATES[st] ?? 'DARK',
    breakers: LOAD_GROUPS.map((_, k) => n(`Brk${k + 1}`) === 1),
    demandW: LOAD_GROUPS.map((_, k) => n(`LdW${k + 1}`) ?? Number.POSITIVE_INFINITY),
  };
}

/**
 * Whether the envelope means "stop the battery". A SAFE_MODE whose only cause is the PCS's
 * GRID_DISCONNECT alarm (its anti-islanding trip, IEEE 1547 / VDE-AR-N 4105) is the grid loss this
 * node exists to handle, so it does not stop the island; every other SAFE_MODE or ESTOP does.
 */
export function envelopeStops(e: Envelope): boolean {
  if (e.mode !== 'SAFE_MODE' && e.mode !== 'ESTOP') return false;
  if (e.mode === 'ESTOP') return true;
  const critical = e.alarms.filter((a) => a.active && a.severity === 'critical');
  const onlyGridTrip = critical.length > 0 && critical.every((a) => a.code === 'PCS_FAULT' && /:\s*GRID_DISCONNECT$/.test(a.message));
  return !onlyGridTrip;
}

/** The machine's input; telemetry parts older than staleMs count as missing. */
export function blackStartInput(now: number, snap: SiteSnapshot, island: IslandFeedback | null, envelope: Envelope | null, staleMs: number): BlackStartInput {
  const fresh = <T extends { ts: number }>(part: T | undefined): T | undefined => (part && now - part.ts <= staleMs ? part : undefined);
  const meter = fresh(snap.meter);
  const pcs = fresh(snap.pcs);
  const battery = fresh(snap.battery);
  return {
    now,
    meter: meter ? { voltage: meter.voltage, frequency: meter.frequency } : null,
    pcs: pcs ? { power: pcs.power, ratedPowerW: pcs.ratedPowerW, maxDischargeW: pcs.maxDischargeW } : null,
    battery: battery ? { soc: battery.soc, dischargePowerMax: battery.dischargePowerMax } : null,
    island,
    envelope: envelopeView(envelope && now - envelope.ts <= staleMs ? envelope : null),
  };
}

/** A grid-trip-only SAFE_MODE has no limits worth keeping (0 W both ways): the BMS and PCS limits apply. */
function envelopeView(e: Envelope | null): BlackStartInput['envelope'] {
  if (!e) return null;
  if (envelopeStops(e)) return { mode: e.mode, maxDischargeW: 0 };
  if (e.mode === 'SAFE_MODE') return null;
  return { mode: e.mode, maxDischargeW: e.maxDischargeW };
}
