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
 * Whether the envelope means "stop the battery": SAFE_MODE or ESTOP. The PCS's anti-islanding trip
 * (GRID_DISCONNECT) is only a warning in the envelope (domain/safety/envelope.ts), so a grid loss
 * does not stop the island this node is about to form.
 */
export function envelopeStops(e: Envelope): boolean {
  return e.mode === 'SAFE_MODE' || e.mode === 'ESTOP';
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

function envelopeView(e: Envelope | null): BlackStartInput['envelope'] {
  if (!e) return null;
  if (envelopeStops(e)) return { mode: e.mode, maxDischargeW: 0 };
  return { mode: e.mode, maxDischargeW: e.maxDischargeW };
}
