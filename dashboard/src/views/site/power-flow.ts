// The site's power flows as a picture: PV, grid, battery and house around one AC bus, each with its
// power as a positive number and the direction of flow as an arrow (signs are easy to misread; the
// arrows are not). Conventions (docs/ARCHITECTURE.md): battery + = discharging, grid + = import.
// Telemetry carries no PV meter: without `pvPowerW` the house is known only net of PV, and a negative
// net load (PV surplus) says PV produces at least that much.

export type FlowDirection = 'in' | 'out' | 'none';

export interface FlowNode {
  id: 'pv' | 'grid' | 'battery' | 'house';
  label: string;
  /** Positive power on the link, W; null when unknown. */
  w: number | null;
  /** `in` flows into the bus, `out` from the bus into the node. */
  direction: FlowDirection;
  /** A word or two under the figure: importing, charging, net of PV, not metered. */
  note: string;
  /** The figure is a lower bound (PV derived from the export of a site without a PV meter). */
  atLeast?: boolean;
}

/** Below this a link counts as idle: meter noise is not a flow. */
export const IDLE_W = 20;

const finite = (v: number | undefined | null): v is number => typeof v === 'number' && Number.isFinite(v);

function dir(intoBusW: number): FlowDirection {
  if (Math.abs(intoBusW) < IDLE_W) return 'none';
  return intoBusW > 0 ? 'in' : 'out';
}

export function powerFlow(fields: Readonly<Record<string, number | undefined>>): FlowNode[] {
  const grid = fields.gridPowerW;
  const battery = fields.pcsPowerW ?? fields.batteryPowerW;
  const net = fields.netLoadW ?? (finite(grid) && finite(battery) ? grid + battery : undefined);
  const pv = fields.pvPowerW;

  const gridNode: FlowNode = finite(grid)
    ? { id: 'grid', label: 'Grid', w: Math.abs(grid), direction: dir(grid), note: dir(grid) === 'none' ? 'balanced' : grid > 0 ? 'importing' : 'exporting' }
    : { id: 'grid', label: 'Grid', w: null, direction: 'none', note: 'no meter data' };
  const batteryNode: FlowNode = finite(battery)
    ? { id: 'battery', label: 'Battery', w: Math.abs(battery), direction: dir(battery), note: dir(battery) === 'none' ? 'idle' : battery > 0 ? 'discharging' : 'charging' }
    : { id: 'battery', label: 'Battery', w: null, direction: 'none', note: 'no PCS data' };

  let pvNode: FlowNode;
  let houseNode: FlowNode;
  if (finite(pv)) {
    const house = finite(net) ? net + pv : null;
    pvNode = { id: 'pv', label: 'PV', w: Math.max(0, pv), direction: dir(Math.max(0, pv)), note: pv >= IDLE_W ? 'producing' : 'no production' };
    houseNode = { id: 'house', label: 'House', w: house === null ? null : Math.max(0, house), direction: house === null ? 'none' : dir(-Math.max(0, house)), note: 'consumption' };
  } else if (finite(net) && net < -IDLE_W) {
    // More power leaves the bus than grid and battery bring: PV covers the house and this surplus.
    pvNode = { id: 'pv', label: 'PV', w: -net, direction: 'in', note: 'at least (no PV meter)', atLeast: true };
    houseNode = { id: 'house', label: 'House', w: null, direction: 'out', note: 'covered by PV' };
  } else {
    pvNode = { id: 'pv', label: 'PV', w: null, direction: 'none', note: 'not metered' };
    houseNode = finite(net)
      ? { id: 'house', label: 'House', w: Math.max(0, net), direction: dir(-Math.max(0, net)), note: 'net of PV' }
      : { id: 'house', label: 'House', w: null, direction: 'none', note: 'unknown' };
  }
  return [pvNode, gridNode, batteryNode, houseNode];
}
