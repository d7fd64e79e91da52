// The edge's guard, attacked over HTTP as someone on the site's LAN (or a web page in an
// integrator's browser) would: real `lifo4 sim` and `lifo4 edge` processes, edge accounts made
// with `lifo4 user add --edge`, the outcome read back from the control loop itself.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePorts, Lifo4Process, runCliAsync, statusWithHost } from '../integration/lifo4-process';
import { addEdgeUser, bearer, edgeCommand, edgeEditorToken, edgeSignIn } from '../integration/edge-sign-in';

interface Control {
  envelope: { mode: string; alarms: { code?: string; message: string }[] } | null;
}

describe('security: the edge controller behind its own accounts', function () {
  this.timeout(120_000);
  let dataDir: string;
  let sim: Lifo4Process;
  let edge: Lifo4Process;
  let url: string;
  const tokens: Record<'viewer' | 'operator' | 'technician', string> = { viewer: '', operator: '', technician: '' };

  const control = async (): Promise<Control> => {
    const res = await fetch(`${url}/nodes/control/latest`, { headers: bearer(tokens.viewer) });
    assert.equal(res.status, 200);
    return (await res.json()) as Control;
  };
  const mode = async () => (await control()).envelope?.mode;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lifo4-edge-sec-'));
    const [e, m, c, b] = (await freePorts(4)) as [number, number, number, number];
    url = `http://127.0.0.1:${e}`;
    sim = new Lifo4Process(['sim', '--modbus-port', String(m), '--control-port', String(c), '--data-dir', dataDir]);
    await sim.waitFor(/sim ready/, 30_000);
    edge = new Lifo4Process(['edge', '--edge-port', String(e), '--modbus-port', String(m), '--cycle-ms', '500', '--mqtt-url', `mqtt://127.0.0.1:${b}`, '--data-dir', dataDir]);
    await edge.waitFor(/edge ready/, 60_000);
    for (const role of ['VIEWER', 'OPERATOR', 'TECHNICIAN'] as const) {
      const email = `${role.toLowerCase()}@site.example`;
      await addEdgeUser(dataDir, email, role);
      tokens[role.toLowerCase() as keyof typeof tokens] = await edgeSignIn(url, email);
    }
    await eventually(async () => ((await mode()) === 'NORMAL' || (await mode()) === 'DERATED' ? true : undefined), 30_000, 'the loop running');
  });
  after(async () => {
    await edge?.stop();
    await sim?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates an administrator on the first start, prints its password once, and its login asks for 2FA enrolment', async () => {
    const printed = [...edge.output.matchAll(/lifo4 edge: first start[\s\S]*?password: (\S+)/g)];
    assert.equal(printed.length, 1, edge.output);
    const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@localhost', password: printed[0]?.[1] }) });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'enrollment_required');
  });

  it("keeps the edge's accounts apart from the cloud's, in a file only the owner reads", async () => {
    const edgeList = await runCliAsync(['user', 'list', '--edge', '--data-dir', dataDir]);
    assert.equal(edgeList.code, 0, edgeList.stderr);
    assert.match(edgeList.stdout, /operator@site\.example\tOPERATOR/);
    assert.match(edgeList.stdout, /admin@localhost\tSUPER_ADMIN/);
    const cloudList = await runCliAsync(['user', 'list', '--data-dir', dataDir]);
    assert.equal(cloudList.code, 0, cloudList.stderr);
    assert.doesNotMatch(cloudList.stdout, /site\.example/);
    for (const file of ['accounts.db', 'accounts.db-wal']) assert.equal(statSync(join(dataDir, 'edge', file)).mode & 0o777, 0o600, file);
  });

  it('refuses the editor without a sign-in, and lets a TECHNICIAN read but not deploy', async () => {
    assert.equal((await fetch(`${url}/editor/flows`)).status, 401);
    const editorToken = await edgeEditorToken(url, 'technician@site.example');
    assert.equal((await fetch(`${url}/editor/flows`, { headers: bearer(editorToken) })).status, 200);
    const deploy = await fetch(`${url}/editor/flows`, { method: 'POST', headers: { ...bearer(editorToken), 'content-type': 'application/json' }, body: '[]' });
    assert.equal(deploy.status, 401, 'read permission does not deploy');
    assert.equal((await fetch(`${url}/editor/flows`, { headers: bearer(tokens.operator) })).status, 401, 'an API token is no editor session');
  });

  it('refuses a command without a token and moves nothing', async () => {
    const res = await fetch(`${url}/nodes/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'estop', by: 'drive-by' }) });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.notEqual(await mode(), 'ESTOP');
  });

  it('refuses a cross-site HTML form post, with a token or without, and moves nothing', async () => {
    const form = (headers: Record<string, string>, type: string, body: string) =>
      fetch(`${url}/nodes/command`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
    assert.equal((await form({}, 'application/x-www-form-urlencoded', 'type=estop&by=attacker')).status, 401);
    assert.equal((await form(bearer(tokens.operator), 'application/x-www-form-urlencoded', 'type=estop&by=attacker')).status, 415);
    assert.equal((await form(bearer(tokens.operator), 'text/plain', '{"type":"estop","by":"attacker"}')).status, 415);
    assert.equal((await form(bearer(tokens.operator), 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="type"\r\n\r\nestop\r\n--x--\r\n')).status, 415);
    assert.notEqual(await mode(), 'ESTOP');
  });

  it('refuses reads without a token, and commands of a role that may not command', async () => {
    assert.equal((await fetch(`${url}/nodes/telemetry/latest`)).status, 401);
    assert.equal((await fetch(`${url}/nodes/control/latest`)).status, 401);
    assert.equal((await fetch(`${url}/nodes/control/latest`, { headers: { authorization: 'Bearer not-a-token' } })).status, 401);
    const viewer = await edgeCommand(url, tokens.viewer, { type: 'estop', by: 'viewer' });
    assert.equal(viewer.status, 403);
    assert.notEqual(await mode(), 'ESTOP');
  });

  it('takes the user and role from the token: an OPERATOR e-stops, and a role in the body does not let it reset', async () => {
    const stop = await edgeCommand(url, tokens.operator, { type: 'estop', by: 'someone else', id: 'sec-estop-1' });
    assert.equal(stop.status, 200);
    assert.deepEqual({ ...(stop.body as object), ts: 0 }, { id: 'sec-estop-1', type: 'estop', status: 'accepted', by: 'operator@site.example', ts: 0 });
    await eventually(async () => ((await mode()) === 'ESTOP' ? true : undefined), 10_000, 'the e-stop latched');
    const alarm = (await control()).envelope?.alarms.find((a) => /emergency stop/.test(a.message));
    assert.match(alarm?.message ?? '', /by operator@site\.example/);

    const reset = await edgeCommand(url, tokens.operator, { type: 'reset', by: 'admin@localhost', role: 'SUPER_ADMIN', id: 'sec-reset-1' });
    assert.equal(reset.status, 200);
    const ack = reset.body as { status: string; by: string; reason: string };
    assert.equal(ack.status, 'rejected');
    assert.equal(ack.by, 'operator@site.example');
    assert.match(ack.reason, /OPERATOR/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await mode(), 'ESTOP', 'still stopped');
  });

  it('lets a TECHNICIAN release the e-stop, with the same rule as the cloud', async () => {
    const reset = await edgeCommand(url, tokens.technician, { type: 'reset', id: 'sec-reset-2' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    assert.equal((reset.body as { status: string; by: string }).status, 'accepted');
    assert.equal((reset.body as { by: string }).by, 'technician@site.example');
    await eventually(async () => ((await mode()) !== 'ESTOP' ? true : undefined), 10_000, 'the e-stop released');
  });

  it('answers only to its own names: a Host header of another name is refused (DNS rebinding)', async () => {
    const get = (path: string, host: string, headers: Record<string, string> = {}) => statusWithHost(`${url}${path}`, host, headers);
    const port = new URL(url).port;
    for (const path of ['/editor/', '/editor/flows', '/api/v1/health', '/nodes/control/latest']) {
      assert.equal(await get(path, `evil.example:${port}`, bearer(tokens.viewer)), 421, path);
    }
    const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    assert.equal(await get('/editor/comms', `evil.example:${port}`, upgrade), 421, 'the editor comms WebSocket');
    assert.equal(await get('/editor/comms', `localhost:${port}`, upgrade), 101, 'its own name still upgrades');
    assert.equal(await get('/api/v1/health', `localhost:${port}`), 200);
    assert.equal(await get('/api/v1/health', `127.0.0.1:${port}`), 200);
  });
});
