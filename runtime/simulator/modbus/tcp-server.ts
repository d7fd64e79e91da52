// A lean Modbus TCP server on node:net. modbus-serial's ServerTCP defers every request with a
// timer (about 1 ms each, ~770 requests/s per connection measured here), which would make the
// simulator, not the controller, the bottleneck of the control-loop benchmark; this one answers
// synchronously. Framing per "MODBUS Messaging on TCP/IP Implementation Guide V1.0b": a 7-byte
// MBAP header (transaction id, protocol id 0, length of unit id + PDU, unit id) then the PDU.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from './register-bank';

export interface ModbusTcpServerOptions {
  /** Default 127.0.0.1: nothing listens beyond the machine unless configured. */
  host?: string;
  /** 0 = an ephemeral port, reported by listen(). */
  port: number;
  units: ReadonlyMap<number, RegisterBank>;
}

const MBAP_LENGTH = 7;
/** Largest Modbus PDU is 253 bytes; MBAP length counts the unit id too. */
const MAX_MBAP_LENGTH = 254;
const MAX_READ = 125;
const MAX_WRITE = 123;

export class ModbusTcpServer extends EventEmitter {
  /** While true, requests are read and dropped without reply: the "Modbus silence" fault. */
  silent = false;
  readonly stats = { requests: 0, exceptions: 0, malformed: 0 };
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: ModbusTcpServerOptions) {
    super();
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => this.emit('error', err));
  }

  /** Where the server listens, once listen() resolved. */
  address(): net.AddressInfo | null {
    return this.server.address() as net.AddressInfo | null;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= MBAP_LENGTH) {
        const protocol = pending.readUInt16BE(2);
        const length = pending.readUInt16BE(4);
        if (protocol !== 0 || length < 2 || length > MAX_MBAP_LENGTH) {
          // The stream cannot be re-synchronised after a bad header: drop this connection only.
          this.malformed(new Error(`bad MBAP header: protocol ${protocol}, length ${length}`));
          socket.destroy();
          return;
        }
        if (pending.length < 6 + length) break;
        const frame = pending.subarray(0, 6 + length);
        pending = pending.subarray(6 + length);
        const reply = this.handle(frame);
        if (reply && !socket.destroyed) socket.write(reply);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private malformed(err: Error): void {
    this.stats.malformed++;
    this.emit('malformed', err);
  }

  /** Answer one complete frame; undefined = no reply (silence). */
  private handle(frame: Buffer): Buffer | undefined {
    this.stats.requests++;
    if (this.silent) return undefined;
    const unit = frame.readUInt8(6);
    const pdu = frame.subarray(7);
    const fc = pdu.readUInt8(0);
    try {
      const bank = this.opts.units.get(unit);
      if (!bank) throw new ModbusException(ModbusExceptionCode.GATEWAY_TARGET_FAILED, `no unit ${unit}`);
      return reply(frame, respond(bank, fc, pdu));
    } catch (err) {
      if (!(err instanceof ModbusException)) {
        // A bank that fails unexpectedly is a device failure, never a crashed server.
        this.emit('bankError', err);
      }
      const code = err instanceof ModbusException ? err.code : ModbusExceptionCode.SERVER_DEVICE_FAILURE;
      if (err instanceof ModbusException && err.code === ModbusExceptionCode.ILLEGAL_DATA_VALUE) {
        this.malformed(err);
      }
      this.stats.exceptions++;
      return reply(frame, Buffer.from([(fc | 0x80) & 0xff, code]));
    }
  }
}

function reply(request: Buffer, pdu: Buffer): Buffer {
  const out = Buffer.allocUnsafe(MBAP_LENGTH + pdu.length);
  request.copy(out, 0, 0, 4); // transaction and protocol id
  out.writeUInt16BE(pdu.length + 1, 4);
  out.writeUInt8(request.readUInt8(6), 6);
  pdu.copy(out, MBAP_LENGTH);
  return out;
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
