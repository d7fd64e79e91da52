// Device profiles for non-SunSpec devices (docs/ARCHITECTURE.md, "Devices"): a JSON file that maps a device's
// own register blocks onto the SunSpec models they stand for, in the SunSpec point format. Each
// block impersonates one model (its points named after that model's points, with the device's own
// type, size and scale factor, 'pad' for gaps) and has no ID/L header; it decodes like that model,
// so the same telemetry mapping (telemetry.ts) applies to SunSpec and profiled devices alike.
// A vendor's own layout is described per block (unit id, word and byte order) and per point
// (short type names u16..f32, `invert` for a device whose sign is the opposite of ours); the
// optional control section (profile-control.ts) says how the device is commanded.
import { z } from 'zod';
import { DEVICE_KINDS, describeIssues } from '../contracts';
import { decodeModel, type DecodedModel } from './codec';
import { GroupDefSchema, groupSize, PointDefSchema, type GroupDef, type ModelDef, type PointDef } from './model';
import { ControlSchema, controlProblems, controlRegisters, type RegisterSpan } from './profile-control';
import { ProfileError, SHORT_TYPES, toSunSpecType } from './profile-types';

export { ProfileError } from './profile-types';

/** A point as in the SunSpec models, with the vendor's short type names and an optional sign flip. */
export const ProfilePointSchema = PointDefSchema.extend({
  type: z.preprocess(toSunSpecType, PointDefSchema.shape.type),
  /** The device counts this point the other way round (e.g. + = charging): the value is negated. */
  invert: z.boolean().optional(),
});
export type ProfilePoint = z.infer<typeof ProfilePointSchema>;

export const ProfileBlockSchema = z.object({
  /** The SunSpec model id this block impersonates, e.g. 802 for a battery. */
  model: z.number().int().min(1).max(65534),
  /** Register address of the block's first point. */
  address: z.number().int().min(0).max(65535),
  /** Modbus function: holding registers (FC 3, 'holding') or input registers (FC 4, 'input'). */
  function: z.preprocess((v) => (v === 3 ? 'holding' : v === 4 ? 'input' : v), z.enum(['holding', 'input'])).default('holding'),
  /** Unit id of this block when it is not the device node's (e.g. Victron's system unit 100). */
  unitId: z.number().int().min(0).max(255).optional(),
  /** Order of the words of a 32/64-bit value: 'high' (SunSpec, Huawei, Victron) or 'low' first (Sungrow, Deye). */
  wordOrder: z.enum(['high', 'low']).optional(),
  /** Order of the two bytes of each register: 'big' (Modbus, the default) or 'little'. */
  byteOrder: z.enum(['big', 'little']).optional(),
  points: z.array(ProfilePointSchema).min(1),
  groups: z.array(GroupDefSchema).optional(),
});
export type ProfileBlock = z.infer<typeof ProfileBlockSchema>;

/** Where a library profile's registers come from: the vendor document (or code) it was taken from. */
export const SourceSchema = z.object({
  document: z.string().min(1),
  url: z.string().optional(),
  version: z.string().optional(),
});

export const ProfileSchema = z.object({
  name: z.string().min(1).max(128),
  kind: z.enum(DEVICE_KINDS),
  /** The device's usual unit id, which the profile editor puts into the device node. */
  unitId: z.number().int().min(0).max(255).optional(),
  /** Vendor family (e.g. victron-gx): the simulator presents a family's profiles together. */
  family: z.string().regex(/^[a-z0-9-]+$/).optional(),
  source: z.array(SourceSchema).optional(),
  notes: z.string().optional(),
  blocks: z.array(ProfileBlockSchema).min(1),
  control: ControlSchema.optional(),
});
export type Profile = z.infer<typeof ProfileSchema>;

export const PROFILE_TYPES = SHORT_TYPES;

/** Registers one block spans: its points and fixed-count groups (a profile has no model length L). */
export function blockSize(block: ProfileBlock): number {
  return groupSize({ name: 'block', type: 'group', points: block.points, groups: block.groups ?? [] });
}

/** The block as a SunSpec model definition, ID and L prepended, so codec.decodeModel decodes it. */
export function blockModelDef(block: ProfileBlock): ModelDef {
  const header: PointDef[] = [
    { name: 'ID', type: 'uint16', size: 1 },
    { name: 'L', type: 'uint16', size: 1 },
  ];
  const group: GroupDef = { name: `model_${block.model}`, type: 'group', points: [...header, ...block.points] };
  if (block.groups) group.groups = block.groups;
  return { id: block.model, group };
}

function checkBlock(block: ProfileBlock, index: number): string[] {
  const problems: string[] = [];
  const where = `blocks.${index} (model ${block.model} at ${block.address})`;
  const names = new Set<string>();
  for (const p of block.points) {
    if (p.type !== 'pad' && names.has(p.name)) problems.push(`${where}: point ${p.name} appears twice`);
    names.add(p.name);
  }
  const sunssf = new Set(block.points.filter((p) => p.type === 'sunssf').map((p) => p.name));
  for (const p of block.points) {
    if (typeof p.sf === 'string' && !sunssf.has(p.sf)) {
      problems.push(`${where}: point ${p.name} scales by ${p.sf}, which is not a sunssf point of this block`);
    }
  }
  for (const g of block.groups ?? []) {
    if (typeof g.count !== 'number' || g.count < 1) problems.push(`${where}: group ${g.name} needs a fixed count >= 1 (a profile block has no length register)`);
  }
  const size = blockSize(block);
  if ((block.wordOrder === 'low' || block.byteOrder === 'little') && (block.groups ?? []).length > 0) {
    problems.push(`${where}: wordOrder / byteOrder apply to the block's points only, not to groups`);
  }
  if (block.address + size > 0x10000) problems.push(`${where}: ${size} registers run past address 65535`);
  if (size > 0xfffd) problems.push(`${where}: ${size} registers is too long`);
  return problems;
}

/** Registers each block reads, keyed by unit and function (undefined unit = the node's). */
function blockSpans(profile: Profile): RegisterSpan[] {
  return profile.blocks.map((b, i) => ({
    unitId: b.unitId, space: b.function, address: b.address, size: blockSize(b), what: `blocks.${i} (model ${b.model} at ${b.address})`,
  }));
}

/** Two read blocks, or two control registers, that cover the same register: which one is meant? */
function overlaps(profile: Profile): string[] {
  const problems: string[] = [];
  const check = (spans: RegisterSpan[]): void => {
    spans.forEach((a, i) => spans.slice(i + 1).forEach((b) => {
      const sameUnit = (a.unitId ?? -1) === (b.unitId ?? -1) && a.space === b.space;
      if (sameUnit && a.address < b.address + b.size && b.address < a.address + a.size) {
        problems.push(`${a.what} and ${b.what} overlap (registers ${Math.max(a.address, b.address)}..${Math.min(a.address + a.size, b.address + b.size) - 1})`);
      }
    }));
  };
  check(blockSpans(profile));
  if (profile.control) check(controlRegisters(profile.control));
  return problems;
}

/** Parse a profile from its JSON text or object; every problem is named in one ProfileError. */
export function parseProfile(input: unknown): Profile {
  let value = input;
  if (typeof input === 'string') {
    if (!input.trim()) throw new ProfileError('profile is empty');
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new ProfileError(`profile is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = ProfileSchema.safeParse(value);
  if (!parsed.success) throw new ProfileError(`profile: ${describeIssues(parsed.error)}`);
  const problems = parsed.data.blocks.flatMap((b, i) => checkBlock(b, i));
  problems.push(...overlaps(parsed.data));
  if (parsed.data.control) problems.push(...controlProblems(parsed.data.control));
  if (problems.length) throw new ProfileError(`profile: ${problems.join('; ')}`);
  return parsed.data;
}

/** Decode one block's registers (starting at block.address) as the model it impersonates. */
export function decodeProfileBlock(block: ProfileBlock, regs: ArrayLike<number>): DecodedModel {
  const size = blockSize(block);
  if (regs.length < size) throw new ProfileError(`model ${block.model} block at ${block.address}: ${regs.length} registers, needs ${size}`);
  const withHeader = [block.model, size, ...toSunSpecOrder(block, regs)];
  const decoded = decodeModel(blockModelDef(block), withHeader, block.address);
  for (const p of block.points) {
    const v = decoded.root.points[p.name];
    if (p.invert && typeof v === 'number') decoded.root.points[p.name] = v === 0 ? 0 : -v;
  }
  return decoded;
}

function swapBytes(r: number): number {
  return ((r & 0xff) << 8) | ((r >> 8) & 0xff);
}

/**
 * A block's registers in SunSpec order (bytes big-endian, words high first) from the device's own
 * order, or back: both swaps are their own inverse, so the simulator encodes with the same function.
 */
export function toSunSpecOrder(block: Pick<ProfileBlock, 'points' | 'wordOrder' | 'byteOrder'>, regs: ArrayLike<number>): number[] {
  const size = block.points.reduce((n, p) => n + p.size, 0);
  const out: number[] = [];
  for (let i = 0; i < Math.max(size, regs.length); i++) out.push(regs[i] ?? 0);
  if (block.byteOrder === 'little') for (let i = 0; i < size; i++) out[i] = swapBytes(out[i] ?? 0);
  if (block.wordOrder === 'low') {
    let at = 0;
    for (const p of block.points) {
      if (p.size > 1 && p.type !== 'string' && p.type !== 'pad') out.splice(at, p.size, ...out.slice(at, at + p.size).reverse());
      at += p.size;
    }
  }
  return out;
}
