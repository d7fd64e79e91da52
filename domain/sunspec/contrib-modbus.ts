// Interoperability with node-red-contrib-modbus 5.23.3, an alternative transport (only that version
// installs from the registry, and it pulls vm2, so our device nodes use modbus-serial). Its nodes send, per modbus/modbus-read.js and core/modbus-io-core.js:
// - Modbus-Read, output 1:  { payload: number[], responseBuffer: { data: number[], buffer: Buffer },
//                             input: { payload: { unitid, fc, address, quantity } }, topic }
// - Modbus-Read, output 2:  { payload: { data, buffer }, values: number[], input: {...} }
// - Modbus-Getter, output 1: { payload: number[], responseBuffer: {...}, modbusRequest: { unitid, fc, address, quantity } }
// - Modbus-Getter, output 2: { payload: { data, buffer }, values: number[], modbusRequest: {...} }
// With "use IO for payload" payload holds named values instead; the register array then sits in
// `values` or `responseBuffer`, which are tried first. This module turns any of them into the
// registers and address of a SunSpec block and decodes the models it holds.
import { z } from 'zod';
import { decodeModel, type DecodedModel } from './codec';
import { END_MODEL_ID, isSunSpecMarker } from './discovery';
import { sunspecModel } from './model';

export class ContribModbusError extends Error {
  override name = 'ContribModbusError';
}

const register = z.number().int().min(0).max(0xffff);
const registers = z.array(register);
const bufferLike = z.union([
  // A Node.js Buffer is a Uint8Array.
  z.instanceof(Uint8Array),
  // A Buffer after JSON (e.g. through a link or a file): { type: 'Buffer', data: bytes }.
  z.object({ type: z.literal('Buffer'), data: z.array(z.number().int().min(0).max(255)) }),
]);
const responseBuffer = z.object({ data: z.unknown().optional(), buffer: z.unknown().optional() });
const request = z.object({ address: z.coerce.number().int().min(0).max(0xffff).optional(), quantity: z.coerce.number().optional() });

export interface RegisterBlock {
  registers: number[];
  /** Register address of registers[0], when the message says. */
  address: number | null;
  /** Which property the registers came from, for diagnostics. */
  source: string;
}

function fromBuffer(value: unknown): number[] | null {
  const b = bufferLike.safeParse(value);
  if (!b.success) return null;
  const bytes = 'type' in b.data && !(b.data instanceof Uint8Array) ? Uint8Array.from(b.data.data) : (b.data as Uint8Array);
  if (bytes.length % 2 !== 0) throw new ContribModbusError(`register buffer has an odd length of ${bytes.length} bytes`);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) out.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return out;
}

function fromArray(value: unknown): number[] | null {
  const r = registers.safeParse(value);
  return r.success && r.data.length > 0 ? r.data : null;
}

/** The registers and address of a contrib-modbus Read or Getter message. */
export function registersOfMessage(msg: unknown): RegisterBlock {
  if (typeof msg !== 'object' || msg === null) throw new ContribModbusError('message is not an object');
  const m = msg as Record<string, unknown>;
  const rb = responseBuffer.safeParse(m.responseBuffer);
  const payload = responseBuffer.safeParse(m.payload);
  const candidates: [string, () => number[] | null][] = [
    ['responseBuffer.buffer', () => (rb.success ? fromBuffer(rb.data.buffer) : null)],
    ['responseBuffer.data', () => (rb.success ? fromArray(rb.data.data) : null)],
    ['values', () => fromArray(m.values)],
    ['payload', () => fromArray(m.payload) ?? fromBuffer(m.payload)],
    ['payload.buffer', () => (payload.success ? fromBuffer(payload.data.buffer) : null)],
    ['payload.data', () => (payload.success ? fromArray(payload.data.data) : null)],
  ];
  for (const [source, get] of candidates) {
    const regs = get();
    if (regs) return { registers: regs, address: requestAddress(m), source };
  }
  throw new ContribModbusError(
    'no registers in the message: expected payload (array of 0..65535), values, or responseBuffer { data, buffer } as sent by node-red-contrib-modbus Read/Getter nodes',
  );
}

function requestAddress(m: Record<string, unknown>): number | null {
  const input = z.object({ payload: request }).safeParse(m.input);
  if (input.success && input.data.payload.address !== undefined) return input.data.payload.address;
  const req = request.safeParse(m.modbusRequest);
  if (req.success && req.data.address !== undefined) return req.data.address;
  return null;
}

export interface DecodedBlock {
  models: DecodedModel[];
  /** Models in the block this package has no definition for, or cut off by the block's end. */
  skipped: string[];
}

/**
 * Decode the SunSpec models in a block that starts at the 'SunS' marker or at a model's ID
 * register. Walks the chain to the end model (0xFFFF) or the end of the block.
 */
export function decodeSunSpecBlock(regs: readonly number[], address: number): DecodedBlock {
  let at = isSunSpecMarker(regs) ? 2 : 0;
  const models: DecodedModel[] = [];
  const skipped: string[] = [];
  while (at + 2 <= regs.length) {
    const id = regs[at] ?? END_MODEL_ID;
    const length = regs[at + 1] ?? 0;
    if (id === END_MODEL_ID) break;
    if (id === 0) throw new ContribModbusError(`no SunSpec model header at ${address + at}: register holds 0`);
    const end = at + 2 + length;
    const def = sunspecModel(id);
    if (end > regs.length) {
      skipped.push(`model ${id} at ${address + at} is cut off: needs ${2 + length} registers, the block has ${regs.length - at} left`);
      break;
    }
    if (def) models.push(decodeModel(def, regs.slice(at, end), address + at));
    else skipped.push(`model ${id} at ${address + at} is not known`);
    at = end;
  }
  if (models.length === 0) {
    const why = skipped.length ? skipped.join('; ') : 'the block holds no model';
    throw new ContribModbusError(`no decodable SunSpec model in ${regs.length} registers at ${address}: ${why}`);
  }
  return { models, skipped };
}
