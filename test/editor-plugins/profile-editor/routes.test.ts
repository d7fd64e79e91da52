// The profile editor's admin API on a real Node-RED editor runtime with adminAuth (the child
// process of test/editor), against the real site simulator: browsing the SunSpec models, saving
// and loading profiles (zod-validated, names that cannot escape <userDir>/profiles), permissions
// (a reader browses, only a writer saves or test-reads), and a live test-read of two registers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../../runtime/simulator/index';
import { authHeaders, deploy, login, startEditor, stopEditor, type EditorProcess } from '../editor-process';
import { battery802, socSohProfile, type Battery802 } from './simulator-battery';

interface Reading { blocks: { model: number; points: { name: string; address: number; raw: number | null; value: number | null }[] }[]; telemetry: unknown; telemetryError: string | null }

describe('profile editor admin API (Node-RED runtime + simulator)', function () {
  this.timeout(120_000);
  let sim: RunningSimulator;
  let editor: EditorProcess;
  let admin: string;
  let viewer: string;
  let battery: Battery802;

  const api = (path: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<Response> =>
    fetch(`${editor.url}/editor/lifo4/${path}`, {
      method: init.method ?? 'GET',
      headers: { 'content-type': 'application/json', ...authHeaders(token) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const errorOf = async (res: Response): Promise<string> => ((await res.json()) as { error: string }).error;

  before(async () => {
    sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 3 });
    editor = await startEditor({ auth: true });
    admin = await login(editor.url, 'admin');
    viewer = await login(editor.url, 'viewer');
    battery = await battery802(sim.modbusPort);
    await deploy(editor.url, [{ id: 'sim-conn', type: 'modbus-connection', name: 'simulator', host: '127.0.0.1', port: sim.modbusPort, timeout: 1000, queueLimit: 100 }], admin);
  });
  after(async () => {
    if (editor) await stopEditor(editor);
    if (sim) await sim.close();
  });

  it('lets a reader browse the SunSpec models we ship, with point offsets', async () => {
    const list = (await (await api('sunspec/models', viewer)).json()) as { models: { id: number; name: string }[] };
    assert.deepEqual(list.models.find((m) => m.id === 802), { id: 802, name: 'battery', fixedLength: 62 });
    const m802 = (await (await api('sunspec/models/802', viewer)).json()) as { group: { points: { name: string; offset: number }[] } };
    assert.equal(m802.group.points.find((p) => p.name === 'SoC')?.offset, battery.socAddress - battery.modelAddress);
    assert.equal((await api('sunspec/models/999', viewer)).status, 404);
  });

  it('saves a valid profile into <userDir>/profiles and loads it back; a reader may load but not save', async () => {
    const profile = socSohProfile(battery);
    const put = await api('profiles/sim-battery', admin, { method: 'PUT', body: profile });
    assert.equal(put.status, 200, await put.clone().text());
    const file = join(editor.dir, 'edge', 'profiles', 'sim-battery.json');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), profile);

    const got = await api('profiles/sim-battery', viewer);
    assert.equal(got.status, 200);
    assert.deepEqual(await got.json(), { file: 'sim-battery', profile });
    const list = (await (await api('profiles', viewer)).json()) as { profiles: { file: string }[] };
    assert.deepEqual(list.profiles.map((p) => p.file), ['sim-battery']);

    const refused = await api('profiles/sim-battery', viewer, { method: 'PUT', body: { ...profile, name: 'changed by a reader' } });
    assert.ok(refused.status === 401 || refused.status === 403, `reader PUT: ${refused.status}`);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), profile, 'unchanged');
    assert.equal((await api('profiles/no-such', viewer)).status, 404);
  });

  it('refuses an invalid profile with a clear 400 naming the problem', async () => {
    const bad = socSohProfile(battery);
    (bad.blocks as { points: { sf?: unknown }[] }[])[0]!.points[0]!.sf = 'SoC_SF';
    const res = await api('profiles/bad', admin, { method: 'PUT', body: bad });
    assert.equal(res.status, 400);
    assert.match(await errorOf(res), /point SoC scales by SoC_SF, which is not a sunssf point of this block/);
    const res2 = await api('profiles/bad', admin, { method: 'PUT', body: { name: '', kind: 'toaster', blocks: [] } });
    assert.equal(res2.status, 400);
    assert.match(await errorOf(res2), /kind/);
    assert.equal(existsSync(join(editor.dir, 'edge', 'profiles', 'bad.json')), false);
  });

  it('refuses names outside [A-Za-z0-9_-], including path traversal, before touching the disk', async () => {
    for (const name of ['..%2F..%2Fsettings', '..%2F..%2F..%2Fetc%2Fpasswd', '.hidden', 'a.b', 'x%20y', '..%5Cwin']) {
      const put = await api(`profiles/${name}`, admin, { method: 'PUT', body: socSohProfile(battery) });
      assert.equal(put.status, 400, name);
      assert.match(await errorOf(put), /profile name: .*letters, digits, _ and - only/, name);
      assert.equal((await api(`profiles/${name}`, admin)).status, 400, name);
    }
    assert.equal(existsSync(join(editor.dir, 'settings.json')), false);
    assert.equal(existsSync(join(editor.dir, 'edge', 'settings.json')), false);
  });

  it('test-reads the mapped registers live through the deployed modbus-connection', async () => {
    const res = await api('profiles/test-read', admin, { method: 'POST', body: { connection: 'sim-conn', unitId: 1, profile: socSohProfile(battery) } });
    assert.equal(res.status, 200, await res.clone().text());
    const r = (await res.json()) as Reading;
    const points = Object.fromEntries(r.blocks[0]!.points.map((p) => [p.name, p]));
    assert.deepEqual(Object.keys(points), ['SoC', 'SoH'], 'the gap is not a point');
    assert.equal(points.SoC!.address, battery.socAddress);
    const soc = points.SoC!.value!;
    assert.ok(soc > 0 && soc <= 100, `SoC ${soc}`);
    assert.equal(soc, points.SoC!.raw! / 10);
    // The pack moves slowly at speed 1: the full SunSpec decode read a moment ago agrees.
    assert.ok(Math.abs(soc - battery.soc) < 2, `profile SoC ${soc} vs SunSpec ${battery.soc}`);
    assert.ok(Math.abs(points.SoH!.value! - battery.soh) < 1, `SoH ${points.SoH!.value} vs ${battery.soh}`);
    // Two points are not a whole battery: the response says what the telemetry still needs.
    assert.equal(r.telemetry, null);
    assert.match(r.telemetryError ?? '', /not implemented|needs/);
  });

  it('test-reads through an endpoint of a connection not deployed yet, and reports device errors', async () => {
    const ok = await api('profiles/test-read', admin, { method: 'POST', body: { endpoint: { host: '127.0.0.1', port: sim.modbusPort }, unitId: 1, profile: socSohProfile(battery) } });
    assert.equal(ok.status, 200, await ok.clone().text());
    // Unit 9 does not exist on the simulator: its Modbus exception reaches the editor.
    const noUnit = await api('profiles/test-read', admin, { method: 'POST', body: { connection: 'sim-conn', unitId: 9, profile: socSohProfile(battery) } });
    assert.equal(noUnit.status, 502);
    assert.match(await errorOf(noUnit), /test-read: /);
    const noConn = await api('profiles/test-read', admin, { method: 'POST', body: { connection: 'not-deployed', unitId: 1, profile: socSohProfile(battery) } });
    assert.equal(noConn.status, 400);
    assert.match(await errorOf(noConn), /modbus-connection not-deployed not found/);
  });

  it('refuses a test-read from a reader and a test-read of an invalid profile', async () => {
    const reader = await api('profiles/test-read', viewer, { method: 'POST', body: { connection: 'sim-conn', unitId: 1, profile: socSohProfile(battery) } });
    assert.ok(reader.status === 401 || reader.status === 403, `reader: ${reader.status}`);
    const bad = await api('profiles/test-read', admin, { method: 'POST', body: { connection: 'sim-conn', unitId: 1, profile: { name: 'x', kind: 'battery', blocks: [] } } });
    assert.equal(bad.status, 400);
    assert.match(await errorOf(bad), /blocks/);
    const both = await api('profiles/test-read', admin, { method: 'POST', body: { unitId: 1, profile: socSohProfile(battery) } });
    assert.equal(both.status, 400);
    assert.match(await errorOf(both), /either connection .* or endpoint/);
  });
});
