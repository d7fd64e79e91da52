// flows/edge.json's control loop against the simulator with a battery that serves less than the
// full SunSpec chain: without model 805 (and with 802 only) the loop runs, derated, and says so;
// without SoC the battery node reports a configuration error naming the point and nothing moves.
import assert from 'node:assert/strict';
import helper, { type TestNode } from 'node-red-node-test-helper';
import type { Envelope, Telemetry } from '../../domain/contracts';
import { startSimulator, type RunningSimulator } from '../../runtime/simulator';
import type { BatteryVariant } from '../../runtime/simulator/images/site-images';
import { nextStatus, statusesShown } from '../nodes/harness';
import { tempUserDirPerTest } from '../user-dir';
import { edgeLoopFlow, LOOP_NODES } from './edge-loop';
import { simControl } from '../runtime/simulator/sim-control';

helper.init(require.resolve('node-red'));

const CYCLE_MS = 200;

function nextWhere<T>(node: TestNode, test: (p: T) => boolean, what: string, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { node.removeListener('input', on); reject(new Error(`timed out waiting for ${what}`)); }, ms);
    const on = (msg: { payload?: unknown }): void => {
      if (!test(msg.payload as T)) return;
      clearTimeout(timer);
      node.removeListener('input', on);
      resolve(msg.payload as T);
    };
    node.on('input', on);
  });
}

describe('the edge control loop with a partial SunSpec battery', function () {
  tempUserDirPerTest();
  this.timeout(60_000);
  let sim: RunningSimulator;
  const { state, until } = simControl(() => sim.controlPort);
  const load = async (battery: BatteryVariant): Promise<void> => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, battery });
    await helper.load(LOOP_NODES, edgeLoopFlow({ modbusPort: sim.modbusPort, cycleMs: CYCLE_MS, staleCycles: 10, taps: { battery: ['edge-battery'], envelopes: ['edge-safety'] } }));
  };
  afterEach(async () => {
    await helper.unload();
    await sim?.close();
  });

  for (const variant of ['no-805', '802-only'] as const) {
    it(`${variant}: temperatures null, a visible derating warning, and the loop follows a setpoint within it`, async () => {
      await load(variant);
      const t = await nextWhere<Telemetry>(helper.getNode('battery'), (p) => p.battery !== undefined, 'battery telemetry');
      assert.equal(t.battery?.tempMax, null);
      assert.equal(t.battery?.tempMin, null);
      const e = await nextWhere<Envelope>(helper.getNode('envelopes'), (p) => p.alarms.some((a) => a.code === 'TEMPERATURE_UNMEASURED'), 'the warning');
      assert.equal(e.mode, 'DERATED');
      const bmsW = (t.battery?.dischargeCurrentMax ?? 0) * (t.battery?.voltage ?? 0);
      assert.ok(e.maxDischargeW > 0 && e.maxDischargeW <= 0.5 * bmsW + 1e-6, `${e.maxDischargeW} W of ${bmsW} W`);
      const safety = helper.getNode('edge-safety');
      await nextStatus(safety, (s) => s.fill === 'yellow' && /no cell temperature: derated/.test(s.text ?? ''));
      // A setpoint above the derated limit is clamped to it; one below it is followed.
      helper.getNode('edge-operator').receive({ payload: { type: 'setpoint', powerW: 1000, durationS: 600, by: 'test' } });
      const s = await until((x) => Math.abs(x.pcs.power - Math.min(1000, e.maxDischargeW)) < 50, 'PCS at the setpoint');
      assert.ok(s.pcs.wSet !== null && s.pcs.wSet <= e.maxDischargeW + 1);
    });
  }

  it('no-soc: the battery node reports a configuration error naming 802.SoC, and the PCS stays at 0 W', async () => {
    await load('no-soc');
    const dev = helper.getNode('edge-battery');
    const s = await nextStatus(dev, (x) => x.fill === 'red' && /802\.SoC/.test(x.text ?? ''));
    assert.match(s.text ?? '', /configuration error: the device does not implement 802\.SoC/);
    helper.getNode('edge-operator').receive({ payload: { type: 'setpoint', powerW: 1000, durationS: 600, by: 'test' } });
    await new Promise((r) => setTimeout(r, 5 * CYCLE_MS));
    assert.equal((await state()).pcs.power, 0);
    assert.ok(statusesShown(helper.getNode('edge-safety')).some((x) => /SAFE_MODE/.test(x.text ?? '')));
  });
});
