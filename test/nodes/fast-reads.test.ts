// Fast and slow reads (domain/sunspec/reader.ts): after the first, complete poll, each poll
// reads the models the control loop needs every cycle plus one slow model in turn, with adjacent
// models merged into as few reads as possible, and still sends complete Telemetry.
import assert from 'node:assert/strict';
import { pointOffset } from '../../domain/sunspec/codec';
import type { Telemetry } from '../../domain/contracts';
import { planSpans, readCount } from '../../domain/sunspec/reader';
import { ModbusTcpServer } from '../../runtime/simulator/modbus/tcp-server';
import type { RegisterBank } from '../../runtime/simulator/modbus/register-bank';
import { connectionNode, helper, nextMessage, ourNodes } from './harness';
import { BASE, batteryImage, ImageBank, meterImage, model, PcsBank } from './sunspec-images';

interface Read { address: number; count: number }

/** Records every read a bank serves. */
class CountingBank implements RegisterBank {
  readonly reads: Read[] = [];
  constructor(readonly inner: ImageBank) {}
  readRegisters(address: number, count: number): number[] {
    this.reads.push({ address, count });
    return this.inner.readRegisters(address, count);
  }
  writeRegisters(address: number, values: readonly number[]): void {
    this.inner.writeRegisters(address, values);
  }
}

/** The address of a model in a register image at BASE, found by walking the chain. */
function modelAddress(regs: readonly number[], id: number): number {
  for (let at = 2; at < regs.length && regs[at] !== 0xffff; at += 2 + (regs[at + 1] ?? 0)) {
    if (regs[at] === id) return BASE + at;
  }
  throw new Error(`no model ${id}`);
}

interface TelemetryMsg { payload: Telemetry; trace?: { pollStartedAt: number } }

describe('sunspec-device: fast reads every poll, slow models one per poll', () => {
  let server: ModbusTcpServer;
  let pcs: PcsBank;
  const banks = new Map<number, CountingBank>();

  beforeEach(async () => {
    pcs = new PcsBank();
    banks.set(1, new CountingBank(new ImageBank(batteryImage().regs)));
    banks.set(2, new CountingBank(pcs));
    banks.set(3, new CountingBank(new ImageBank(meterImage().regs)));
    server = new ModbusTcpServer({ port: 0, units: banks });
  });
  afterEach(async () => {
    await helper.unload();
    pcs.stop();
    await server.close();
  });

  /** Load one device that polls only when asked (after its first poll), and wait for that first poll. */
  async function device(unitId: number): Promise<TelemetryMsg> {
    const port = await server.listen();
    const out = () => helper.getNode('out');
    await helper.load(ourNodes, [
      connectionNode(port),
      { id: 'dev', type: 'sunspec-device', connection: 'conn', unitId, kind: 'auto', siteId: 'site-1', deviceId: '', interval: 3_600_000, baseAddress: 'auto', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ] as never);
    return nextMessage<TelemetryMsg>(out());
  }

  /** Ask for one poll; the reads it made and the message it sent. */
  async function poll(unitId: number): Promise<{ reads: Read[]; msg: TelemetryMsg }> {
    const bank = banks.get(unitId);
    if (!bank) throw new Error(`no unit ${unitId}`);
    const from = bank.reads.length;
    const next = nextMessage<TelemetryMsg>(helper.getNode('out'));
    helper.getNode('dev').receive({ payload: 'poll' });
    const msg = await next;
    return { reads: bank.reads.slice(from), msg };
  }

  const covers = (reads: Read[], address: number): boolean => reads.some((r) => r.address <= address && address < r.address + r.count);

  it('reads a battery (802 + 805, with 713 merged in) in 2 reads per poll after the first', async () => {
    const addresses = batteryImage().addresses;
    const first = await device(1);
    for (let i = 0; i < 3; i++) {
      const { reads, msg } = await poll(1);
      assert.equal(reads.length, 2);
      assert.equal(reads[0]?.address, addresses.get(802));
      assert.ok(covers(reads, addresses.get(805) ?? 0) && covers(reads, addresses.get(713) ?? 0));
      assert.ok(!covers(reads, addresses.get(1) ?? 0), 'the common model is not polled');
      assert.deepEqual({ ...msg.payload.battery, ts: 0 }, { ...first.payload.battery, ts: 0 });
    }
  });

  it('reads a PCS as 701 every poll and 702, 704 in turn: 2 reads, then 3, then 2 ...', async () => {
    const first = await device(2);
    const a702 = modelAddress(pcs.regs, 702);
    const seen: { n: number; has702: boolean; has704: boolean }[] = [];
    for (let i = 0; i < 4; i++) {
      const { reads, msg } = await poll(2);
      assert.ok(covers(reads, pcs.a701) && covers(reads, pcs.a701 + pointOffset(model(701), 'W')));
      seen.push({ n: reads.length, has702: covers(reads, a702), has704: covers(reads, pcs.a704) });
      assert.deepEqual({ ...msg.payload.pcs, ts: 0 }, { ...first.payload.pcs, ts: 0 }, 'every message is complete');
    }
    assert.deepEqual(seen, [
      { n: 2, has702: true, has704: false },
      { n: 3, has702: false, has704: true },
      { n: 2, has702: true, has704: false },
      { n: 3, has702: false, has704: true },
    ]);
  });

  it('shows a change of a fast point at the next poll and of a slow point within one round of slow models', async () => {
    await device(2);
    // 702 WMaxRtg (slow) to 12 kW, and the setpoint, which the PCS's 701 W (fast) follows.
    const wMaxRtg = modelAddress(pcs.regs, 702) - BASE + pointOffset(model(702), 'WMaxRtg');
    pcs.regs[wMaxRtg] = 12000;
    pcs.regs[pcs.a704 - BASE + pointOffset(model(704), 'WSetEna')] = 1;
    pcs.regs[pcs.a704 - BASE + pointOffset(model(704), 'WSet') + 1] = 1500;
    const next = await poll(2); // 702's turn: both change
    assert.equal(next.msg.payload.pcs?.power, 1500);
    assert.equal(next.msg.payload.pcs?.ratedPowerW, 12000);
    assert.equal(next.msg.payload.pcs?.setpoint, null, '704 is read on the next turn');
    const after = await poll(2);
    assert.equal(after.msg.payload.pcs?.setpoint, 1500);
    assert.equal(after.msg.payload.pcs?.setpointEnabled, true);
  });

  it('reads a meter in 1 read per poll', async () => {
    await device(3);
    for (let i = 0; i < 3; i++) assert.equal((await poll(3)).reads.length, 1);
  });

  it('puts msg.trace.pollStartedAt (performance.now() at poll start) on timed and triggered polls', async () => {
    const before = performance.now();
    const first = await device(3);
    assert.ok(first.trace && first.trace.pollStartedAt >= before && first.trace.pollStartedAt <= performance.now());
    const asked = performance.now();
    const { msg } = await poll(3);
    assert.ok(msg.trace && msg.trace.pollStartedAt >= asked && msg.trace.pollStartedAt <= performance.now());
  });
});

describe('planSpans: models merged into as few reads of at most 125 registers as possible', () => {
  const loc = (id: number, address: number, length: number) => ({ id, address, length });

  it('reads models that touch together', () => {
    const spans = planSpans([loc(805, 40134, 106), loc(802, 40070, 62)]);
    assert.deepEqual(spans.map((s) => [s.address, s.count, s.models.map((m) => m.id)]), [[40070, 172, [802, 805]]]);
    assert.equal(readCount(spans), 2);
  });

  it('reads through a gap only when that saves a read', () => {
    // 10 + gap 20 + 10 registers: one read instead of two.
    assert.equal(readCount(planSpans([loc(1, 0, 8), loc(2, 30, 8)])), 1);
    // 155 + gap 52 + 67 registers (701, 702, 704): 3 reads either way, so no gap is read.
    const spans = planSpans([loc(701, 40070, 153), loc(704, 40277, 65)]);
    assert.equal(spans.length, 2);
    assert.equal(readCount(spans), 3);
  });
});
