// Every example that runs beside the simulator, imported unedited into the edge of a running
// `lifo4 start` whose ports are all non-default, through the edge editor's admin API as an
// integrator's editor would (an edge ADMIN with 2FA): its device, PCS and broker nodes turn green,
// and no node stays red. One `lifo4 start` for all of them; each example replaces the flows, so
// that one PCS has one writer (beside the default tab the flow check refuses a second one).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { packageRoot } from '../../io/package-root';
import { bearer, edgeEditorToken } from './edge-sign-in';
import { freePorts, Lifo4Process, runCliAsync } from './lifo4-process';
import { awayFromStepEdge, totp } from '../security/cloud-process';

const examplesDir = join(packageRoot, 'examples');
interface FlowNode { id: string; type: string; host?: string; [k: string]: unknown }
const flowOf = (file: string): FlowNode[] => JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as FlowNode[];

/** Examples that need something `lifo4 start` does not run, and what. */
const ELSEWHERE: Record<string, string> = {
  'cloud-fleet.json': 'the cloud runtime (it is the default cloud flow)',
  'generic-lfp-bms-profile.json': 'a real BMS on the LAN',
  'victron-gx-profile.json': 'a real Victron GX on the LAN',
  'rtu-bms-tcp-inverter.json': 'the simulator on an RS-485 line (lifo4 sim --rtu)',
  'sunspec-decode-contrib-modbus.json': 'node-red-contrib-modbus installed into the edge',
};
/** Nodes whose status must turn green: they talk to the simulator or, through their mqtt-link, the broker. */
const TALKERS = new Set(['sunspec-device', 'profile-device', 'pcs-setpoint', 'telemetry-out', 'command-in']);
const PASSWORD = 'examples-admin-pass-1234';

describe('examples on a running lifo4 start with non-default ports', function () {
  this.timeout(300_000);
  let dir: string;
  let run: Lifo4Process;
  let edgeUrl: string;
  let token: string;
  let statuses: Map<string, { fill?: string; text?: string }>;
  let comms: WebSocket;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-examples-start-'));
    const [port, edgePort, modbusPort, controlPort, mqttPort] = await freePorts(5);
    run = new Lifo4Process(['start', '--data-dir', dir, '--port', String(port), '--edge-port', String(edgePort), '--modbus-port', String(modbusPort),
      '--control-port', String(controlPort), '--mqtt-port', String(mqttPort)]);
    await run.waitFor(/LiFePO4 EMS is running/, 120_000);
    edgeUrl = `http://127.0.0.1:${edgePort}`;
    // An edge ADMIN deploys, with 2FA enrolled as the edge asks of it.
    const added = await runCliAsync(['user', 'add', '--edge', '--email', 'admin@examples.test', '--role', 'ADMIN', '--password', PASSWORD, '--data-dir', dir]);
    assert.equal(added.code, 0, added.stderr);
    const post = async (path: string, body: unknown, auth?: string) => {
      const res = await fetch(`${edgeUrl}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? bearer(auth) : {}) }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const login = await post('/auth/login', { email: 'admin@examples.test', password: PASSWORD });
    assert.equal(login.body.error, 'enrollment_required', JSON.stringify(login.body));
    const enrolToken = (login.body.details as { enrollmentToken: string }).enrollmentToken;
    const secret = (await post('/auth/2fa/enroll', {}, enrolToken)).body.secret as string;
    await awayFromStepEdge();
    assert.equal((await post('/auth/2fa/verify', { code: await totp(secret, -1) }, enrolToken)).status, 200);
    token = await edgeEditorToken(edgeUrl, 'admin@examples.test', '*', `${PASSWORD}${await totp(secret, 0)}`);

    // Node statuses as the editor sees them: the comms WebSocket, status/<node id>.
    statuses = new Map();
    comms = new WebSocket(`ws://127.0.0.1:${edgePort}/editor/comms`);
    await new Promise<void>((resolve, reject) => { comms.once('open', () => resolve()); comms.once('error', reject); });
    comms.on('message', (data: WebSocket.RawData) => {
      const parsed = JSON.parse(data.toString()) as { topic?: string; data?: { fill?: string; text?: string } }[] | { topic?: string };
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if ('data' in m && m.topic?.startsWith('status/')) statuses.set(m.topic.slice('status/'.length), m.data ?? {});
      }
    });
    const authed = new Promise<void>((resolve) => {
      comms.on('message', (data: WebSocket.RawData) => { if (data.toString().includes('"auth":"ok"')) resolve(); });
    });
    comms.send(JSON.stringify({ auth: token }));
    await authed;
    comms.send(JSON.stringify({ subscribe: 'status/#' }));
  });

  after(async () => {
    comms?.close();
    await run?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists what each example that does not run here needs', () => {
    const all = readdirSync(examplesDir).filter((f) => f.endsWith('.json'));
    for (const file of Object.keys(ELSEWHERE)) assert.ok(all.includes(file), `${file} is gone: drop it from ELSEWHERE`);
  });

  const files = readdirSync(examplesDir).filter((f) => f.endsWith('.json') && !(f in ELSEWHERE)).sort();
  for (const file of files) {
    it(`${file}: deployed as it is, its devices, PCS and broker links turn green and nothing is red`, async () => {
      const flow = flowOf(file);
      statuses.clear();
      const res = await fetch(`${edgeUrl}/editor/flows`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', ...bearer(token) }, body: JSON.stringify(flow),
      });
      assert.ok(res.ok, `deploy ${file}: ${res.status} ${await res.text()}`);
      const talkers = flow.filter((n) => TALKERS.has(n.type)).map((n) => n.id);
      const deadline = Date.now() + 30_000;
      let problem = '';
      while (Date.now() < deadline) {
        const notGreen = talkers.filter((id) => statuses.get(id)?.fill !== 'green');
        const red = flow.filter((n) => statuses.get(n.id)?.fill === 'red');
        problem = [...notGreen.map((id) => `${id} not green (${JSON.stringify(statuses.get(id) ?? null)})`), ...red.map((n) => `${n.id} red: ${statuses.get(n.id)?.text ?? ''}`)].join('; ');
        if (!problem) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(problem, '', `${file}: ${problem}`);
    });
  }
});
