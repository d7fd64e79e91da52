// An RTU port for modbus-serial's client (new ModbusRTU(port)) over any byte stream: a serial
// port (RS-485 adapter) or a TCP socket to a serial-to-Ethernet gateway ("RTU over TCP").
//
// modbus-serial's own buffered RTU ports frame a reply only when it carries the unit id and
// function code asked for; anything else (a reply from another unit, a short frame) is kept in
// the buffer silently and the request times out with no hint of why. This port cuts a frame at
// the expected length or, for a frame that stops early, after a silence, and hands it over as it
// came, after checking it here so that each fault gets its name (a short frame, a wrong CRC, a
// reply from another unit); modbus-serial checks the rest (function code, lengths). It also keeps the inter-frame silence (t3.5, rtu-timing.ts) before each request,
// which modbus-serial does not.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import crc16 from 'modbus-serial/utils/crc16';

/** Smallest RTU reply: an exception (unit, FC | 0x80, code, CRC). */
const EXCEPTION_LENGTH = 5;
const MAX_ADU = 256;

export interface RtuPortOptions {
  /** Silence to keep after the last byte on the line before sending, ms (0 over TCP). */
  interFrameMs: number;
  /**
   * Silence after which a reply that stopped short is handed over as it is, ms. Operating
   * systems and USB adapters deliver bytes in chunks, with gaps far above t3.5 at high baud
   * rates, so this is not t1.5 of the specification but a tolerant multiple of it.
   */
  frameEndMs: number;
  /** A reply that cannot be the answer: the transport fails the request in flight with this. */
  onFault: (message: string) => void;
}

/** What is wrong with an RTU reply to `request`, or null when it may be handed to modbus-serial. */
export function replyFault(request: { unit: number; fc: number; length: number }, frame: Buffer): string | null {
  const exception = frame.length >= 2 && frame[1] === (request.fc | 0x80);
  const want = exception ? EXCEPTION_LENGTH : request.length;
  if (frame.length < want) return `short frame: ${frame.length} of ${want} bytes (${frame.toString('hex')})`;
  const crc = frame.readUInt16LE(frame.length - 2);
  const computed = crc16(frame.subarray(0, -2));
  if (crc !== computed) {
    return `wrong CRC (frame says ${crc.toString(16).padStart(4, '0')}, bytes give ${computed.toString(16).padStart(4, '0')}: ${frame.toString('hex')})`;
  }
  if (frame[0] !== request.unit) return `answered by unit ${frame[0]}, asked unit ${request.unit} (two devices with one id on the bus?)`;
  return null;
}

/** Length of the reply to a request ADU, from its function code; null when unknown. */
export function expectedReplyLength(request: Buffer): number | null {
  const fc = request[1];
  if (fc === 3 || fc === 4) return request.length >= 6 ? 5 + 2 * request.readUInt16BE(4) : null;
  if (fc === 6 || fc === 16 || fc === 5 || fc === 15) return 8;
  return null;
}

export class RtuPort extends EventEmitter {
  /** Set by modbus-serial's open(); RTU has no transaction ids, so they stay 1. */
  _transactionIdRead = 1;
  _transactionIdWrite = 1;
  private open_ = true;
  private buffer: Buffer = Buffer.alloc(0);
  private expected: { unit: number; length: number; fc: number } | null = null;
  private lastActivity = 0;
  private frameTimer: NodeJS.Timeout | null = null;
  private sendTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: Duplex,
    private readonly opts: RtuPortOptions,
  ) {
    super();
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('close', () => {
      this.open_ = false;
      this.clearTimers();
      this.emit('close');
    });
  }

  get isOpen(): boolean {
    return this.open_ && !this.stream.destroyed;
  }

  /** The stream is opened by the transport before this port is made. */
  open(callback: (err: Error | null) => void): void {
    callback(null);
  }

  close(callback?: () => void): void {
    this.open_ = false;
    this.clearTimers();
    this.removeAllListeners('data');
    callback?.();
  }

  write(adu: Buffer): void {
    // Bytes still arriving from an earlier (late) reply must not be read as this one's answer.
    this.buffer = Buffer.alloc(0);
    const length = expectedReplyLength(adu);
    this.expected = length === null ? null : { unit: adu[0] ?? 0, length, fc: adu[1] ?? 0 };
    const wait = this.lastActivity + this.opts.interFrameMs - performance.now();
    const send = (): void => {
      this.sendTimer = null;
      if (!this.isOpen) return;
      this.stream.write(adu);
      this.lastActivity = performance.now();
    };
    if (wait > 0) this.sendTimer = setTimeout(send, Math.ceil(wait));
    else send();
  }

  private receive(chunk: Buffer): void {
    this.lastActivity = performance.now();
    if (!this.expected) return; // unsolicited bytes: nobody asked, nothing to hand over
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (this.buffer.length > MAX_ADU) this.buffer = this.buffer.subarray(0, MAX_ADU);
    const { length, fc } = this.expected;
    const exception = this.buffer.length >= 2 && this.buffer[1] === (fc | 0x80);
    const complete = exception ? EXCEPTION_LENGTH : length;
    if (this.buffer.length >= complete) return this.handOver(complete);
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = setTimeout(() => this.handOver(this.buffer.length), this.opts.frameEndMs);
  }

  private handOver(length: number): void {
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = null;
    const frame = this.buffer.subarray(0, length);
    const request = this.expected;
    this.buffer = Buffer.alloc(0);
    this.expected = null;
    if (!request || frame.length === 0) return;
    const fault = replyFault(request, frame);
    if (fault) this.opts.onFault(fault);
    else this.emit('data', frame);
  }

  private clearTimers(): void {
    if (this.frameTimer) clearTimeout(this.frameTimer);
    if (this.sendTimer) clearTimeout(this.sendTimer);
    this.frameTimer = null;
    this.sendTimer = null;
  }
}
