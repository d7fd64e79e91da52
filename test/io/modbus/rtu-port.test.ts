import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import crc16 from 'modbus-serial/utils/crc16';
import { expectedReplyLength, replyFault, RtuPort } from '../../../io/modbus/rtu-port';

function frame(bytes: number[]): Buffer {
  const out = Buffer.from([...bytes, 0, 0]);
  out.writeUInt16LE(crc16(out.subarray(0, -2)), out.length - 2);
  return out;
}

/** A line whose far end is this test: what the port writes is kept, what the test pushes is read. */
class Line extends Duplex {
  readonly written: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.written.push(chunk);
    done();
  }
  override _read(): void { /* data comes from push() */ }
}

describe('RTU port', () => {
  const read = frame([1, 3, 0, 10, 0, 2]);

  it('knows the reply length of reads and writes from the request', () => {
    assert.equal(expectedReplyLength(read), 9);
    assert.equal(expectedReplyLength(frame([1, 16, 0, 10, 0, 1, 2, 0, 5])), 8);
    assert.equal(expectedReplyLength(frame([1, 43, 14, 1, 0])), null);
  });

  it('names what is wrong with a reply, or nothing when it may be parsed', () => {
    const req = { unit: 1, fc: 3, length: 9 };
    assert.equal(replyFault(req, frame([1, 3, 4, 0, 1, 0, 2])), null);
    assert.equal(replyFault(req, frame([1, 0x83, 2])), null, 'an exception is a reply');
    assert.match(replyFault(req, frame([1, 3, 4, 0, 1, 0, 2]).subarray(0, 7)) ?? '', /^short frame: 7 of 9 bytes/);
    const bad = frame([1, 3, 4, 0, 1, 0, 2]);
    bad.writeUInt8(9, 4);
    assert.match(replyFault(req, bad) ?? '', /^wrong CRC/);
    assert.match(replyFault(req, frame([2, 3, 4, 0, 1, 0, 2])) ?? '', /^answered by unit 2, asked unit 1/);
  });

  it('hands a complete reply over at once, and a short one only after the line went quiet', async () => {
    const line = new Line();
    const faults: string[] = [];
    const port = new RtuPort(line, { interFrameMs: 0, frameEndMs: 30, onFault: (m) => faults.push(m) });
    const got: Buffer[] = [];
    port.on('data', (f: Buffer) => got.push(f));
    port.write(read);
    const reply = frame([1, 3, 4, 0, 1, 0, 2]);
    line.push(reply.subarray(0, 4));
    line.push(reply.subarray(4));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, [reply]);

    port.write(read);
    line.push(reply.subarray(0, 6));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(faults, [], 'not before the silence');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(faults.length, 1);
    assert.match(faults[0] ?? '', /short frame: 6 of 9 bytes/);
  });

  it('keeps the inter-frame silence: a request right after a reply waits, one after a quiet line goes at once', async () => {
    const line = new Line();
    const port = new RtuPort(line, { interFrameMs: 15, frameEndMs: 50, onFault: () => undefined });
    port.write(read);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(line.written.length, 1, 'a quiet line: sent at once');
    line.push(frame([1, 3, 4, 0, 1, 0, 2]));
    await new Promise((r) => setImmediate(r));
    port.write(read);
    assert.equal(line.written.length, 1, 'held back: the reply just ended');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(line.written.length, 2);
  });

  it('drops bytes nobody asked for', async () => {
    const line = new Line();
    const port = new RtuPort(line, { interFrameMs: 0, frameEndMs: 10, onFault: () => assert.fail('no fault without a request') });
    port.on('data', () => assert.fail('no frame without a request'));
    line.push(frame([1, 3, 2, 0, 1]));
    await new Promise((r) => setTimeout(r, 30));
  });
});
