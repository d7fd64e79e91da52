// An IslandCommand as register writes on vendor model 64900: one write per run of adjacent points
// (GridForm and Tie are adjacent, as are Brk1..3), so "reconnect" changes mode and tie in one FC 16.
import { encodeRaw, pointDef, pointOffset } from '../sunspec/codec';
import type { ModelDef } from '../sunspec/model';
import { LOAD_GROUPS } from './island-models';
import type { IslandCommand } from './state-machine';

export interface IslandWrite { offset: number; values: number[]; points: string[] }

export function islandWrites(def: ModelDef, cmd: IslandCommand): IslandWrite[] {
  const points: [string, number][] = [];
  if (cmd.gridForming !== undefined) points.push(['GridForm', cmd.gridForming ? 1 : 0]);
  if (cmd.tieClosed !== undefined) points.push(['Tie', cmd.tieClosed ? 1 : 0]);
  cmd.breakers?.forEach((b, k) => { if (b !== undefined && k < LOAD_GROUPS.length) points.push([`Brk${k + 1}`, b ? 1 : 0]); });
  const placed = points.map(([name, v]) => ({ name, offset: pointOffset(def, name), values: encodeRaw(pointDef(def, name), v) }))
    .sort((a, b) => a.offset - b.offset);
  const out: IslandWrite[] = [];
  for (const p of placed) {
    const last = out.at(-1);
    if (last && last.offset + last.values.length === p.offset) {
      last.values.push(...p.values);
      last.points.push(p.name);
    } else {
      out.push({ offset: p.offset, values: [...p.values], points: [p.name] });
    }
  }
  return out;
}
