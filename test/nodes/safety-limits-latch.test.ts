// safety-limits keeps its e-stop latch in <userDir>/lifo4/safety-latch/<siteId>.json: a redeploy, a
// node deleted and added again, and a second node guarding the same site all find it; a damaged
// file counts as latched; a folder it cannot write holds the battery at 0 W; a latch kept in the
// 'persistent' context store by earlier versions is carried into the file.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import helper, { type TestFlowNode, type TestNode } from 'node-red-node-test-helper';
import type { Envelope } from '../../domain/contracts';
import safetyNode from '../../nodes/safety-limits/safety-limits';
import { nextMessage, nextStatus, statusesShown } from './harness';
import { tempUserDirPerTest } from '../user-dir';

const flow = (id = 'safe', siteId = 'site-1'): TestFlowNode[] => [
  { id: 'f1', type: 'tab' },
  { id, type: 'safety-limits', z: 'f1', siteId, cycleMs: '100', staleCycles: '3', capacityWh: '', profile: '', wires: [['envs']] },
  { id: 'envs', type: 'helper', z: 'f1' },
];
const envelopeWhere = (accept: (e: Envelope) => boolean): Promise<Envelope> =>
  nextMessage<{ payload: Envelope }>(helper.getNode('envs'), (m) => accept(m.payload)).then((m) => m.payload);
const stopped = (e: Envelope): boolean => e.maxChargeW === 0 && e.maxDischargeW === 0;

describe('safety-limits: the e-stop latch file', function () {
  this.timeout(20_000);
  const userDir = tempUserDirPerTest();
  const latchFile = (site = 'site-1'): string => join(userDir(), 'lifo4', 'safety-latch', `${site}.json`);
  afterEach(() => helper.unload());

  it('writes the e-stop to the file, keeps it across a redeploy and a new node, and releases only on a reset', async () => {
    await helper.load(safetyNode, flow());
    helper.getNode('safe').receive({ payload: { type: 'estop', by: 'ops' } });
    await envelopeWhere((e) => e.mode === 'ESTOP');
    assert.equal((JSON.parse(readFileSync(latchFile(), 'utf8')) as { latched: boolean }).latched, true);

    await helper.unload();
    await helper.load(safetyNode, flow());
    assert.ok(stopped(await envelopeWhere((e) => e.mode === 'ESTOP')), 'latched after a redeploy');

    await helper.unload();
    await helper.load(safetyNode, flow('another-node'));
    const e = await envelopeWhere(() => true);
    assert.equal(e.mode, 'ESTOP', 'a node created anew for the site finds the latch');

    helper.getNode('another-node').receive({ payload: { type: 'reset', by: 'ops', role: 'OPERATOR' } });
    await envelopeWhere((x) => x.mode !== 'ESTOP');
    assert.equal((JSON.parse(readFileSync(latchFile(), 'utf8')) as { latched: boolean }).latched, false);
  });

  it('shares one latch between two nodes guarding the same site, and keeps other sites apart', async () => {
    writeLatch(latchFile(), { latched: true, by: 'ops', since: 1 });
    await helper.load(safetyNode, [...flow('a'), ...flow('b').slice(1).map((n) => (n.id === 'envs' ? { ...n, id: 'envs-b' } : { ...n, wires: [['envs-b']] })),
      ...flow('c', 'site-2').slice(1).map((n) => (n.id === 'envs' ? { ...n, id: 'envs-c' } : { ...n, wires: [['envs-c']] }))]);
    const first = (id: string): Promise<Envelope> => nextMessage<{ payload: Envelope }>(helper.getNode(id)).then((m) => m.payload);
    const [a, b, c] = await Promise.all([first('envs'), first('envs-b'), first('envs-c')]);
    assert.equal(a.mode, 'ESTOP');
    assert.equal(b.mode, 'ESTOP');
    assert.notEqual(c.mode, 'ESTOP');
  });

  it('counts a damaged latch file as latched, with a red status, until a reset', async () => {
    mkdirSync(join(userDir(), 'lifo4', 'safety-latch'), { recursive: true });
    writeFileSync(latchFile(), '{"latched": fal');
    await helper.load(safetyNode, flow());
    assert.ok(stopped(await envelopeWhere((e) => e.mode === 'ESTOP')));
    const node = helper.getNode('safe');
    assert.ok(statusesShown(node).some((s) => s.fill === 'red' && /unreadable/.test(s.text ?? '')));
    assert.ok(errorsShown(node).some((e) => /not JSON/.test(e)), 'the reason is in the log');
    helper.getNode('safe').receive({ payload: { type: 'reset', by: 'ops', role: 'OPERATOR' } });
    await envelopeWhere((e) => e.mode !== 'ESTOP');
  });

  it('holds 0 W with a red status when the latch cannot be written, and runs once it can', async () => {
    writeFileSync(join(userDir(), 'lifo4'), 'a file where the folder should be');
    await helper.load(safetyNode, flow());
    const e = await envelopeWhere(() => true);
    assert.ok(stopped(e));
    assert.ok(e.alarms.some((a) => a.code === 'ESTOP'), 'a start that cannot write latches');
    const node = helper.getNode('safe');
    await nextStatus(node, (s) => s.fill === 'red' && /not saved/.test(s.text ?? ''));
    node.receive({ payload: { type: 'reset', by: 'ops', role: 'OPERATOR' } });
    assert.ok(stopped(await envelopeWhere(() => true)), 'a reset that cannot be saved does not release');
    rmSync(join(userDir(), 'lifo4'), { force: true });
    await envelopeWhere((x) => !x.alarms.some((a) => a.code === 'LATCH_NOT_SAVED'));
    node.receive({ payload: { type: 'reset', by: 'ops', role: 'OPERATOR' } });
    await envelopeWhere((x) => x.mode !== 'ESTOP');
  });

  it("carries a latch from the 'persistent' context store of earlier versions into the file", async () => {
    // The lifo4 host defines the store; here the helper's memory store stands in for it.
    helper.settings({ userDir: userDir(), contextStorage: { persistent: { module: 'memory' } } });
    const seed = (RED: NodeAPI): void => {
      RED.nodes.registerType('legacy-seed', function (this: Node, def: NodeDef) {
        RED.nodes.createNode(this, def);
        legacyContext('safe', 'f1').set('estop', { latched: true, by: 'old-ops', since: 7 }, 'persistent');
      });
    };
    await helper.load([seed, safetyNode], [{ id: 'f1', type: 'tab' }, { id: 'seed', type: 'legacy-seed', z: 'f1' }, ...flow().slice(1)]);
    assert.equal((await envelopeWhere(() => true)).mode, 'ESTOP');
    const saved = JSON.parse(readFileSync(latchFile(), 'utf8')) as { latched: boolean; by: string };
    assert.deepEqual([saved.latched, saved.by], [true, 'old-ops']);
    assert.equal(legacyContext('safe', 'f1').get('estop', 'persistent'), undefined, 'taken out of the old store');
  });
});

function writeLatch(path: string, estop: { latched: boolean; by: string | null; since: number | null }): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify({ v: 1, siteId: 'site-1', ...estop, savedAt: 1 }));
}

interface NodeContextApi { get(key: string, store: string): unknown; set(key: string, value: unknown, store: string): void }

/** A node's context as Node-RED keys it, through the runtime the helper drives (its own internals). */
function legacyContext(nodeId: string, flowId: string): NodeContextApi {
  return (helper as unknown as { _context: { get(id: string, flow: string): NodeContextApi } })._context.get(nodeId, flowId);
}

/** Every node.error so far, as text (the test helper records the calls). */
function errorsShown(node: TestNode): string[] {
  return (node.error as unknown as { getCalls(): { args: unknown[] }[] }).getCalls().map((c) => String(c.args[0]));
}
