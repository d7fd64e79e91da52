// The Modbus PDU a simulated unit answers with, whatever the framing around it (tcp-server.ts,
// rtu-server.ts): function codes 3, 4, 6 and 16 on a RegisterBank, exceptions per "MODBUS
// Application Protocol Specification V1.1b3", section 7.
import type { EventEmitter } from 'node:events';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from './register-bank';

const MAX_READ = 125;
const MAX_WRITE = 123;

export interface ServerStats {
  requests: number;
  exceptions: number;
  malformed: number;
}

/**
 * The reply PDU to `pdu` for `unit`, or undefined for no reply. A unit that is not there answers
 * with exception 0x0B on TCP (a gateway's "target failed to respond") and stays silent on a serial
 * bus (`missingUnit`), as a real one would. Emits "malformed" and "bankError" on `events`.
 */
export function answer(
  units: ReadonlyMap<number, RegisterBank>,
  unit: number,
  pdu: Buffer,
  missingUnit: 'exception' | 'silent',
  stats: ServerStats,
  events: EventEmitter,
): Buffer | undefined {
  const fc = pdu.readUInt8(0);
  const bank = units.get(unit);
  if (!bank && missingUnit === 'silent') return undefined;
  try {
    if (!bank) throw new ModbusException(ModbusExceptionCode.GATEWAY_TARGET_FAILED, `no unit ${unit}`);
    return respond(bank, fc, pdu);
  } catch (err) {
    // A bank that fails unexpectedly is a device failure, never a crashed server.
    if (!(err instanceof ModbusException)) events.emit('bankError', err);
    const code = err instanceof ModbusException ? err.code : ModbusExceptionCode.SERVER_DEVICE_FAILURE;
    if (err instanceof ModbusException && err.code === ModbusExceptionCode.ILLEGAL_DATA_VALUE) {
      stats.malformed++;
      events.emit('malformed', err);
    }
    stats.exceptions++;
    return Buffer.from([(fc | 0x80) & 0xff, code]);
  }
}

function badValue(message: string): ModbusException {
  return new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_VALUE, message);
}

function respond(bank: RegisterBank, fc: number, pdu: Buffer): Buffer {
  switch (fc) {
    case 0x03:
    case 0x04: {
      if (pdu.length !== 5) throw badValue(`FC${fc}: PDU of ${pdu.length} bytes, expected 5`);
      const address = pdu.readUInt16BE(1);
      const count = pdu.readUInt16BE(3);
      if (count < 1 || count > MAX_READ) throw badValue(`FC${fc}: quantity ${count} outside 1..${MAX_READ}`);
      if (address + count > 0x10000) throw new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, 'read past 65535');
      const regs = bank.readRegisters(address, count);
      const out = Buffer.allocUnsafe(2 + count * 2);
      out.writeUInt8(fc, 0);
      out.writeUInt8(count * 2, 1);
      for (let i = 0; i < count; i++) out.writeUInt16BE((regs[i] ?? 0) & 0xffff, 2 + i * 2);
      return out;
    }
    case 0x06: {
      if (pdu.length !== 5) throw badValue(`FC6: PDU of ${pdu.length} bytes, expected 5`);
      bank.writeRegisters(pdu.readUInt16BE(1), [pdu.readUInt16BE(3)]);
      return Buffer.from(pdu);
    }
    case 0x10: {
      if (pdu.length < 6) throw badValue(`FC16: PDU of ${pdu.length} bytes is too short`);
      const address = pdu.readUInt16BE(1);
      const count = pdu.readUInt16BE(3);
      const bytes = pdu.readUInt8(5);
      if (count < 1 || count > MAX_WRITE || bytes !== count * 2 || pdu.length !== 6 + bytes) {
        throw badValue(`FC16: quantity ${count}, byte count ${bytes}, PDU ${pdu.length} bytes do not agree`);
      }
      if (address + count > 0x10000) throw new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, 'write past 65535');
      const values: number[] = [];
      for (let i = 0; i < count; i++) values.push(pdu.readUInt16BE(6 + i * 2));
      bank.writeRegisters(address, values);
      return pdu.subarray(0, 5);
    }
    default:
      throw new ModbusException(ModbusExceptionCode.ILLEGAL_FUNCTION, `function code ${fc} not supported`);
  }
}
