import assert from 'node:assert/strict';
import net from 'node:net';
import crc16 from 'modbus-serial/utils/crc16';
import { SerialPort } from 'serialport';
import { ModbusTransport, ModbusTransportError, type TransportHealth, type TransportOptions } from '../../../io/modbus/transport';
import { busTimeMs, interFrameMs, readFrameBytes } from '../../../io/modbus/rtu-timing';
import type { RegisterBank } from '../../../runtime/simulator/modbus/register-bank';
import { ModbusRtuServer } from '../../../runtime/simulator/modbus/rtu-server';
import { requireService } from '../../services/service';
import { socatAvailable, startPtyPair, type PtyPair } from '../../services/socat';

/** Registers 0..99 holding their address plus 1000 x the unit id; records the requests served. */
class UnitBank implements RegisterBank {
  readonly log: string[] = [];
  readonly regs: number[];
  constructor(unit: number) {
    this.regs = Array.from({ length: 100 }, (_, i) => unit * 1000 + i);
  }
  readRegisters(address: number, count: number): number[] {
    this.log.push(`read ${address}`);
    return this.regs.slice(address, address + count);
  }
  writeRegisters(address: number, values: readonly number[]): void {
    this.log.push(`write ${address}`);
    values.forEach((v, i) => { this.regs[address + i] = v; });
  }
}

function connected(t: ModbusTransport): Promise<void> {
  return new Promise((resolve) => {
    if (t.health().state === 'connected') return resolve();
    const on = (h: TransportHealth): void => { if (h.state === 'connected') { t.off('health', on); resolve(); } };
    t.on('health', on);
  });
}

const rtuLine = { baudRate: 115_200, parity: 'none', dataBits: 8, stopBits: 1 } as const;

function rtuTransport(path: string, more: Partial<TransportOptions> = {}): ModbusTransport {
  return new ModbusTransport({ kind: 'rtu', host: '', port: 0, serial: { path, ...rtuLine }, timeout: 300, queueLimit: 10, unitBackoffMinMs: 60_000, ...more });
}

/** An RTU frame: unit, PDU, CRC low byte first. */
function frame(unit: number, pdu: number[]): Buffer {
  const out = Buffer.from([unit, ...pdu, 0, 0]);
  out.writeUInt16LE(crc16(out.subarray(0, -2)), out.length - 2);
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ModbusTransportError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('Modbus RTU timing', () => {
  it('keeps 3.5 characters of silence at low baud rates and 1.75 ms above 19200 baud', () => {
    // 9600 8N1: 10 bits a character, 3.5 characters = 35 bits = 3.65 ms.
    assert.equal(interFrameMs({ baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 }).toFixed(2), '3.65');
    // 9600 8E1: 11 bits a character.
    assert.equal(interFrameMs({ baudRate: 9600, parity: 'even', dataBits: 8, stopBits: 1 }).toFixed(2), '4.01');
    assert.equal(interFrameMs(rtuLine), 1.75);
  });

  it('counts the bus time of a read from both frames and two silences', () => {
    // 125 registers at 115200 8N1: 8 + 255 bytes = 2630 bits = 22.83 ms, + 2 x 1.75 ms.
    assert.equal(busTimeMs(rtuLine, readFrameBytes(125)).toFixed(2), '26.33');
  });
});

describe('Modbus RTU transport on a pseudo-terminal', function () {
  // Each block gets its own pair: nothing one leaves on the line reaches the next.
  let pty: PtyPair;
  const newPair = async (ctx: Mocha.Context): Promise<void> => {
    requireService(ctx, 'socat', socatAvailable(), 'apt-get install socat');
    pty = await startPtyPair();
  };

  describe('against the simulator RTU server', () => {
    let server: ModbusRtuServer;
    let t: ModbusTransport;
    const banks = new Map<number, UnitBank>([[1, new UnitBank(1)], [2, new UnitBank(2)]]);
    before(async function () {
      await newPair(this);
      server = new ModbusRtuServer({ path: pty.device, ...rtuLine, units: banks });
      await server.listen();
      t = rtuTransport(pty.controller);
      await connected(t);
    });
    after(async () => {
      await t?.close();
      await server?.close();
      await pty?.stop();
    });

    it('reads and writes the registers of several units on one bus', async () => {
      assert.deepEqual(await t.readHoldingRegisters(1, 5, 3), [1005, 1006, 1007]);
      assert.deepEqual(await t.readInputRegisters(2, 0, 2), [2000, 2001]);
      await t.writeRegisters(2, 10, [7, 8]);
      assert.deepEqual(await t.readHoldingRegisters(2, 9, 4), [2009, 7, 8, 2012]);
      assert.equal(t.health().kind, 'rtu');
      assert.match(t.health().endpoint, /controller \(115200 8N1\)/);
    });

    it('puts the requests of every unit through one queue, writes first', async () => {
      for (const b of banks.values()) b.log.length = 0;
      const first = t.readHoldingRegisters(1, 0, 1);
      const rest = [t.readHoldingRegisters(2, 1, 1), t.readHoldingRegisters(1, 2, 1), t.writeRegisters(2, 3, [1])];
      await Promise.all([first, ...rest]);
      assert.deepEqual(banks.get(1)?.log, ['read 0', 'read 2']);
      assert.deepEqual(banks.get(2)?.log, ['write 3', 'read 1']);
    });

    it('releases the serial port on close: the next connection on the same path opens it', async () => {
      const second = rtuTransport(pty.controller);
      const opened = await Promise.race([connected(second).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
      assert.equal(opened, false, 'the port is locked while the first connection holds it');
      await t.close();
      try {
        await connected(second);
        assert.deepEqual(await second.readHoldingRegisters(1, 0, 1), [1000]);
      } finally {
        t = second; // closed by after()
      }
    });

    it('times out a unit that is not on the bus, and the others keep working', async () => {
      await rejectsWith(t.readHoldingRegisters(7, 0, 1), 'TIMEOUT', /unit 7 FC3 0\+1: no reply/);
      assert.deepEqual(await t.readHoldingRegisters(1, 0, 1), [1000]);
      assert.equal(t.health().state, 'connected');
    });
  });

  describe('against a device that answers wrongly', () => {
    let device: SerialPort;
    let t: ModbusTransport;
    /** What the fake device answers to the next request; it records what it was asked. */
    let answer: (request: Buffer) => Buffer | null = () => null;
    const asked: Buffer[] = [];
    before(async function () {
      await newPair(this);
      device = new SerialPort({ path: pty.device, ...rtuLine, autoOpen: false });
      await new Promise<void>((resolve, reject) => device.open((err) => (err ? reject(err) : resolve())));
      let pending: Buffer = Buffer.alloc(0);
      device.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        const length = pending[1] === 16 ? 9 + (pending[6] ?? 0) : 8;
        if (pending.length < length) return;
        const request = pending.subarray(0, length);
        pending = pending.subarray(length);
        asked.push(request);
        const out = answer(request);
        if (out) device.write(out);
      });
      t = rtuTransport(pty.controller);
      await connected(t);
    });
    after(async () => {
      await t?.close();
      await new Promise<void>((resolve) => (device?.isOpen ? device.close(() => resolve()) : resolve()));
      await pty?.stop();
    });

    it('names a wrong CRC, and the next request works on the same line', async () => {
      answer = () => {
        const f = frame(1, [3, 2, 0x12, 0x34]);
        f.writeUInt8(f.readUInt8(f.length - 1) ^ 0xff, f.length - 1);
        return f;
      };
      await rejectsWith(t.readHoldingRegisters(1, 0, 1), 'MALFORMED', /unit 1 FC3 0\+1: wrong CRC \(frame says/);
      answer = () => frame(1, [3, 2, 0x12, 0x34]);
      assert.deepEqual(await t.readHoldingRegisters(1, 0, 1), [0x1234]);
    });

    it('names a short frame', async () => {
      answer = () => frame(1, [3, 4, 0, 1]).subarray(0, 6);
      await rejectsWith(t.readHoldingRegisters(1, 0, 2), 'MALFORMED', /short frame: 6 of 9 bytes/);
    });

    it('passes on an exception response with its code', async () => {
      answer = () => frame(1, [0x83, 0x02]);
      await assert.rejects(t.readHoldingRegisters(1, 500, 1), (err: unknown) => {
        assert.ok(err instanceof ModbusTransportError);
        assert.equal(err.code, 'EXCEPTION');
        assert.equal(err.modbusCode, 2);
        assert.match(err.message, /unit 1 FC3 500\+1: Modbus exception 2/);
        return true;
      });
    });

    it('names a reply from another unit id', async () => {
      answer = () => frame(5, [3, 2, 0, 9]);
      await rejectsWith(t.readHoldingRegisters(1, 0, 1), 'MALFORMED', /answered by unit 5, asked unit 1/);
    });

    it('sends nothing more after a bad reply to a write: the write fails, nothing is retried', async () => {
      asked.length = 0;
      answer = () => {
        const f = frame(1, [16, 0, 10, 0, 1]);
        f[0] = 3; // another unit's echo
        f.writeUInt16LE(crc16(f.subarray(0, -2)), f.length - 2);
        return f;
      };
      await rejectsWith(t.writeRegisters(1, 10, [42]), 'MALFORMED', /answered by unit 3/);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(asked.length, 1, 'one request on the wire');
      assert.equal(t.health().state, 'connected');
    });
  });

  describe('RTU framed over TCP (a serial-to-Ethernet gateway)', () => {
    it('reads and writes through the same queue', async () => {
      const bank = new UnitBank(3);
      const rtu = new ModbusRtuServer({ units: new Map([[3, bank]]) });
      const gateway = net.createServer((socket) => rtu.attach(socket));
      await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
      const port = (gateway.address() as net.AddressInfo).port;
      const t = new ModbusTransport({ kind: 'rtu-over-tcp', host: '127.0.0.1', port, timeout: 500, queueLimit: 10 });
      try {
        await connected(t);
        await t.writeRegisters(3, 1, [99]);
        assert.deepEqual(await t.readHoldingRegisters(3, 0, 3), [3000, 99, 3002]);
        assert.match(t.health().endpoint, /RTU over TCP/);
      } finally {
        await t.close();
        await rtu.close();
        await new Promise((resolve) => gateway.close(resolve));
      }
    });
  });
});
