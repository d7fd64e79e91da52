// The SunSpec models this package ships (domain/sunspec/model.ts), laid out for the profile
// editor's browser: each point with its offset from the model's ID register, so an integrator can
// see where a SunSpec device keeps a point and which points a profile block may name.
import { groupSize, knownModelIds, sunspecModel, type GroupDef, type PointDef } from '../../domain/sunspec/model';

export interface ModelSummary {
  id: number;
  name: string;
  /** Registers after ID and L (fixed part only; a repeating group of variable count adds more). */
  fixedLength: number;
}

export interface BrowsedPoint extends Omit<PointDef, 'symbols'> {
  /** Offset from the model's ID register (within one group instance for repeating groups). */
  offset: number;
  symbols?: string[];
}

export interface BrowsedGroup {
  name: string;
  count: number | string | null;
  points: BrowsedPoint[];
  groups: BrowsedGroup[];
}

export function modelSummaries(): ModelSummary[] {
  return knownModelIds().map((id) => {
    const def = sunspecModel(id)!;
    return { id, name: def.group.name, fixedLength: groupSize(def.group) - 2 };
  });
}

function browseGroup(g: GroupDef, start: number): BrowsedGroup {
  let offset = start;
  const points = g.points.map((p) => {
    const { symbols, ...rest } = p;
    const out: BrowsedPoint = { ...rest, offset };
    if (symbols) out.symbols = symbols.map((s) => `${s.name}=${s.value}`);
    offset += p.size;
    return out;
  });
  const groups: BrowsedGroup[] = [];
  for (const sub of g.groups ?? []) {
    groups.push(browseGroup(sub, offset));
    if (typeof sub.count === 'number' && sub.count > 0) offset += sub.count * groupSize(sub);
    else if (sub.count === undefined) offset += groupSize(sub);
  }
  return { name: g.name, count: g.count ?? null, points, groups };
}

/** The model's points and groups with offsets, or undefined for a model we do not ship. */
export function browseModel(id: number): { id: number; group: BrowsedGroup } | undefined {
  const def = sunspecModel(id);
  return def && { id, group: browseGroup(def.group, 0) };
}
