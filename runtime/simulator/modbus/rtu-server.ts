// A Modbus RTU server on a serial port, over the same register banks as tcp-server.ts: the
// simulator's devices as they sit on an RS-485 bus (or, in tests, on one end of a pseudo-terminal
// pair). Framing per "MODBUS over Serial Line V1.02", 2.5.1: unit id, PDU, CRC-16 (low byte
// first). As a real slave does, it ignores a frame with a wrong CRC or for a unit it is not,
// and never answers a broadcast (unit 0). attach() serves any other byte stream the same way (a
// TCP socket: "RTU over TCP" as a serial-to-Ethernet gateway passes it on).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import crc16 from 'modbus-serial/utils/crc16';
import { SerialPort } from 'serialport';
import type { SerialLine } from '../../../io/modbus/rtu-timing';
import { answer, type ServerStats } from './pdu';
import type { RegisterBank } from './register-bank';

export interface ModbusRtuServerOptions extends Partial<SerialLine> {
  /** The serial port listen() opens; without it, only streams given to attach() are served. */
  path?: string;
  units: ReadonlyMap<number, RegisterBank>;
  /** Silence after which an incomplete request is dropped, ms. */
  frameEndMs?: number;
}

const MAX_ADU = 256;

/** Length of a request ADU from its first bytes; null while too few have arrived to know. */
function requestLength(buf: Buffer): number | null {
  if (buf.length < 2) return null;
  const fc = buf[1];
  if (fc === 3 || fc === 4 || fc === 6) return 8;
  if (fc === 16) return buf.length >= 7 ? 9 + (buf[6] ?? 0) : null;
  return null; // unknown function: the frame ends with the silence
}

export class ModbusRtuServer extends EventEmitter {
  /** While true, requests are read and dropped without reply: the "Modbus silence" fault. */
  silent = false;
  readonly stats: ServerStats = { requests: 0, exceptions: 0, malformed: 0 };
  private port: SerialPort | null = null;
  private readonly streams = new Set<Duplex>();

  constructor(private readonly opts: ModbusRtuServerOptions) {
    super();
  }

  get path(): string | undefined {
    return this.opts.path;
  }

  listen(): Promise<void> {
    const path = this.opts.path;
    if (!path) return Promise.reject(new Error('an RTU server needs a serial path to listen on'));
    const port = new SerialPort({
      path,
      baudRate: this.opts.baudRate ?? 115_200,
      parity: this.opts.parity ?? 'none',
      dataBits: this.opts.dataBits ?? 8,
      stopBits: this.opts.stopBits ?? 1,
      autoOpen: false,
    });
    port.on('error', (err) => this.emit('error', err));
    this.port = port;
    return new Promise((resolve, reject) => port.open((err) => {
      if (err) return reject(err);
      this.attach(port);
      resolve();
    }));
  }

  /** Serve RTU frames on `stream` until it closes. */
  attach(stream: Duplex): void {
    this.streams.add(stream);
    let pending: Buffer = Buffer.alloc(0);
    let frameTimer: NodeJS.Timeout | null = null;
    const reply = (out: Buffer): void => {
      if (!stream.destroyed) stream.write(out);
    };
    stream.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (frameTimer) clearTimeout(frameTimer);
      frameTimer = null;
      for (;;) {
        const length = requestLength(pending);
        if (length === null || pending.length < length) break;
        const frame = pending.subarray(0, length);
        pending = pending.subarray(length);
        this.handle(frame, reply);
      }
      if (pending.length > MAX_ADU) pending = Buffer.alloc(0);
      if (pending.length > 0) {
        // What is left when the line goes quiet is a frame of its own (an unknown function) or
        // the rest of a broken one.
        frameTimer = setTimeout(() => {
          const frame = pending;
          pending = Buffer.alloc(0);
          if (frame.length >= 4) this.handle(frame, reply);
          else this.malformed(new Error(`RTU request of ${frame.length} bytes dropped`));
        }, this.opts.frameEndMs ?? 20);
      }
    });
    stream.on('error', () => stream.destroy());
    stream.on('close', () => {
      if (frameTimer) clearTimeout(frameTimer);
      this.streams.delete(stream);
    });
  }

  close(): Promise<void> {
    for (const s of this.streams) if (s !== this.port) s.destroy();
    const port = this.port;
    this.port = null;
    return new Promise((resolve) => {
      if (!port?.isOpen) return resolve();
      port.close(() => resolve());
    });
  }

  private malformed(err: Error): void {
    this.stats.malformed++;
    this.emit('malformed', err);
  }

  private handle(frame: Buffer, send: (out: Buffer) => void): void {
    if (crc16(frame.subarray(0, -2)) !== frame.readUInt16LE(frame.length - 2)) {
      // A noisy line: a slave stays quiet and the master times out and retries.
      this.malformed(new Error(`RTU request with a wrong CRC dropped (${frame.toString('hex')})`));
      return;
    }
    this.stats.requests++;
    if (this.silent) return;
    const unit = frame.readUInt8(0);
    const pdu = answer(this.opts.units, unit, frame.subarray(1, -2), 'silent', this.stats, this);
    if (!pdu || unit === 0) return;
    const out = Buffer.allocUnsafe(pdu.length + 3);
    out.writeUInt8(unit, 0);
    pdu.copy(out, 1);
    out.writeUInt16LE(crc16(out.subarray(0, -2)), out.length - 2);
    send(out);
  }
}
