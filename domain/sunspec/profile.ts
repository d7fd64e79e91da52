// Device profiles for non-SunSpec devices (docs/ARCHITECTURE.md, "Devices"): a JSON file that maps a device's
// own register blocks onto the SunSpec models they stand for, in the SunSpec point format. Each
// block impersonates one model (its points named after that model's points, with the device's own
// type, size and scale factor, 'pad' for gaps) and has no ID/L header; it decodes like that model,
// so the same telemetry mapping (telemetry.ts) applies to SunSpec and profiled devices alike.
import { z } from 'zod';
import { DEVICE_KINDS, describeIssues } from '../contracts';
import { decodeModel, type DecodedModel } from './codec';
import { GroupDefSchema, groupSize, PointDefSchema, type GroupDef, type ModelDef, type PointDef } from './model';

export class ProfileError extends Error {
  override name = 'ProfileError';
}

export const ProfileBlockSchema = z.object({
  /** The SunSpec model id this block impersonates, e.g. 802 for a battery. */
  model: z.number().int().min(1).max(65534),
  /** Register address of the block's first point. */
  address: z.number().int().min(0).max(65535),
  /** Modbus function: holding registers (FC 3) or input registers (FC 4). */
  function: z.enum(['holding', 'input']).default('holding'),
  points: z.array(PointDefSchema).min(1),
  groups: z.array(GroupDefSchema).optional(),
});
export type ProfileBlock = z.infer<typeof ProfileBlockSchema>;

export const ProfileSchema = z.object({
  name: z.string().min(1).max(128),
  kind: z.enum(DEVICE_KINDS),
  blocks: z.array(ProfileBlockSchema).min(1),
});
export type Profile = z.infer<typeof ProfileSchema>;

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
  if (block.address + size > 0x10000) problems.push(`${where}: ${size} registers run past address 65535`);
  if (size > 0xfffd) problems.push(`${where}: ${size} registers is too long`);
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
  if (problems.length) throw new ProfileError(`profile: ${problems.join('; ')}`);
  return parsed.data;
}

/** Decode one block's registers (starting at block.address) as the model it impersonates. */
export function decodeProfileBlock(block: ProfileBlock, regs: ArrayLike<number>): DecodedModel {
  const size = blockSize(block);
  if (regs.length < size) throw new ProfileError(`model ${block.model} block at ${block.address}: ${regs.length} registers, needs ${size}`);
  const withHeader = [block.model, size];
  for (let i = 0; i < size; i++) withHeader.push(regs[i] ?? 0);
  const decoded = decodeModel(blockModelDef(block), withHeader, block.address);
  return decoded;
}
