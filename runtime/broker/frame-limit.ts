// A byte bound on incoming MQTT packets for the embedded broker. aedes' parser buffers a whole
// packet before looking at it and has no size option, so a client announcing a 200 MB PUBLISH would
// make the broker hold 200 MB; aedes' own docs suggest pairing it with a transport-level frame limit.
// This reads only the fixed header of each packet (MQTT 3.1.1 / 5.0 section 2.2: one type byte, then
// the remaining length as a variable byte integer of at most four bytes) and refuses the
// connection as soon as a packet announces more than the limit.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** Follows packet boundaries through a byte stream; feed() returns false once a packet is too large. */
export class MqttFrameInspector {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  /** The largest remaining length seen (for diagnostics). */
  largest = 0;

  constructor(readonly maxRemainingLength: number) {}

  feed(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'type':
          i++;
          this.state = 'length';
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          break;
        case 'length': {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if (this.length > this.maxRemainingLength) return false;
          if (byte & 0x80) {
            if (this.lengthBytes === 4) return false; // malformed: more than four length bytes
          } else {
            this.largest = Math.max(this.largest, this.length);
            this.remaining = this.length;
            this.state = this.remaining > 0 ? 'body' : 'type';
          }
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'type';
          break;
        }
      }
    }
    return true;
  }
}

export class OversizedPacketError extends Error {
  override readonly name = 'OversizedPacketError';
}

/**
 * The socket as aedes sees it: every byte passes through unchanged, but a packet announcing more than
 * `maxPacketBytes` (fixed header excluded) destroys the connection before its body is buffered.
 */
export class LimitedConnection extends Duplex {
  private readonly inspector: MqttFrameInspector;

  constructor(readonly socket: Socket, maxPacketBytes: number, onOversized: () => void) {
    super({ allowHalfOpen: false });
    this.inspector = new MqttFrameInspector(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      if (!this.inspector.feed(chunk)) {
        onOversized();
        this.destroy(new OversizedPacketError(`MQTT packet larger than ${maxPacketBytes} bytes`));
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.once('end', () => this.push(null));
    socket.once('error', (err) => this.destroy(err));
    socket.once('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
