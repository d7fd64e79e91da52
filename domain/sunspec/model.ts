// SunSpec information models (https://github.com/sunspec/models, Apache-2.0): the register layout
// of a device described as nested groups of typed points. The JSON files beside this module are
// the SunSpec Alliance's own, unchanged; a non-SunSpec device profile uses the same point format.
import { z } from 'zod';
import model1 from './models/model_1.json';
import model201 from './models/model_201.json';
import model202 from './models/model_202.json';
import model203 from './models/model_203.json';
import model204 from './models/model_204.json';
import model701 from './models/model_701.json';
import model702 from './models/model_702.json';
import model703 from './models/model_703.json';
import model704 from './models/model_704.json';
import model713 from './models/model_713.json';
import model802 from './models/model_802.json';
import model805 from './models/model_805.json';
// Our vendor model (vendor range 64000-65535) for grid forming, the tie switch and load-group
// breakers, which no SunSpec model commands: see domain/black-start/island-models.ts.
import model64900 from './models/model_64900.json';

export const POINT_TYPES = [
  'int16', 'uint16', 'count', 'acc16', 'enum16', 'bitfield16', 'raw16', 'pad', 'sunssf',
  'int32', 'uint32', 'acc32', 'enum32', 'bitfield32', 'ipaddr', 'float32',
  'int64', 'uint64', 'acc64', 'float64', 'ipv6addr', 'eui48', 'string',
] as const;
export type PointType = (typeof POINT_TYPES)[number];

export const PointDefSchema = z.object({
  name: z.string().min(1),
  type: z.enum(POINT_TYPES),
  size: z.number().int().positive(),
  sf: z.union([z.string(), z.number().int()]).optional(),
  units: z.string().optional(),
  access: z.enum(['R', 'RW']).optional(),
  mandatory: z.enum(['M', 'O']).optional(),
  static: z.enum(['S', 'D']).optional(),
  label: z.string().optional(),
  symbols: z.array(z.object({ name: z.string(), value: z.number().int() })).optional(),
});
export type PointDef = z.infer<typeof PointDefSchema>;

export interface GroupDef {
  name: string;
  type: 'group' | 'sync';
  /** Repeat count: a number, the name of a point holding it, or 0 = fill what the model length leaves. */
  count?: number | string;
  points: PointDef[];
  groups?: GroupDef[];
}

export const GroupDefSchema: z.ZodType<GroupDef> = z.lazy(() =>
  z.object({
    name: z.string().min(1),
    type: z.enum(['group', 'sync']),
    count: z.union([z.number().int().nonnegative(), z.string()]).optional(),
    points: z.array(PointDefSchema),
    groups: z.array(GroupDefSchema).optional(),
  }),
);

export const ModelDefSchema = z.object({ id: z.number().int().min(1).max(65534), group: GroupDefSchema });
export type ModelDef = z.infer<typeof ModelDefSchema>;

/** Size in registers of one instance of a group, its fixed points and its fixed-count subgroups. */
export function groupSize(group: GroupDef): number {
  let size = 0;
  for (const p of group.points) size += p.size;
  for (const g of group.groups ?? []) {
    if (typeof g.count === 'number' && g.count > 0) size += g.count * groupSize(g);
    else if (g.count === undefined) size += groupSize(g);
  }
  return size;
}

const builtIn = new Map<number, ModelDef>();
for (const json of [model1, model201, model202, model203, model204, model701, model702, model703, model704, model713, model802, model805, model64900]) {
  const def = ModelDefSchema.parse(json);
  builtIn.set(def.id, def);
}

/** The SunSpec models this package ships, by model id. */
export function sunspecModel(id: number): ModelDef | undefined {
  return builtIn.get(id);
}

export function knownModelIds(): number[] {
  return [...builtIn.keys()].sort((a, b) => a - b);
}
