// A lean Modbus TCP server on node:net. modbus-serial's ServerTCP defers every request with a
// timer (about 1 ms each, ~770 requests/s per connection measured here), which would make the
// simulator, not the controller, the bottleneck of the control-loop benchmark; this one answers
// synchronously. Framing per "MODBUS Messaging on TCP/IP Implementation Guide V1.0b": a 7-byte
// MBAP header (transaction id, protocol id 0, length of unit id + PDU, unit id) then the PDU.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { RegisterBank } from './register-bank';
import { answer } from './pdu';

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
    const pdu = answer(this.opts.units, frame.readUInt8(6), frame.subarray(7), 'exception', this.stats, this);
    return pdu && reply(frame, pdu);
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

