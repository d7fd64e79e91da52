import assert from 'node:assert/strict';
import net from 'node:net';
import ModbusRTU from 'modbus-serial';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from '../../../runtime/simulator/modbus/register-bank';
import { ModbusTcpServer } from '../../../runtime/simulator/modbus/tcp-server';

/** 100 registers at 1000..1099 holding their own address; 1050..1059 writable. */
class TestBank implements RegisterBank {
  readonly regs = Array.from({ length: 100 }, (_, i) => 1000 + i);
  readRegisters(address: number, count: number): number[] {
    if (address < 1000 || address + count > 1100) throw new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, 'unmapped');
    return this.regs.slice(address - 1000, address - 1000 + count);
  }
  writeRegisters(address: number, values: readonly number[]): void {
    if (address < 1050 || address + values.length > 1060) throw new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, 'read-only');
    values.forEach((v, i) => { this.regs[address - 1000 + i] = v; });
  }
}

/** Send raw bytes and collect what comes back until the socket closes or `ms` pass. */
function rawExchange(port: number, bytes: Buffer, ms = 300): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => { closed = true; });
    setTimeout(() => { s.destroy(); resolve({ reply: Buffer.concat(chunks), closed }); }, ms);
  });
}

const frame = (unit: number, pdu: number[], tid = 7): Buffer => {
  const b = Buffer.alloc(7 + pdu.length);
  b.writeUInt16BE(tid, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(pdu.length + 1, 4);
  b.writeUInt8(unit, 6);
  Buffer.from(pdu).copy(b, 7);
  return b;
};

describe('Modbus TCP server', () => {
  let server: ModbusTcpServer;
  let port: number;
  let bank: TestBank;
  let client: ModbusRTU;

  beforeEach(async () => {
    bank = new TestBank();
    server = new ModbusTcpServer({ port: 0, units: new Map([[1, bank]]) });
    port = await server.listen();
    client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port });
    client.setID(1);
    client.setTimeout(500);
  });
  afterEach(async () => {
    await new Promise<void>((r) => client.close(() => r()));
    await server.close();
  });

  it('listens on 127.0.0.1 unless told otherwise', () => {
    assert.equal(server.address()?.address, '127.0.0.1');
  });

  it('answers FC3 and FC4 reads from the unit bank', async () => {
    assert.deepEqual((await client.readHoldingRegisters(1010, 3)).data, [1010, 1011, 1012]);
    assert.deepEqual((await client.readInputRegisters(1098, 2)).data, [1098, 1099]);
  });

  it('writes with FC6 and FC16 and reads the values back', async () => {
    await client.writeRegister(1050, 42);
    await client.writeRegisters(1051, [1, 2, 3]);
    assert.deepEqual((await client.readHoldingRegisters(1050, 4)).data, [42, 1, 2, 3]);
  });

  it('answers an unmapped read with exception 2 and a read-only write with exception 2', async () => {
    await assert.rejects(client.readHoldingRegisters(0, 1), (e: { modbusCode?: number }) => e.modbusCode === 2);
    await assert.rejects(client.writeRegister(1000, 1), (e: { modbusCode?: number }) => e.modbusCode === 2);
    assert.equal(bank.regs[0], 1000);
  });

  it('answers an unknown unit with exception 0x0B (gateway target failed)', async () => {
    client.setID(9);
    await assert.rejects(client.readHoldingRegisters(1000, 1), (e: { modbusCode?: number }) => e.modbusCode === 0x0b);
  });

  it('answers an unsupported function code with exception 1', async () => {
    const { reply } = await rawExchange(port, frame(1, [0x2b, 0x0e, 0x01, 0x00]));
    assert.deepEqual([...reply.subarray(7)], [0xab, ModbusExceptionCode.ILLEGAL_FUNCTION]);
    assert.equal(reply.readUInt16BE(0), 7, 'transaction id echoed');
  });

  it('answers a read of quantity 0 or 126 with exception 3', async () => {
    for (const qty of [0, 126]) {
      const { reply } = await rawExchange(port, frame(1, [0x03, 0x03, 0xe8, qty >> 8, qty & 0xff]));
      assert.deepEqual([...reply.subarray(7)], [0x83, ModbusExceptionCode.ILLEGAL_DATA_VALUE]);
    }
  });

  it('answers an FC16 whose byte count disagrees with its quantity with exception 3 and writes nothing', async () => {
    const { reply } = await rawExchange(port, frame(1, [0x10, 0x04, 0x1a, 0x00, 0x02, 0x02, 0x00, 0x01]));
    assert.deepEqual([...reply.subarray(7)], [0x90, ModbusExceptionCode.ILLEGAL_DATA_VALUE]);
    assert.equal(bank.regs[50], 1050);
  });

  it('drops a connection that sends a garbage header, counts it, and keeps serving others', async () => {
    const { closed } = await rawExchange(port, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    assert.equal(closed, true);
    assert.equal(server.stats.malformed, 1);
    assert.deepEqual((await client.readHoldingRegisters(1000, 1)).data, [1000]);
  });

  it('reassembles requests split across TCP segments and answers pipelined ones in order', async () => {
    const two = Buffer.concat([frame(1, [0x03, 0x03, 0xe8, 0x00, 0x01], 1), frame(1, [0x03, 0x03, 0xe9, 0x00, 0x01], 2)]);
    const replies = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(two.subarray(0, 5));
        setTimeout(() => s.write(two.subarray(5)), 20);
      });
      s.on('data', (c) => { chunks.push(c); if (Buffer.concat(chunks).length >= 22) { s.destroy(); resolve(Buffer.concat(chunks)); } });
    });
    assert.equal(replies.readUInt16BE(0), 1);
    assert.equal(replies.readUInt16BE(9), 1000);
    assert.equal(replies.readUInt16BE(11), 2);
    assert.equal(replies.readUInt16BE(20), 1001);
  });

  it('stays silent while silenced, so clients time out, and answers again afterwards', async () => {
    server.silent = true;
    await assert.rejects(client.readHoldingRegisters(1000, 1), (e: { message?: string }) => e.message === 'Timed out');
    server.silent = false;
    await new Promise<void>((r) => client.close(() => r()));
    client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port });
    client.setID(1);
    assert.deepEqual((await client.readHoldingRegisters(1000, 1)).data, [1000]);
  });

  it('answers a bank that throws unexpectedly with exception 4 instead of crashing', async () => {
    const broken: RegisterBank = { readRegisters: () => { throw new Error('boom'); }, writeRegisters: () => undefined };
    const s2 = new ModbusTcpServer({ port: 0, units: new Map([[1, broken]]) });
    s2.on('bankError', () => undefined);
    const p2 = await s2.listen();
    try {
      const { reply } = await rawExchange(p2, frame(1, [0x03, 0x00, 0x00, 0x00, 0x01]));
      assert.deepEqual([...reply.subarray(7)], [0x83, ModbusExceptionCode.SERVER_DEVICE_FAILURE]);
    } finally {
      await s2.close();
    }
  });
});
