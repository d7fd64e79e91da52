// SunSpec device discovery: the "SunS" marker at one of the standard base addresses, then a chain
// of models (ID, length L, L registers of body) that ends with ID 0xFFFF (SunSpec Device
// Information Model Specification, "Device Modbus Map").

/** 'Su' 'nS' as two big-endian registers. */
export const SUNS_MARKER = [0x5375, 0x6e53] as const;
/** Where SunSpec devices put the marker, most common first. */
export const SUNSPEC_BASE_ADDRESSES = [40000, 0, 50000] as const;
export const END_MODEL_ID = 0xffff;
/** A Modbus read of holding registers may ask for at most 125 registers (Modbus spec, FC 03). */
export const MAX_READ_REGISTERS = 125;
/** A device with more models than this is taken to be looping or broken. */
const MAX_MODELS = 64;

export type ReadRegisters = (address: number, count: number) => Promise<ArrayLike<number>>;

export interface ModelLocation {
  id: number;
  /** Address of the model's ID register. */
  address: number;
  /** L: registers after ID and L. */
  length: number;
}

export class SunSpecDiscoveryError extends Error {
  override name = 'SunSpecDiscoveryError';
}

/** Read `count` registers from `address` in reads of at most 125 registers. */
export async function readBlock(read: ReadRegisters, address: number, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let at = address; at < address + count; at += MAX_READ_REGISTERS) {
    const n = Math.min(MAX_READ_REGISTERS, address + count - at);
    const regs = await read(at, n);
    if (regs.length < n) throw new SunSpecDiscoveryError(`read of ${n} registers at ${at} returned ${regs.length}`);
    for (let i = 0; i < n; i++) out.push(regs[i] ?? 0);
  }
  return out;
}

export function isSunSpecMarker(regs: ArrayLike<number>): boolean {
  return regs[0] === SUNS_MARKER[0] && regs[1] === SUNS_MARKER[1];
}

/** Find the base address holding the SunS marker; a failed read at one base just tries the next. */
export async function findBase(read: ReadRegisters, bases: readonly number[] = SUNSPEC_BASE_ADDRESSES): Promise<number> {
  const errors: string[] = [];
  for (const base of bases) {
    try {
      if (isSunSpecMarker(await read(base, 2))) return base;
      errors.push(`${base}: no marker`);
    } catch (err) {
      errors.push(`${base}: ${(err as Error).message}`);
    }
  }
  throw new SunSpecDiscoveryError(`no SunSpec marker found (${errors.join('; ')})`);
}

/** Walk the model chain that follows the marker at `base`. */
export async function discoverModels(read: ReadRegisters, base?: number): Promise<{ base: number; models: ModelLocation[] }> {
  const at0 = base ?? (await findBase(read));
  if (base !== undefined && !isSunSpecMarker(await read(base, 2))) {
    throw new SunSpecDiscoveryError(`no SunSpec marker at ${base}`);
  }
  const models: ModelLocation[] = [];
  let address = at0 + 2;
  for (;;) {
    const header = await read(address, 2);
    const id = header[0] ?? END_MODEL_ID;
    if (id === END_MODEL_ID) break;
    const length = header[1] ?? 0;
    if (id === 0 || address + 2 + length > 0xffff) {
      throw new SunSpecDiscoveryError(`model chain broken at ${address}: id ${id}, length ${length}`);
    }
    models.push({ id, address, length });
    if (models.length > MAX_MODELS) throw new SunSpecDiscoveryError(`more than ${MAX_MODELS} models: chain does not end`);
    address += 2 + length;
  }
  if (models.length === 0) throw new SunSpecDiscoveryError(`SunSpec marker at ${at0} but no models`);
  return { base: at0, models };
}
