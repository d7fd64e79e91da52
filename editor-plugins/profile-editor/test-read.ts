// The profile editor's test-read: read a profile's blocks once from a live device and show what
// each point decodes to, with the same code the profile-device node polls with
// (domain/sunspec/profile-reader.ts), so what the editor shows is what the node will send.
import { z } from 'zod';
import type { DecodedGroup, RawValue } from '../../domain/sunspec/codec';
import type { Telemetry } from '../../domain/contracts';
import { unitIdField } from '../../nodes/kit/config';
import { profileTelemetry, readProfileBlocks } from '../../domain/sunspec/profile-reader';
import { unitReaders } from '../../io/modbus/unit-readers';
import type { ModbusTransport } from '../../io/modbus/transport';
import { ModbusConnectionFieldsSchema } from '../../nodes/modbus-connection/config';
import { parseProfile, type Profile } from '../../domain/sunspec/profile';

/** A whole test-read never takes longer than this, whatever the connection's own timeout. */
export const TEST_READ_TIMEOUT_MS = 10_000;

export const TestReadRequestSchema = z.object({
  /** A deployed modbus-connection config node ... */
  connection: z.string().min(1).optional(),
  /** ... or, for one not deployed yet, its host and port (a connection of its own, closed after). */
  endpoint: ModbusConnectionFieldsSchema.pick({ host: true, port: true, timeout: true }).partial({ timeout: true }).optional(),
  unitId: unitIdField,
  /** The profile as an object or as its JSON text; checked with parseProfile. */
  profile: z.unknown(),
}).refine((r) => Boolean(r.connection) !== Boolean(r.endpoint), { message: 'give either connection (a deployed modbus-connection) or endpoint {host, port}' });
export type TestReadRequest = z.infer<typeof TestReadRequestSchema>;

export interface PointReading {
  name: string;
  /** Register address of the point (for a group instance: of that instance's point). */
  address: number;
  type: string;
  units: string | null;
  raw: number | string | null;
  value: number | string | null;
}

export interface BlockReading {
  model: number;
  address: number;
  function: 'holding' | 'input';
  registers: number[];
  points: PointReading[];
}

export interface TestReadResult {
  unitId: number;
  blocks: BlockReading[];
  /** The telemetry the profile-device node would send, or why the blocks do not map to it. */
  telemetry: Telemetry | null;
  telemetryError: string | null;
}

export class TestReadTimeoutError extends Error {
  override name = 'TestReadTimeoutError';
}

function jsonRaw(v: RawValue | undefined): number | string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'bigint' ? v.toString() : v;
}

/** Points of the block in register order, group instances expanded (name[i].point). */
function pointReadings(block: Profile['blocks'][number], decoded: DecodedGroup): PointReading[] {
  const out: PointReading[] = [];
  let address = block.address;
  for (const p of block.points) {
    if (p.type !== 'pad') {
      out.push({ name: p.name, address, type: p.type, units: p.units ?? null, raw: jsonRaw(decoded.raw[p.name]), value: decoded.points[p.name] ?? null });
    }
    address += p.size;
  }
  for (const g of block.groups ?? []) {
    (decoded.groups[g.name] ?? []).forEach((inst, i) => {
      for (const p of g.points) {
        if (p.type !== 'pad') {
          out.push({ name: `${g.name}[${i}].${p.name}`, address, type: p.type, units: p.units ?? null, raw: jsonRaw(inst.raw[p.name]), value: inst.points[p.name] ?? null });
        }
        address += p.size;
      }
    });
  }
  return out;
}

/** Read once; rejects with the transport's or the decoder's error, or TestReadTimeoutError. */
export async function testRead(
  transport: Pick<ModbusTransport, 'readHoldingRegisters' | 'readInputRegisters'>,
  unitId: number,
  profileInput: unknown,
  timeoutMs = TEST_READ_TIMEOUT_MS,
): Promise<TestReadResult> {
  const profile = parseProfile(profileInput);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TestReadTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const reads = await Promise.race([readProfileBlocks((unit) => unitReaders(transport, unit ?? unitId), profile), deadline]);
    const blocks = reads.map((r, i) => {
      const block = profile.blocks[i]!;
      return { model: block.model, address: block.address, function: block.function, registers: r.registers, points: pointReadings(block, r.model.root) };
    });
    let telemetry: Telemetry | null = null;
    let telemetryError: string | null = null;
    try {
      telemetry = profileTelemetry(profile, reads.map((r) => r.model), 'test-read', '', Date.now());
    } catch (err) {
      telemetryError = (err as Error).message;
    }
    return { unitId, blocks, telemetry, telemetryError };
  } finally {
    clearTimeout(timer);
  }
}
