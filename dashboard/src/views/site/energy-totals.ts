// Today's energy at a site, kWh: PV, grid import and export, battery charged and discharged, and the
// house, from the stored history (interval means) of the local calendar day. Each interval's mean
// power holds for the interval; an interval without the field adds nothing (a gap is not energy).
// Import and export come from the meter's energy counters where the meter reports them (exact),
// else from the grid power's means. Signs as docs/ARCHITECTURE.md: battery + = discharge,
// grid + = import. Without a PV meter the house is its consumption net of PV.
import type { Point } from './series';

export interface EnergyTotals {
  pvWh: number | null;
  importWh: number | null;
  exportWh: number | null;
  chargedWh: number | null;
  dischargedWh: number | null;
  /** House consumption; net of PV when `houseNetOfPv`. */
  houseWh: number | null;
  houseNetOfPv: boolean;
}

/** Local midnight of the day holding `now`. */
export function startOfLocalDay(now: number): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

function integrate(points: readonly Point[], everyMs: number, of: (f: Record<string, number>) => number | undefined): { pos: number; neg: number } | null {
  let pos = 0;
  let neg = 0;
  let any = false;
  for (const p of points) {
    const w = of(p.fields);
    if (w === undefined || !Number.isFinite(w)) continue;
    any = true;
    const wh = (w * everyMs) / 3_600_000;
    if (wh >= 0) pos += wh;
    else neg -= wh;
  }
  return any ? { pos, neg } : null;
}

/** How much a counter rose over the points (max - min: counters only grow; a reset is skipped). */
function counterRise(points: readonly Point[], field: string): number | null {
  const v = points.map((p) => p.fields[field]).filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (v.length < 2) return null;
  let rise = 0;
  for (let i = 1; i < v.length; i++) rise += Math.max(0, (v[i] as number) - (v[i - 1] as number));
  return rise;
}

export function energyTotals(points: readonly Point[], everyMs: number): EnergyTotals {
  const grid = integrate(points, everyMs, (f) => f.gridPowerW);
  const battery = integrate(points, everyMs, (f) => f.pcsPowerW ?? f.batteryPowerW);
  const pv = integrate(points, everyMs, (f) => f.pvPowerW);
  const house = integrate(points, everyMs, (f) => (f.netLoadW === undefined ? undefined : f.netLoadW + (f.pvPowerW ?? 0)));
  const importRise = counterRise(points, 'gridImportWh');
  const exportRise = counterRise(points, 'gridExportWh');
  return {
    pvWh: pv ? pv.pos : null,
    importWh: importRise ?? (grid ? grid.pos : null),
    exportWh: exportRise ?? (grid ? grid.neg : null),
    chargedWh: battery ? battery.neg : null,
    dischargedWh: battery ? battery.pos : null,
    houseWh: house ? house.pos : null,
    houseNetOfPv: !pv,
  };
}

/** The fields today's totals are computed from. */
export const ENERGY_FIELDS = ['gridPowerW', 'pcsPowerW', 'batteryPowerW', 'netLoadW', 'gridImportWh', 'gridExportWh'] as const;
/** The interval of today's history: 288 means a day, each a 5-minute mean. */
export const ENERGY_EVERY = { label: '5m', ms: 5 * 60_000 } as const;
