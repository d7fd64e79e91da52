// `lifo4 sim --profile` as a process: the simulated site presented through a vendor family's
// register maps beside SunSpec, read and written over real Modbus TCP with the profiles' own
// decoder and writer, and a family that is not in the library refused with the families there are.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SiteState } from '../../runtime/simulator';
import { ModbusTransport } from '../../io/modbus/transport';
import { blockSize, decodeProfileBlock } from '../../domain/sunspec/profile';
import { commandWrites, releaseWrites } from '../../domain/sunspec/profile-writer';
import { profileLibrary } from '../../io/profile-library';
import { eventually, freePorts, getJson, Lifo4Process, runCli } from './lifo4-process';

describe('lifo4 sim --profile: the simulator presenting vendor register maps', function () {
  this.timeout(60_000);
  let dataDir: string;
  let sim: Lifo4Process;
  let transport: ModbusTransport;
  let control: number;
  const state = async (): Promise<SiteState> => (await getJson(`http://127.0.0.1:${control}/state`)).body as SiteState;
  const huawei = (id: string) => profileLibrary().find((p) => p.id === id)!.profile;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lifo4-profile-sim-'));
    const [m, c] = await freePorts(2);
    control = c as number;
    sim = new Lifo4Process(['sim', '--modbus-port', String(m), '--control-port', String(c), '--data-dir', dataDir, '--profile', 'huawei-luna2000']);
    await sim.waitFor(/sim ready: .*huawei-luna2000 vendor map/, 30_000);
    transport = new ModbusTransport({ host: '127.0.0.1', port: m as number, timeout: 1000, queueLimit: 10 });
  });
  after(async () => {
    await transport?.close(0);
    await sim?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the Huawei map beside the SunSpec models on unit 1: the meter block decodes to the simulated grid', async () => {
    const meter = huawei('huawei-luna2000-grid-meter').blocks[0]!;
    const regs = await transport.readHoldingRegisters(1, meter.address, blockSize(meter));
    const decoded = decodeProfileBlock(meter, regs).root.points;
    const s = await state();
    assert.ok(Math.abs((decoded.W as number) - s.meter.grid) < 200, `meter ${String(decoded.W)} W, simulator ${s.meter.grid} W`);
    assert.ok(Math.abs((decoded.Hz as number) - 50) < 0.5);
    // SunSpec is still there on the same unit.
    assert.deepEqual(await transport.readHoldingRegisters(1, 40000, 2), [0x5375, 0x6e53]);
  });

  it('takes the forcible discharge sequence and drives the PCS; the release returns it to 0 W', async () => {
    const c = huawei('huawei-luna2000-pcs').control!;
    for (const w of commandWrites(c, 1600, 5).writes) await transport.writeRegisters(w.unitId ?? 1, w.address, w.values);
    await eventually(async () => { const s = await state(); return s.pcs.wSet === 1600 && s.pcs.setpointEnabled && s.pcs.revertTimeS === 60 ? s : undefined; }, 10_000, 'PCS commanded to 1600 W with a 60 s timer');
    for (const w of releaseWrites(c)) await transport.writeRegisters(w.unitId ?? 1, w.address, w.values);
    await eventually(async () => { const s = await state(); return !s.pcs.setpointEnabled && s.pcs.setpoint === 0 ? s : undefined; }, 10_000, 'PCS released to 0 W');
  });

  it('answers a write to a read-only register with exception 2 and changes nothing', async () => {
    const before = (await state()).pcs;
    await assert.rejects(transport.writeRegisters(1, 37765, [0, 1000]), /exception 2|Illegal data address/i);
    const after = (await state()).pcs;
    assert.equal(after.wSet, before.wSet);
    assert.equal(after.setpointEnabled, before.setpointEnabled);
  });

  it('refuses a family that is not in the library, naming the ones there are', () => {
    const r = runCli(['sim', '--profile', 'nope', '--modbus-port', '0', '--control-port', '0', '--data-dir', dataDir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--profile: no profile family 'nope' in the library; there are: .*huawei-luna2000.*victron-gx/);
  });
});
