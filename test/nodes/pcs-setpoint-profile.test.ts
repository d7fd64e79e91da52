// pcs-setpoint commanding a device through its library profile, against the simulator presenting
// that vendor's register map over real Modbus TCP (lifo4 sim --profile). The outcome is read back
// from the simulator's GET /state, never from the node's own belief.
import assert from 'node:assert/strict';
import type { Telemetry } from '../../domain/contracts';
import { startSimulator, type RunningSimulator, type SiteState } from '../../runtime/simulator/index';
import { profileLibrary } from '../../io/profile-library';
import { connectionNode, helper, nextError, nextMessage, nextStatus, ourNodes } from './harness';
import { simControl } from '../runtime/simulator/sim-control';

interface Result { payload: { setpoint: number; written: number } }

const libraryProfile = (id: string): { text: string; unitId: number } => {
  const p = profileLibrary().find((x) => x.id === id);
  if (!p) throw new Error(`no library profile ${id}`);
  return { text: p.text, unitId: p.profile.unitId ?? 1 };
};

for (const [family, pcsId] of [['victron-gx', 'victron-gx-pcs'], ['huawei-luna2000', 'huawei-luna2000-pcs']] as const) {
  describe(`pcs-setpoint through the ${pcsId} profile, on the simulator presenting ${family}`, function () {
    this.timeout(40_000);
    let sim: RunningSimulator;
    const { state, until } = simControl(() => sim.controlPort);
    const { text, unitId } = libraryProfile(pcsId);
    const flow = (extra: Record<string, unknown> = {}): Record<string, unknown>[] => [
      connectionNode(sim.modbusPort, { timeout: 1000 }),
      { id: 'set', type: 'pcs-setpoint', connection: 'conn', unitId, heartbeat: 300, revertTimeout: 5, maxChargeW: '', maxDischargeW: '', profile: text, wires: [['out']], ...extra },
      { id: 'out', type: 'helper' },
    ];

    beforeEach(async () => { sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 7, profile: family }); });
    afterEach(async () => {
      await helper.unload();
      await sim.close();
    });

    it('commands discharge and charge in the device\'s own registers; the PCS follows', async () => {
      await helper.load(ourNodes, flow() as never);
      let result = nextMessage<Result>(helper.getNode('out'));
      helper.getNode('set').receive({ payload: { setpointW: 1500 } });
      assert.equal((await result).payload.written, 1500);
      await until((s) => s.pcs.wSet === 1500 && s.pcs.setpointEnabled && Math.abs(s.pcs.power - 1500) < 50, 'PCS at 1500 W');
      result = nextMessage<Result>(helper.getNode('out'));
      helper.getNode('set').receive({ payload: -2000 });
      assert.equal((await result).payload.written, -2000);
      await until((s) => s.pcs.wSet === -2000, 'PCS charging at 2000 W');
    });

    it('reads the profile device back: profile-device sees the power it commanded', async () => {
      await helper.load(ourNodes, [
        ...flow(),
        { id: 'dev', type: 'profile-device', connection: 'conn', unitId, siteId: 'site-1', deviceId: 'pcs-1', interval: 250, profile: text, wires: [['tele']] },
        { id: 'tele', type: 'helper' },
      ] as never);
      helper.getNode('set').receive({ payload: 1200 });
      const seen = await nextMessage<{ payload: Telemetry }>(helper.getNode('tele'), (m) => Math.abs((m.payload.pcs?.power ?? 0) - 1200) < 60, 15_000);
      assert.ok(seen.payload.pcs);
    });

    it('writes 0 W on an e-stop decision', async () => {
      await helper.load(ourNodes, flow() as never);
      helper.getNode('set').receive({ payload: 1000 });
      await until((s) => s.pcs.wSet === 1000, 'PCS at 1000 W');
      helper.getNode('set').receive({ payload: { setpointW: 0, mode: 'ESTOP' } });
      await until((s) => s.pcs.wSet === 0 && Math.abs(s.pcs.power) < 1, 'PCS at 0 W');
    });

    it('releases the device when the flow stops: the PCS returns to 0 W', async () => {
      await helper.load(ourNodes, flow() as never);
      helper.getNode('set').receive({ payload: -1000 });
      await until((s) => s.pcs.wSet === -1000, 'PCS at -1000 W');
      await helper.unload();
      await until((s) => s.pcs.setpoint === 0 && Math.abs(s.pcs.power) < 1, 'PCS at 0 W after release');
    });

    it('refuses a profile with overlapping registers: red status, an error in the log, nothing written', async () => {
      const bad = JSON.parse(text) as { blocks: { address: number }[] };
      bad.blocks.push({ ...bad.blocks[0]!, address: bad.blocks[0]!.address });
      const before = (await state()).pcs;
      const loading = helper.load(ourNodes, flow({ profile: JSON.stringify(bad) }) as never);
      await loading;
      const set = helper.getNode('set');
      const status = await nextStatus(set, (s) => s.fill === 'red', 2000).catch(() => null);
      // The constructor set its status before the test could listen: both are checked on the spy.
      const shown = (set.status as unknown as { getCalls(): { thisValue: unknown; args: { fill?: string; text?: string }[] }[] }).getCalls()
        .filter((c) => c.thisValue === set).map((c) => c.args[0]);
      const red = status ?? shown.find((s) => s?.fill === 'red');
      assert.match(red?.text ?? '', /overla/);
      assert.ok((set.error as unknown as { getCalls(): { args: unknown[] }[] }).getCalls().some((c) => /overlap/.test(String(c.args[0]))));
      set.receive({ payload: 1000 });
      await new Promise((r) => setTimeout(r, 800));
      const after = (await state()).pcs;
      assert.equal(after.wSet, before.wSet);
      assert.equal(after.setpointEnabled, before.setpointEnabled);
    });
  });
}

describe('pcs-setpoint through a device profile: the device\'s own timer', function () {
  this.timeout(60_000);
  let sim: RunningSimulator;
  afterEach(async () => {
    await helper.unload();
    await sim.close();
  });

  it('Victron GX: when commands stop the node stops its heartbeat and the GX\'s own 10 s timer brings the PCS to 0 W', async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 7, profile: 'victron-gx' });
    const { text, unitId } = libraryProfile('victron-gx-pcs');
    await helper.load(ourNodes, [
      connectionNode(sim.modbusPort, { timeout: 1000 }),
      { id: 'set', type: 'pcs-setpoint', connection: 'conn', unitId, heartbeat: 300, revertTimeout: 1, maxChargeW: '', maxDischargeW: '', profile: text, wires: [[]] },
    ] as never);
    const state = async (): Promise<SiteState> => (await (await fetch(`http://127.0.0.1:${sim.controlPort}/state`)).json()) as SiteState;
    helper.getNode('set').receive({ payload: 800 });
    await nextStatus(helper.getNode('set'), (s) => /stale/.test(s.text ?? ''), 10_000);
    // Still commanded right after the heartbeat stopped: the device holds the setpoint until its timer ends.
    const held = await state();
    assert.equal(held.pcs.wSet, 800);
    const end = Date.now() + 15_000;
    let s = held;
    while (Date.now() < end && !(s.pcs.setpoint === 0 && Math.abs(s.pcs.power) < 1)) {
      await new Promise((r) => setTimeout(r, 200));
      s = await state();
    }
    assert.equal(s.pcs.setpoint, 0);
    assert.equal(s.pcs.revertRemainingS, 0);
  });

  it('a profile that writes its power register with function 6 commands the device with function 6', async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 7, profile: 'victron-gx' });
    const { text, unitId } = libraryProfile('victron-gx-pcs');
    const fc6 = JSON.parse(text) as { control: { power: { register: { function: number } } } };
    fc6.control.power.register.function = 6;
    await helper.load(ourNodes, [
      connectionNode(sim.modbusPort, { timeout: 1000 }),
      { id: 'set', type: 'pcs-setpoint', connection: 'conn', unitId, heartbeat: 300, revertTimeout: 5, maxChargeW: '', maxDischargeW: '', profile: JSON.stringify(fc6), wires: [['out']] },
      { id: 'out', type: 'helper' },
    ] as never);
    const written = nextMessage(helper.getNode('out'));
    helper.getNode('set').receive({ payload: 1000 });
    await written;
    const { until } = simControl(() => sim.controlPort);
    await until((s) => s.pcs.wSet === 1000 && s.pcs.setpointEnabled, 'PCS commanded to 1000 W through function 6');
  });

  it('Sungrow SH: a device without a timer is refused at runtime and nothing is written', async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 7 });
    const { text, unitId } = libraryProfile('sungrow-sh-pcs');
    // On a tab, as deployed: the flow check looks at the nodes of tabs.
    await helper.load(ourNodes, [
      { id: 'f1', type: 'tab', label: 'site' },
      connectionNode(sim.modbusPort, { timeout: 1000 }),
      { id: 'set', type: 'pcs-setpoint', z: 'f1', x: 300, y: 100, connection: 'conn', unitId, heartbeat: 300, revertTimeout: 5, maxChargeW: '', maxDischargeW: '', profile: text, wires: [[]] },
    ] as never);
    const set = helper.getNode('set');
    const refused = nextError(set, /refused, nothing written: .*declares no timeout/);
    set.receive({ payload: 1000 });
    await refused;
    await new Promise((r) => setTimeout(r, 500));
    const s = (await (await fetch(`http://127.0.0.1:${sim.controlPort}/state`)).json()) as SiteState;
    assert.equal(s.pcs.setpointEnabled, false);
    assert.equal(s.pcs.wSet, 0);
  });
});
