import assert from 'node:assert/strict';
import net from 'node:net';
import { ModbusTransport, ModbusTransportError, type TransportHealth } from '../../../io/modbus/transport';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from '../../../runtime/simulator/modbus/register-bank';
import { ModbusTcpServer } from '../../../runtime/simulator/modbus/tcp-server';

/** Registers 0..99 holding their address; records the order of requests it served. */
class LogBank implements RegisterBank {
  readonly log: string[] = [];
  readonly regs = Array.from({ length: 100 }, (_, i) => i);
  readRegisters(address: number, count: number): number[] {
    this.log.push(`read ${address}`);
    return this.regs.slice(address, address + count);
  }
  writeRegisters(address: number, values: readonly number[]): void {
    this.log.push(`write ${address}`);
    values.forEach((v, i) => { this.regs[address + i] = v; });
  }
}

/** A unit behind a gateway that no longer answers. */
const deadUnit: RegisterBank = {
  readRegisters(): number[] { throw new ModbusException(ModbusExceptionCode.GATEWAY_TARGET_FAILED, 'gone'); },
  writeRegisters(): void { throw new ModbusException(ModbusExceptionCode.GATEWAY_TARGET_FAILED, 'gone'); },
};

function connected(t: ModbusTransport): Promise<void> {
  return new Promise((resolve) => {
    if (t.health().state === 'connected') return resolve();
    const on = (h: TransportHealth): void => { if (h.state === 'connected') { t.off('health', on); resolve(); } };
    t.on('health', on);
  });
}

const code = (c: string) => (err: unknown): boolean => err instanceof ModbusTransportError && err.code === c;

describe('Modbus transport over TCP', () => {
  let server: ModbusTcpServer;
  let bank: LogBank;
  let t: ModbusTransport;
  beforeEach(async () => {
    bank = new LogBank();
    server = new ModbusTcpServer({ port: 0, units: new Map<number, RegisterBank>([[1, bank], [9, deadUnit]]) });
    const port = await server.listen();
    t = new ModbusTransport({ host: '127.0.0.1', port, timeout: 500, queueLimit: 4, unitBackoffMinMs: 60_000 });
    await connected(t);
  });
  afterEach(async () => {
    await t.close();
    await server.close();
  });

  it('reads and writes registers, one request at a time', async () => {
    await t.writeRegisters(1, 10, [500, 501]);
    assert.deepEqual(await t.readHoldingRegisters(1, 9, 4), [9, 500, 501, 12]);
    assert.deepEqual(await t.readInputRegisters(1, 0, 2), [0, 1]);
  });

  it('writes one register with function 6 where asked, and several with function 16', async () => {
    // What goes on the wire, seen by a plain socket in front of nothing: the function code byte of
    // each Modbus TCP frame (after the 7-byte MBAP header), answered as a device would.
    const codes: number[] = [];
    const raw = net.createServer((socket) => socket.on('data', (frame: Buffer) => {
      codes.push(frame[7] ?? 0);
      socket.write(frame[7] === 6 ? frame : Buffer.concat([frame.subarray(0, 4), Buffer.from([0, 6]), frame.subarray(6, 12)]));
    }));
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const direct = new ModbusTransport({ host: '127.0.0.1', port: (raw.address() as net.AddressInfo).port, timeout: 500, queueLimit: 4 });
    try {
      await connected(direct);
      await direct.writeRegister(1, 37, 1000);
      await direct.writeRegisters(1, 37, [1000, 0]);
      assert.deepEqual(codes, [6, 16]);
    } finally {
      await direct.close();
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it('sends waiting writes ahead of waiting reads', async () => {
    const first = t.readHoldingRegisters(1, 0, 1); // goes on the wire at once
    const reads = [t.readHoldingRegisters(1, 1, 1), t.readHoldingRegisters(1, 2, 1)];
    const write = t.writeRegisters(1, 50, [7]);
    await Promise.all([first, ...reads, write]);
    assert.deepEqual(bank.log, ['read 0', 'write 50', 'read 1', 'read 2']);
  });

  it('shares the answer of an identical waiting read instead of growing the queue', async () => {
    const first = t.readHoldingRegisters(1, 0, 1);
    const a = t.readHoldingRegisters(1, 5, 2);
    const b = t.readHoldingRegisters(1, 5, 2);
    assert.deepEqual(await Promise.all([first, a, b]), [[0], [5, 6], [5, 6]]);
    assert.deepEqual(bank.log, ['read 0', 'read 5']);
  });

  it('refuses a read beyond the queue limit, and makes a write displace the newest read instead of dropping it', async () => {
    const first = t.readHoldingRegisters(1, 0, 1);
    const waiting = [1, 2, 3, 4].map((a) => t.readHoldingRegisters(1, a, 1));
    await assert.rejects(t.readHoldingRegisters(1, 20, 1), (e: Error) => code('QUEUE_FULL')(e) && /queue of .* is full/.test(e.message));
    const displaced = assert.rejects(waiting[3]!, (e: Error) => code('QUEUE_FULL')(e) && /make room for a write/.test(e.message));
    const write = t.writeRegisters(1, 60, [1]);
    await displaced;
    await Promise.all([first, write, ...waiting.slice(0, 3)]);
    assert.equal(bank.regs[60], 1);
  });

  it('backs off a unit that keeps failing, without blocking the other units', async () => {
    for (let i = 0; i < 3; i++) await assert.rejects(t.readHoldingRegisters(9, 0, 1), code('EXCEPTION'));
    await assert.rejects(t.readHoldingRegisters(9, 0, 1), (e: Error) => code('UNIT_BACKOFF')(e) && /unit 9 is backed off .* after 3 failures/.test(e.message));
    assert.deepEqual(await t.readHoldingRegisters(1, 3, 1), [3]);
    assert.deepEqual(t.health().backedOffUnits.map((u) => u.unit), [9]);
  });

  it('rejects a request that Modbus cannot carry before it reaches the wire', async () => {
    await assert.rejects(t.readHoldingRegisters(1, 0, 126), (e: Error) => code('INVALID')(e) && /quantity 126 outside 1\.\.125/.test(e.message));
    await assert.rejects(t.writeRegisters(1, 0, [70000]), code('INVALID'));
    assert.deepEqual(bank.log, []);
  });

  it('times out a request the server does not answer, and settles every promise on close()', async () => {
    server.silent = true;
    await assert.rejects(t.readHoldingRegisters(1, 0, 1), (e: Error) => code('TIMEOUT')(e) && /no reply from .* within 500 ms/.test(e.message));
    const pending = [t.readHoldingRegisters(1, 1, 1), t.readHoldingRegisters(1, 2, 1)].map((p) => p.then(() => 'answered', (e: Error) => e.message));
    await t.close();
    for (const outcome of await Promise.all(pending)) assert.match(outcome, /closed|not connected|no reply/);
    await assert.rejects(t.readHoldingRegisters(1, 0, 1), code('CLOSED'));
  });

  it('reports losing the server in its health, and refuses requests fast while reconnecting', async () => {
    const backoff = new Promise<TransportHealth>((resolve) => t.on('health', (h: TransportHealth) => { if (h.state === 'backoff') resolve(h); }));
    await server.close();
    const h = await backoff;
    assert.match(h.lastError ?? '', /closed by the server|ECONNRE/);
    await assert.rejects(t.readHoldingRegisters(1, 0, 1), (e: Error) => code('DISCONNECTED')(e) && /reconnecting in/.test(e.message));
  });
});
