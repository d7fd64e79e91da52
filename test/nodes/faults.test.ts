import assert from 'node:assert/strict';
import net from 'node:net';
import type { Telemetry } from '../../domain/contracts';
import { ModbusTransport, ModbusTransportError } from '../../io/modbus/transport';
import { ModbusTcpServer } from '../../runtime/simulator/modbus/tcp-server';
import { connectionNode, helper, nextMessage, nextStatus, ourNodes } from './harness';
import { pointOffset } from '../../domain/sunspec/codec';
import { BASE, batteryImage, ImageBank, model } from './sunspec-images';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };

describe('device nodes under Modbus faults', () => {
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));
  beforeEach(() => { unhandled.length = 0; });

  describe('the Modbus server killed mid-poll and restarted', () => {
    let server: ModbusTcpServer | null = null;
    afterEach(async () => {
      await helper.unload();
      await server?.close();
    });

    it('reports the loss, reconnects to the restarted server, resumes telemetry, and leaves no unhandled rejection', async function () {
      this.timeout(30_000);
      const image = batteryImage();
      const bank = new ImageBank(image.regs);
      server = new ModbusTcpServer({ port: 0, units: new Map([[1, bank]]) });
      const port = await server.listen();
      await helper.load(ourNodes, [
        connectionNode(port, { timeout: 300 }),
        { id: 'dev', type: 'sunspec-device', connection: 'conn', unitId: 1, kind: 'auto', siteId: 'site-1', deviceId: '', interval: 100, baseAddress: 'auto', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ] as never);
      const dev = helper.getNode('dev');
      const out = helper.getNode('out');
      await nextMessage(out);
      await nextMessage(out); // polling steadily

      const lost = nextStatus(dev, (s) => s.fill === 'red' && /disconnected|closed|ECONNRE|no reply/.test(s.text ?? ''));
      await server.close();
      const status = await lost;
      assert.match(status.text ?? '', /disconnected/);

      // A new server on the same port, with a different SoC so resumed telemetry is new data.
      bank.regs[(image.addresses.get(802) ?? 0) - BASE + pointOffset(model(802), 'SoC')] = 777; // SoC_SF -1: 77.7 %
      server = new ModbusTcpServer({ port, units: new Map([[1, bank]]) });
      await server.listen();
      const resumed = await nextMessage<{ payload: Telemetry }>(out, (m) => m.payload.battery?.soc === 77.7, 20_000);
      assert.equal(resumed.payload.battery?.soc, 77.7);
      await nextStatus(dev, (s) => s.fill === 'green', 5000).catch(() => undefined);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    });
  });

  describe('garbage and wrong lengths from the server', () => {
    type Mode = 'good' | 'garbage' | 'short' | 'wrong-count';
    let mode: Mode = 'good';
    let raw: net.Server;
    let port: number;
    let transport: ModbusTransport | null = null;
    const sockets = new Set<net.Socket>();

    /** A Modbus TCP server by hand that answers FC3 with registers 0, 1, 2..., or with what `mode` says. */
    beforeEach(async () => {
      mode = 'good';
      raw = net.createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
        s.on('data', (req: Buffer) => {
          const tid = req.readUInt16BE(0);
          const count = req.readUInt16BE(10);
          if (mode === 'garbage') return void s.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
          const n = mode === 'wrong-count' ? count - 1 : count;
          let pdu = Buffer.alloc(2 + n * 2);
          pdu.writeUInt8(3, 0);
          pdu.writeUInt8(n * 2, 1);
          for (let i = 0; i < n; i++) pdu.writeUInt16BE(i, 2 + i * 2);
          // 'short': the frame ends before the registers its byte count announces.
          if (mode === 'short') pdu = pdu.subarray(0, 2 + n);
          const head = Buffer.alloc(7);
          head.writeUInt16BE(tid, 0);
          head.writeUInt16BE(0, 2);
          head.writeUInt16BE(pdu.length + 1, 4);
          head.writeUInt8(req.readUInt8(6), 6);
          s.write(Buffer.concat([head, pdu]));
        });
      });
      await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
      port = (raw.address() as net.AddressInfo).port;
    });
    afterEach(async () => {
      await transport?.close();
      transport = null;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => raw.close(() => r()));
    });

    const connected = (t: ModbusTransport): Promise<void> => new Promise((resolve) => {
      if (t.health().state === 'connected') return resolve();
      const on = (h: { state: string }): void => { if (h.state === 'connected') { t.off('health', on); resolve(); } };
      t.on('health', on);
    });

    for (const [m, problem] of [
      ['garbage', /garbage from 127\.0\.0\.1:\d+: not a Modbus TCP frame/],
      ['short', /malformed reply .*Data length error/],
      ['wrong-count', /malformed reply .*length|reply holds 3 registers, asked for 4/],
    ] as [Mode, RegExp][]) {
      it(`rejects a ${m} reply with an error naming the problem, then works again`, async function () {
        this.timeout(15_000);
        transport = new ModbusTransport({ host: '127.0.0.1', port, timeout: 500, queueLimit: 10, reconnectMinMs: 50 });
        await connected(transport);
        assert.deepEqual(await transport.readHoldingRegisters(1, 0, 4), [0, 1, 2, 3]);
        mode = m;
        await assert.rejects(transport.readHoldingRegisters(1, 0, 4), (err: Error) => {
          assert.ok(err instanceof ModbusTransportError);
          assert.match(err.message, problem);
          return true;
        });
        mode = 'good';
        await connected(transport);
        assert.deepEqual(await transport.readHoldingRegisters(1, 0, 4), [0, 1, 2, 3]);
        assert.deepEqual(unhandled, []);
      });
    }
  });
});
