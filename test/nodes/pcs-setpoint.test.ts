import assert from 'node:assert/strict';
import type { Telemetry } from '../../domain/contracts';
import { ModbusTcpServer } from '../../runtime/simulator/modbus/tcp-server';
import { startSimulator, type RunningSimulator } from '../../runtime/simulator/index';
import { connectionNode, helper, nextError, nextMessage, nextStatus, ourNodes } from './harness';
import { PcsBank } from './sunspec-images';

interface Result { payload: { setpoint: number; written: number; ts: number } }

describe('pcs-setpoint node', () => {
  describe('against a PCS register bank', () => {
    let server: ModbusTcpServer;
    let pcs: PcsBank;
    let port: number;

    beforeEach(async () => {
      pcs = new PcsBank();
      server = new ModbusTcpServer({ port: 0, units: new Map([[2, pcs]]) });
      port = await server.listen();
    });
    afterEach(async () => {
      await helper.unload();
      pcs.stop();
      await server.close();
    });

    const flow = (extra: Record<string, unknown> = {}): Record<string, unknown>[] => [
      connectionNode(port),
      { id: 'set', type: 'pcs-setpoint', connection: 'conn', unitId: 2, heartbeat: 200, revertTimeout: 5, maxChargeW: '', maxDischargeW: '', wires: [['out']], ...extra },
      { id: 'out', type: 'helper' },
    ];

    it('writes WSet with WSetEna, WSetMod WATTS and the revert timer, and reports what it wrote', async () => {
      await helper.load(ourNodes, flow() as never);
      const result = nextMessage<Result>(helper.getNode('out'));
      helper.getNode('set').receive({ payload: 2500 });
      const r = await result;
      assert.equal(r.payload.setpoint, 2500);
      assert.equal(r.payload.written, 2500);
      assert.equal(pcs.wset, 2500);
      assert.equal(pcs.reg('WSetEna'), 1);
      assert.equal(pcs.reg('WSetMod'), 1);
      assert.equal(pcs.reg('WSetEnaRvrt'), 1);
      assert.equal(pcs.reg('WSetRvrtTms', 2), 5);
      assert.equal(pcs.reg('WSetRvrt', 2), 0);
      assert.equal(pcs.power, 2500);
    });

    it('writes a charge setpoint as a negative WSet', async () => {
      await helper.load(ourNodes, flow() as never);
      const result = nextMessage<Result>(helper.getNode('out'));
      helper.getNode('set').receive({ payload: -3000 });
      await result;
      assert.equal(pcs.wset, -3000);
    });

    it('takes the arbiter decision and writes its setpointW', async () => {
      await helper.load(ourNodes, flow() as never);
      const result = nextMessage<Result>(helper.getNode('out'));
      helper.getNode('set').receive({ payload: { setpointW: -1500, level: 3, source: 'operator' } });
      assert.equal((await result).payload.written, -1500);
      assert.equal(pcs.wset, -1500);
    });

    it('configures the revert timer once, then writes only WSet per command', async () => {
      await helper.load(ourNodes, flow() as never);
      const out = helper.getNode('out');
      let result = nextMessage<Result>(out);
      helper.getNode('set').receive({ payload: 100 });
      await result;
      const before = pcs.writes.length;
      result = nextMessage<Result>(out);
      helper.getNode('set').receive({ payload: 200 });
      await result;
      assert.equal(pcs.writes.length, before + 1);
    });

    it('clamps to the PCS ratings (702) and to its own maxChargeW / maxDischargeW, never writing beyond them', async () => {
      await helper.load(ourNodes, flow({ maxChargeW: '5000' }) as never);
      const out = helper.getNode('out');
      let result = nextMessage<Result>(out);
      helper.getNode('set').receive({ payload: 25_000 });
      assert.equal((await result).payload.written, 10_000); // WDisChaRteMaxRtg
      assert.equal(pcs.wset, 10_000);
      result = nextMessage<Result>(out);
      helper.getNode('set').receive({ payload: -9000 });
      assert.equal((await result).payload.written, -5000); // maxChargeW below WChaRteMaxRtg 8000
      assert.equal(pcs.wset, -5000);
    });

    it('re-writes WSet every heartbeat while commands keep coming', async () => {
      await helper.load(ourNodes, flow() as never);
      const result = nextMessage<Result>(helper.getNode('out'));
      helper.getNode('set').receive({ payload: 1000 });
      await result;
      const before = pcs.writes.length;
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(pcs.writes.length >= before + 2, `expected heartbeats, got ${pcs.writes.length - before} writes`);
      assert.equal(pcs.wset, 1000);
    });

    it('adds no heartbeat write while commands come at least once per heartbeat', async () => {
      await helper.load(ourNodes, flow({ heartbeat: 300 }) as never);
      const set = helper.getNode('set');
      let result = nextMessage<Result>(helper.getNode('out'));
      set.receive({ payload: 1000 });
      await result;
      const before = pcs.writes.length;
      // Commands every 100 ms, three times faster than the heartbeat: one WSet write each, no more.
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 100));
        result = nextMessage<Result>(helper.getNode('out'));
        set.receive({ payload: 1000 + i });
        await result;
      }
      assert.equal(pcs.writes.length - before, 10);
    });

    for (const bad of ['500', 'abc', Number.NaN, Number.POSITIVE_INFINITY, null, { w: 1 }]) {
      it(`refuses ${typeof bad === 'string' ? `"${bad}"` : String(bad)} with a clear error and writes nothing`, async () => {
        await helper.load(ourNodes, flow() as never);
        const err = nextError(helper.getNode('set'), /msg\.payload must be .*nothing written/);
        helper.getNode('set').receive({ payload: bad });
        await err;
        assert.equal(pcs.writes.length, 0);
      });
    }

    it('writes 0 W when the flow stops', async () => {
      await helper.load(ourNodes, flow() as never);
      const result = nextMessage<Result>(helper.getNode('out'));
      helper.getNode('set').receive({ payload: 4000 });
      await result;
      assert.equal(pcs.wset, 4000);
      await helper.unload();
      assert.equal(pcs.wset, 0);
    });

    it('says in its status when the command went stale and stops the heartbeat', async () => {
      await helper.load(ourNodes, flow({ revertTimeout: 1, heartbeat: 200 }) as never);
      const stale = nextStatus(helper.getNode('set'), (s) => /stale/.test(s.text ?? ''));
      helper.getNode('set').receive({ payload: 1500 });
      await stale;
      const writes = pcs.writes.length;
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(pcs.writes.length, writes);
    });
  });

  describe('against the site simulator', () => {
    let sim: RunningSimulator;
    beforeEach(async () => { sim = await startSimulator({ modbusPort: 0, controlPort: 0, speed: 1, seed: 7 }); });
    afterEach(async () => {
      await helper.unload();
      await sim.close();
    });

    it('reads the setpoint back from the PCS, and the revert timer returns the PCS to 0 W once commands stop', async function () {
      this.timeout(30_000);
      await helper.load(ourNodes, [
        connectionNode(sim.modbusPort, { timeout: 1000 }),
        { id: 'set', type: 'pcs-setpoint', connection: 'conn', unitId: 2, heartbeat: 300, revertTimeout: 2, maxChargeW: '', maxDischargeW: '', wires: [['result']] },
        { id: 'result', type: 'helper' },
        { id: 'dev', type: 'sunspec-device', connection: 'conn', unitId: 2, kind: 'pcs', siteId: 'site-1', deviceId: '', interval: 250, baseAddress: 'auto', wires: [['tele']] },
        { id: 'tele', type: 'helper' },
      ] as never);
      const tele = helper.getNode('tele');
      await nextMessage(tele);
      const result = nextMessage<Result>(helper.getNode('result'));
      helper.getNode('set').receive({ payload: -1200 });
      assert.equal((await result).payload.written, -1200);
      const held = await nextMessage<{ payload: Telemetry }>(tele, (m) => m.payload.pcs?.setpoint === -1200, 10_000);
      assert.equal(held.payload.pcs?.setpointEnabled, true);
      assert.equal(held.payload.pcs?.revertTimeS, 2);
      // No more commands: the node stops its heartbeat after 2 s and the PCS reverts 2 s later.
      const reverted = await nextMessage<{ payload: Telemetry }>(tele, (m) => m.payload.pcs?.setpoint !== -1200, 15_000);
      assert.notEqual(reverted.payload.pcs?.setpoint, -1200);
      assert.ok([0, null].includes(reverted.payload.pcs?.setpoint ?? null));
      await nextMessage<{ payload: Telemetry }>(tele, (m) => m.payload.pcs?.power === 0, 15_000);
    });
  });
});
