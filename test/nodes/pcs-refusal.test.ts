// The runtime half of the flow safety check: a PCS write on a path that bypasses safety-limits
// and the arbiter writes nothing and says why, however the flow was deployed.
import assert from 'node:assert/strict';
import type { NodeAPI } from 'node-red';
import arbiterNode from '../../nodes/arbiter/arbiter';
import safetyLimitsNode from '../../nodes/safety-limits/safety-limits';
import { ModbusTcpServer } from '../../runtime/simulator/modbus/tcp-server';
import { connectionNode, helper, nextError, nextMessage, nextStatus, ourNodes } from './harness';
import { PcsBank } from './sunspec-images';
import { tempUserDirPerTest } from '../user-dir';

const nodes: ((RED: NodeAPI) => void)[] = [...ourNodes, safetyLimitsNode, arbiterNode];
const pcsNode = (wires: string[][] = [['out']]) => ({ id: 'set', type: 'pcs-setpoint', z: 'f1', x: 500, y: 100, name: 'PCS', connection: 'conn', unitId: 2, heartbeat: 200, revertTimeout: 5, maxChargeW: '', maxDischargeW: '', wires });
// Flow nodes need x and y: without them Node-RED takes a node for a config node.
const tab = { id: 'f1', type: 'tab', label: 'site' };

describe('pcs-setpoint refuses to drive the PCS through a bypass', () => {
  tempUserDirPerTest();
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

  it('a message source wired straight to it: red status, an error to Catch nodes, and no register written', async () => {
    await helper.load(nodes, [
      tab,
      { ...connectionNode(port), z: undefined },
      { id: 'manual', type: 'helper', z: 'f1', x: 100, y: 100, wires: [['set']] },
      pcsNode(),
      { id: 'out', type: 'helper', z: 'f1', x: 700, y: 100 },
    ] as never);
    const set = helper.getNode('set');
    const status = nextStatus(set, (s) => s.fill === 'red');
    const error = nextError(set, /refused, nothing written: "manual" \(helper\)|refused, nothing written: helper manual/);
    set.receive({ payload: 2000 });
    assert.match(await error, /without passing safety-limits and the arbiter/);
    assert.match((await status).text ?? '', /refused: unsafe flow/);
    assert.equal(server.stats.requests, 0, 'not even a read reached the PCS');
    assert.equal(pcs.wset, 0);
  });

  it('behind safety-limits and the arbiter it writes as usual', async () => {
    await helper.load(nodes, [
      tab,
      { ...connectionNode(port), z: undefined },
      { id: 'telemetry', type: 'helper', z: 'f1', x: 100, y: 100, wires: [['safety']] },
      { id: 'safety', type: 'safety-limits', z: 'f1', x: 250, y: 100, name: 'safety', siteId: 'site-1', cycleMs: 1000, staleCycles: 3, capacityWh: '', profile: '', wires: [['arbiter']] },
      { id: 'arbiter', type: 'arbiter', z: 'f1', x: 380, y: 100, name: 'arbiter', rampWPerS: 1000, wires: [['set']] },
      pcsNode(),
      { id: 'out', type: 'helper', z: 'f1', x: 700, y: 100 },
    ] as never);
    const result = nextMessage<{ payload: { written: number } }>(helper.getNode('out'));
    helper.getNode('set').receive({ payload: 1500 });
    assert.equal((await result).payload.written, 1500);
    assert.equal(pcs.wset, 1500);
  });
});
