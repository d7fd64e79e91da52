// A sunspec-device node on a Modbus RTU connection, against a device on the other end of a socat
// pseudo-terminal pair that answers wrongly: the node names the fault in its status and log, and
// keeps polling; a bad connection config is refused with the field it lacks.
import assert from 'node:assert/strict';
import crc16 from 'modbus-serial/utils/crc16';
import { SerialPort } from 'serialport';
import type { TestNode } from 'node-red-node-test-helper';
import { requireService } from '../services/service';
import { socatAvailable, startPtyPair, type PtyPair } from '../services/socat';
import { helper, nextStatus, ourNodes } from './harness';

function frame(unit: number, pdu: number[]): Buffer {
  const out = Buffer.from([unit, ...pdu, 0, 0]);
  out.writeUInt16LE(crc16(out.subarray(0, -2)), out.length - 2);
  return out;
}

const rtuConnection = (serialPath: string): Record<string, unknown> => ({
  id: 'conn', type: 'modbus-connection', transport: 'rtu', serialPath, baudRate: 115200, parity: 'none', dataBits: 8, stopBits: 1, interFrameMs: '', timeout: 300, queueLimit: 10,
});
const device = { id: 'dev', type: 'sunspec-device', connection: 'conn', unitId: 1, kind: 'battery', siteId: 'site-1', deviceId: '', interval: 200, baseAddress: 40000, wires: [['out']] };

/** The errors a node logged (node.error), as text. */
function errorsLogged(node: TestNode): string[] {
  const calls = (node.error as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] }).getCalls();
  return calls.filter((c) => c.thisValue === node).map((c) => String(c.args[0] instanceof Error ? c.args[0].message : c.args[0]));
}

describe('sunspec-device node on a Modbus RTU connection', function () {
  this.timeout(20_000);
  let pty: PtyPair;
  let port: SerialPort;
  let answer: (request: Buffer) => Buffer | null = () => null;
  const requests: Buffer[] = [];
  before(async function () {
    requireService(this, 'socat', socatAvailable(), 'apt-get install socat');
    pty = await startPtyPair();
    port = new SerialPort({ path: pty.device, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    let pending: Buffer = Buffer.alloc(0);
    port.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const length = pending[1] === 16 ? 9 + (pending[6] ?? 0) : 8;
        if (pending.length < length) return;
        const request = pending.subarray(0, length);
        pending = pending.subarray(length);
        requests.push(request);
        const out = answer(request);
        if (out) port.write(out);
      }
    });
  });
  after(async () => {
    await new Promise<void>((resolve) => (port?.isOpen ? port.close(() => resolve()) : resolve()));
    await pty?.stop();
  });
  afterEach(async () => {
    await helper.unload();
    requests.length = 0;
  });

  const cases: { fault: string; reply: (req: Buffer) => Buffer; status: RegExp }[] = [
    { fault: 'a wrong CRC', reply: () => { const f = frame(1, [3, 4, 0x53, 0x75, 0x6e, 0x53]); f.writeUInt8(f.readUInt8(f.length - 1) ^ 0x55, f.length - 1); return f; }, status: /wrong CRC/ },
    { fault: 'a short frame', reply: () => frame(1, [3, 4, 0x53, 0x75, 0x6e, 0x53]).subarray(0, 5), status: /short frame: 5 of 9 bytes/ },
    { fault: 'an exception response', reply: () => frame(1, [0x83, 0x02]), status: /Modbus exception 2/ },
    { fault: 'a reply from another unit id', reply: () => frame(4, [3, 4, 0x53, 0x75, 0x6e, 0x53]), status: /answered by unit 4, asked unit 1/ },
  ];
  for (const c of cases) {
    it(`shows ${c.fault} in its status and log, and keeps polling`, async () => {
      answer = c.reply;
      await helper.load(ourNodes, [rtuConnection(pty.controller), device, { id: 'out', type: 'helper' }] as never);
      const dev = helper.getNode('dev');
      const s = await nextStatus(dev, (x) => x.fill === 'red' && c.status.test(x.text ?? ''));
      assert.equal(s.fill, 'red');
      const seen = requests.length;
      await new Promise((r) => setTimeout(r, 700));
      assert.ok(requests.length > seen, 'it polls again');
      assert.ok(requests.every((r) => r[1] === 3), 'it only read: nothing was written');
      const logged = errorsLogged(dev);
      assert.ok(logged.some((e) => c.status.test(e) && /unit 1 FC3 40000\+2/.test(e)), logged.join('\n'));
    });
  }

  it('refuses an RTU connection without a serial port, naming the field', async () => {
    await helper.load(ourNodes, [{ ...rtuConnection(''), serialPath: '' }, device, { id: 'out', type: 'helper' }] as never);
    const s = await nextStatus(helper.getNode('dev'), (x) => x.fill === 'red');
    assert.match(s.text ?? '', /modbus-connection conn is not usable/);
    const logged = errorsLogged(helper.getNode('conn'));
    assert.ok(logged.some((e) => /serialPath: an RTU connection needs a serial port path/.test(e)), logged.join('\n'));
  });
});
