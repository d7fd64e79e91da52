// The closed loop as it runs in production: `lifo4 sim` and `lifo4 edge` as separate processes
// talking Modbus, commands through the edge's HTTP endpoint by a signed-in edge operator, the
// outcome read back from the simulator's GET /state. The same assertions run with every device on
// Modbus TCP, and with the battery on Modbus RTU over a pseudo-terminal pair (`lifo4 sim --rtu`,
// socat) while the PCS and the meter stay on TCP: an RS-485 BMS beside a TCP inverter.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressEdgeFlow, defaultFlowPath, flowCredentials, readFlow } from '../../runtime/app/flow-files';
import type { SiteState } from '../../runtime/simulator';
import { requireService } from '../services/service';
import { socatAvailable, startPtyPair, type PtyPair } from '../services/socat';
import { eventually, freePorts, getJson, Lifo4Process } from './lifo4-process';
import { bearer, edgeCommand, edgeToken } from './edge-sign-in';
import { LOOP_VARIANTS, rtuConnection, withProfiles, type LoopVariant } from '../flows/edge-loop';

const CYCLE_MS = 500;

/**
 * The default edge flow as `lifo4 edge` would address it, its devices read and commanded through the
 * variant's profiles, with the battery (unit 1) on an RTU bus at `serialPath` when given; none for
 * the plain SunSpec variant over TCP, which runs the shipped flow itself.
 */
function variantFlowFile(dir: string, variant: LoopVariant, modbusPort: number, serialPath?: string): string[] {
  if (!variant.profile && serialPath === undefined) return [];
  let flow: { id: string; type: string; connection?: string }[] = withProfiles(addressEdgeFlow(readFlow(defaultFlowPath('edge'), 'edge flow'), { modbusHost: '127.0.0.1', modbusPort, siteId: 'site-1', cycleMs: CYCLE_MS }), variant.profile);
  if (serialPath !== undefined) {
    const bus = rtuConnection('edge-rs485', serialPath);
    flow = [...flow.map((n) => (n.id === 'edge-battery' ? { ...n, connection: bus.id } : n)), bus];
  }
  const file = join(dir, `flows-${variant.profile ?? 'rtu'}.json`);
  writeFileSync(file, JSON.stringify(flow));
  writeFileSync(join(dir, `flows-${variant.profile ?? 'rtu'}_cred.json`), JSON.stringify(flowCredentials(flow)));
  return ['--flows', file];
}

for (const variant of LOOP_VARIANTS) describe(`closed loop: lifo4 edge controlling lifo4 sim, devices through ${variant.name}`, function () {
  this.timeout(Math.max(90_000, variant.revertWithinMs + 40_000));
  let dataDir: string;
  let sim: Lifo4Process;
  let edge: Lifo4Process;
  let pty: PtyPair | undefined;
  let ports: { edge: number; modbus: number; control: number };
  let token: string;

  const simState = async (): Promise<SiteState> => (await getJson(`http://127.0.0.1:${ports.control}/state`)).body as SiteState;
  const command = (body: unknown) => edgeCommand(`http://127.0.0.1:${ports.edge}`, token, body);
  const pcsWhere = (test: (pcs: SiteState['pcs']) => boolean, what: string, ms = 20_000) =>
    eventually(async () => { const s = await simState(); return test(s.pcs) ? s : undefined; }, ms, what);

  before(async function () {
    if (variant.batteryOnRtu) {
      requireService(this, 'socat', socatAvailable(), 'apt-get install socat');
      pty = await startPtyPair();
    }
    dataDir = mkdtempSync(join(tmpdir(), 'lifo4-loop-'));
    // The broker port is free and nothing listens there: the edge buffers its telemetry and reaches
    // no broker of another run on the default port.
    const [e, m, c, b] = await freePorts(4);
    ports = { edge: e as number, modbus: m as number, control: c as number };
    const rtu = pty ? ['--rtu', pty.device, '--rtu-baud', '115200'] : [];
    sim = new Lifo4Process(['sim', '--modbus-port', String(ports.modbus), '--control-port', String(ports.control), '--data-dir', dataDir, ...rtu, ...(variant.profile ? ['--profile', variant.profile] : [])]);
    await sim.waitFor(/sim ready/, 30_000);
    edge = new Lifo4Process(['edge', '--edge-port', String(ports.edge), '--modbus-port', String(ports.modbus), '--cycle-ms', String(CYCLE_MS), '--mqtt-url', `mqtt://127.0.0.1:${b as number}`, '--data-dir', dataDir, ...variantFlowFile(dataDir, variant, ports.modbus, pty?.controller)]);
    await edge.waitFor(/edge ready/, 30_000);
    token = await edgeToken(`http://127.0.0.1:${ports.edge}`, dataDir, 'OPERATOR', 'operator@closed-loop.test');
  });
  after(async () => {
    await edge?.stop();
    await sim?.stop();
    await pty?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('follows an operator setpoint sent to the edge, within the ramp', async () => {
    const ack = await command({ type: 'setpoint', powerW: 1800, durationS: 600, by: 'closed-loop-test', id: 'cmd-1' });
    assert.equal(ack.status, 200);
    assert.deepEqual({ ...(ack.body as object), ts: 0 }, { id: 'cmd-1', type: 'setpoint', status: 'accepted', by: 'operator@closed-loop.test', ts: 0 });
    const s = await pcsWhere((p) => Math.abs(p.power - 1800) < 50, 'PCS at 1800 W');
    assert.equal(s.pcs.wSet, 1800);
    const control = (await getJson(`http://127.0.0.1:${ports.edge}/nodes/control/latest`, bearer(token))).body as { decision: { level: number; source: string } };
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
