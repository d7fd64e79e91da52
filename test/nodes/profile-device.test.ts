import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TelemetrySchema, type Telemetry } from '../../domain/contracts';
import { encodeModel } from '../../domain/sunspec/codec';
import { blockModelDef, parseProfile, type Profile } from '../../domain/sunspec/profile';
import { ModbusException, ModbusExceptionCode, type RegisterBank } from '../../runtime/simulator/modbus/register-bank';
import { ModbusTcpServer } from '../../runtime/simulator/modbus/tcp-server';
import { connectionNode, helper, nextMessage, ourNodes, statusesShown } from './harness';
import { packageRoot } from '../../io/package-root';

/** The profile shipped in the example flow examples/generic-lfp-bms-profile.json. */
function exampleProfileText(): string {
  const flow = JSON.parse(readFileSync(join(packageRoot, 'examples', 'generic-lfp-bms-profile.json'), 'utf8')) as { type: string; profile?: string }[];
  const node = flow.find((n) => n.type === 'profile-device');
  if (!node?.profile) throw new Error('example flow has no profile-device node');
  return node.profile;
}

const CELLS = Array.from({ length: 16 }, (_, i) => (3300 + i) / 1000);

/** A non-SunSpec BMS: registers at 0.. (holding) and 100.. (input) laid out as the profile says. */
class ProfiledBms implements RegisterBank {
  private readonly regs = new Map<number, number>();
  constructor(profile: Profile) {
    const values = [
      { points: { SoC: 64.2, SoH: 97, V: 53.12, A: 12.5, W: 664, CellVMax: 3.315, CellVMin: 3.3, AChaMax: 100, ADisChaMax: 150, AMax_SF: 0, NCyc: 87, WHRtg: 15360, State: 3, Evt1: 0 } },
      { points: { CellTmpMax: 27.5, CellTmpMin: 22 }, groups: { 'lithium-ion-module-cell': CELLS.map((v, i) => ({ points: { CellV: v, CellTmp: 22 + i * 0.1 } })) } },
    ];
    profile.blocks.forEach((b, i) => {
      const regs = encodeModel(blockModelDef(b), values[i] ?? { points: {} }).slice(2);
      regs.forEach((r, k) => this.regs.set(b.address + k, r));
    });
  }
  readRegisters(address: number, count: number): number[] {
    const out: number[] = [];
    for (let a = address; a < address + count; a++) {
      const v = this.regs.get(a);
      if (v === undefined) throw new ModbusException(ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, `no register ${a}`);
      out.push(v);
    }
    return out;
  }
  writeRegisters(): void {
    throw new ModbusException(ModbusExceptionCode.ILLEGAL_FUNCTION, 'read-only');
  }
}

describe('profile-device node', () => {
  let server: ModbusTcpServer;
  let port: number;
  beforeEach(async () => {
    server = new ModbusTcpServer({ port: 0, units: new Map([[1, new ProfiledBms(parseProfile(exampleProfileText()))]]) });
    port = await server.listen();
  });
  afterEach(async () => {
    await helper.unload();
    await server.close();
  });

  const flow = (profile: string): Record<string, unknown>[] => [
    connectionNode(port),
    { id: 'dev', type: 'profile-device', connection: 'conn', unitId: 1, siteId: 'site-1', deviceId: 'bms-1', interval: 200, profile, wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];

  it('reads a non-SunSpec BMS through the example profile and sends the same Telemetry a SunSpec battery gives', async () => {
    await helper.load(ourNodes, flow(exampleProfileText()) as never);
    const msg = await nextMessage<{ payload: Telemetry; topic: string }>(helper.getNode('out'));
    const t = TelemetrySchema.parse(msg.payload);
    assert.equal(msg.topic, 'lifo4/site-1/telemetry');
    assert.equal(t.deviceId, 'bms-1');
    const b = t.battery;
    assert.ok(b);
    assert.equal(b.soc, 64.2);
    assert.equal(b.soh, 97);
    assert.equal(b.voltage, 53.12);
    assert.equal(b.current, 12.5);
    assert.equal(b.power, 664);
    assert.equal(b.cellVmax, 3.315);
    assert.equal(b.cellVmin, 3.3);
    assert.equal(b.tempMax, 27.5);
    assert.equal(b.tempMin, 22);
    assert.deepEqual(b.cellVoltages, CELLS);
    assert.equal(b.cellTemps.length, 16);
    assert.equal(b.chargeCurrentMax, 100);
    assert.equal(b.dischargeCurrentMax, 150);
    assert.equal(b.capacityWh, 15360); // register 1536 at sf 1
    assert.equal(b.cycles, 87);
    assert.equal(b.state, 'CONNECTED');
  });

  const badProfiles: [string, unknown, RegExp][] = [
    ['a scale factor that names no sunssf point', { name: 'x', kind: 'battery', blocks: [{ model: 802, address: 0, points: [{ name: 'SoC', type: 'uint16', size: 1, sf: 'SoC_SF' }] }] }, /SoC scales by SoC_SF, which is not a/],
    ['overlapping registers', { name: 'x', kind: 'battery', blocks: [
      { model: 802, address: 0, points: [{ name: 'SoC', type: 'u16', size: 1 }, { name: 'V', type: 'u16', size: 1 }] },
      { model: 805, address: 1, points: [{ name: 'CellTmpMax', type: 's16', size: 1 }] }] }, /blocks\.0 \(model 802 at 0\) and blocks\.1 \(model 805 at 1\) overlap \(registers 1\.\.1\)/],
    ['an unknown type', { name: 'x', kind: 'battery', blocks: [{ model: 802, address: 0, points: [{ name: 'SoC', type: 'u24', size: 1 }] }] }, /blocks\.0\.points\.0\.type/],
  ];
  for (const [what, profile, problem] of badProfiles) {
    it(`refuses a profile with ${what}: red status, an error naming the problem in the log, and no poll`, async () => {
      await helper.load(ourNodes, flow(JSON.stringify(profile)) as never);
      const dev = helper.getNode('dev');
      // The constructor reported it.
      const shown = statusesShown(dev);
      assert.ok(shown.some((s) => s?.fill === 'red'), JSON.stringify(shown));
      const logged = (dev.error as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] }).getCalls()
        .filter((c) => c.thisValue === dev).map((c) => String(c.args[0]));
      assert.ok(logged.some((m) => problem.test(m)), JSON.stringify(logged));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(server.stats.requests, 0);
    });
  }
});
