// The closed loop as it runs in production: `lifo4 sim` and `lifo4 edge` as separate processes
// talking Modbus TCP, commands through the edge's HTTP endpoint, the outcome read back from the
// simulator's GET /state.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SiteState } from '../../runtime/simulator';
import { eventually, freePorts, getJson, Lifo4Process } from './lifo4-process';
import { addressEdgeFlow, defaultFlowPath, flowCredentials, readFlow } from '../../runtime/app/flow-files';
import { LOOP_VARIANTS, withProfiles, type LoopVariant } from '../flows/edge-loop';

/** The default edge flow as `lifo4 edge` would address it, its devices read and commanded through the variant's profiles. */
function profileFlowFile(dir: string, variant: LoopVariant, modbusPort: number): string[] {
  if (!variant.profile) return [];
  const flow = withProfiles(addressEdgeFlow(readFlow(defaultFlowPath('edge'), 'edge flow'), { modbusHost: '127.0.0.1', modbusPort, siteId: 'site-1', cycleMs: 500 }), variant.profile);
  const file = join(dir, `flows-${variant.profile}.json`);
  writeFileSync(file, JSON.stringify(flow));
  writeFileSync(join(dir, `flows-${variant.profile}_cred.json`), JSON.stringify(flowCredentials(flow)));
  return ['--flows', file];
}

for (const variant of LOOP_VARIANTS) describe(`closed loop: lifo4 edge controlling lifo4 sim over Modbus TCP, devices through ${variant.name}`, function () {
  this.timeout(Math.max(90_000, variant.revertWithinMs + 40_000));
  let dataDir: string;
  let sim: Lifo4Process;
  let edge: Lifo4Process;
  let ports: { edge: number; modbus: number; control: number };

  const simState = async (): Promise<SiteState> => (await getJson(`http://127.0.0.1:${ports.control}/state`)).body as SiteState;
  const command = async (body: unknown): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`http://127.0.0.1:${ports.edge}/nodes/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
  const pcsWhere = (test: (pcs: SiteState['pcs']) => boolean, what: string, ms = 20_000) =>
    eventually(async () => { const s = await simState(); return test(s.pcs) ? s : undefined; }, ms, what);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lifo4-loop-'));
    // The broker port is free and nothing listens there: the edge buffers its telemetry and reaches
    // no broker of another run on the default port.
    const [e, m, c, b] = await freePorts(4);
    ports = { edge: e as number, modbus: m as number, control: c as number };
    sim = new Lifo4Process(['sim', '--modbus-port', String(ports.modbus), '--control-port', String(ports.control), '--data-dir', dataDir, ...(variant.profile ? ['--profile', variant.profile] : [])]);
    await sim.waitFor(/sim ready/, 30_000);
    edge = new Lifo4Process(['edge', '--edge-port', String(ports.edge), '--modbus-port', String(ports.modbus), '--cycle-ms', '500', '--mqtt-url', `mqtt://127.0.0.1:${b as number}`, '--data-dir', dataDir, ...profileFlowFile(dataDir, variant, ports.modbus)]);
    await edge.waitFor(/edge ready/, 30_000);
  });
  after(async () => {
    await edge?.stop();
    await sim?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('follows an operator setpoint sent to the edge, within the ramp', async () => {
    const ack = await command({ type: 'setpoint', powerW: 1800, durationS: 600, by: 'closed-loop-test', id: 'cmd-1' });
    assert.equal(ack.status, 200);
    assert.deepEqual({ ...(ack.body as object), ts: 0 }, { id: 'cmd-1', type: 'setpoint', status: 'accepted', by: 'closed-loop-test', ts: 0 });
    const s = await pcsWhere((p) => Math.abs(p.power - 1800) < 50, 'PCS at 1800 W');
    assert.equal(s.pcs.wSet, 1800);
    const control = (await getJson(`http://127.0.0.1:${ports.edge}/nodes/control/latest`)).body as { decision: { level: number; source: string } };
    assert.equal(control.decision.level, 3);
    assert.equal(control.decision.source, 'operator');
  });

  it('rejects a malformed command with its reason and moves nothing', async () => {
    const before = (await simState()).pcs.wSet;
    const ack = await command({ type: 'setpoint', powerW: 'all of it', by: 'closed-loop-test' });
    assert.equal((ack.body as { status: string }).status, 'rejected');
    assert.match((ack.body as { reason: string }).reason, /powerW/);
    assert.equal((await simState()).pcs.wSet, before);
  });

  it('reverts the PCS to 0 W by its own timer when the controller process is killed', async () => {
    await pcsWhere((p) => p.wSet === 1800 && p.setpointEnabled, 'a live setpoint');
    await edge.stop('SIGKILL');
    const s = await pcsWhere((p) => p.setpoint === 0 && Math.abs(p.power) < 1, 'the PCS reverted to 0 W', variant.revertWithinMs);
    assert.ok(s.pcs.revertRemainingS === 0);
  });
});
