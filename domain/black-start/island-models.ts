// The SunSpec models an islanding-capable PCS needs beyond 701/702/704:
// - 703 Enter Service (SunSpec Alliance, unchanged): ES and the voltage / frequency windows and
//   delay a DER waits for before it (re)connects (IEEE 1547-2018 clause 4.10, EN 50549-1 4.10).
// - 64900, our vendor model (sunspec/models/model_64900.json): SunSpec has no standard point
//   that commands grid-forming operation, the point-of-common-coupling tie switch or load-group
//   breakers (701 DERMode only *reports* GRID_FORMING), so this minimal extension adds them in the
//   vendor range 64000-65535. Both are built into sunspec/model.ts like every other model.
import { sunspecModel, type ModelDef } from '../sunspec/model';

export const ENTER_SERVICE_MODEL = 703;
export const ISLAND_MODEL = 64900;

/** Model 703 or 64900, or any other built-in model; throws for an unknown one. */
export function islandModel(id: number): ModelDef {
  const def = sunspecModel(id);
  if (!def) throw new Error(`SunSpec model ${id} is not known`);
  return def;
}

/** 64900 symbols. */
export const GRID_FORM = { GRID_FOLLOWING: 0, GRID_FORMING: 1 } as const;
export const SWITCH = { OPEN: 0, CLOSED: 1 } as const;
export const ISLAND_STATES = ['GRID_CONNECTED', 'DARK', 'ISLANDED', 'COLLAPSED'] as const;
export type IslandState = (typeof ISLAND_STATES)[number];
/** The three load groups, in priority order: breaker k (1-based) feeds LOAD_GROUPS[k - 1]. */
export const LOAD_GROUPS = ['critical', 'normal', 'deferrable'] as const;
export type LoadGroup = (typeof LOAD_GROUPS)[number];
