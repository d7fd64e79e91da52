// What a Node-RED user does with this package: pack it, `npm install` the tarball into a fresh user
// directory (no .npmrc, the npm registry or its cache only), start a stock Node-RED 4 on it (this
// repository's devDependency, with a plain settings file and none of the lifo4 host's settings),
// deploy the examples against the simulator through the admin API, and check that telemetry flows,
// that an e-stop survives a redeploy and a restart of Node-RED, and that the model nodes run the
// package's own models. Slow: the install may compile better-sqlite3 (about a minute).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope, Telemetry } from '../../domain/contracts';
import { packageRoot } from '../../io/package-root';
import { startSimulator, type RunningSimulator } from '../../runtime/simulator';
import { eventually, freePorts, getJson, Lifo4Process } from './lifo4-process';

interface FlowNode { id: string; type: string; z?: string; wires?: string[][]; [key: string]: unknown }
interface Probe { envelope?: Envelope; battery?: Telemetry; status?: Record<string, { fill?: string; text?: string }> }

const RED_JS = join(packageRoot, 'node_modules', 'node-red', 'red.js');
const EXAMPLES = ['simulator-live-telemetry', 'load-forecast', 'soh-estimate', 'anomaly-score'];
const MODEL_NODES = { 'lf-forecast': 'load-forecast', 'soh-node': 'soh-estimate', 'an-node': 'anomaly-score' } as const;

/** The environment of a user's shell: none of the variables `npm test` sets for its scripts. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_|^INIT_CWD$|^NODE_RED_/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', args, { cwd, env: userEnv(), encoding: 'utf8', timeout: 540_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} in ${cwd}: exit ${String(r.status)}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function duBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += duBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** Records, per tab, what the test reads back: envelopes, battery telemetry, and every node's status. */
function probeNodes(tab: string, observe: Record<string, 'envelope' | 'battery'>): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: `${tab}-status`, type: 'status', z: tab, scope: null, wires: [[`${tab}-status-rec`]] },
    { id: `${tab}-status-rec`, type: 'function', z: tab, func: "global.set('probe_status_' + msg.status.source.id, msg.status); return null;", outputs: 1, wires: [[]] },
  ];
  for (const [from, key] of Object.entries(observe)) {
    nodes.push({ id: `${from}-rec`, type: 'function', z: tab, func: `global.set('probe_${key}', msg.payload); return null;`, outputs: 1, wires: [[]] });
  }
  return nodes;
}

describe('the package in a stock Node-RED 4 (npm pack, npm install in a user directory)', function () {
  this.timeout(900_000);
  let work: string;
  let userDir: string;
  let sim: RunningSimulator | undefined;
  let red: Lifo4Process | undefined;
  let port: number;

  before(function () {
    const missing = [RED_JS, join(packageRoot, 'dist', 'nodes'), join(packageRoot, 'dist', 'models', 'forecast.onnx')].filter((p) => !existsSync(p));
    if (missing.length > 0) {
      const why = `needs npm install and npm run build first (missing ${missing.join(', ')})`;
      if (process.env.CI === 'true') throw new Error(why);
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    work = mkdtempSync(join(tmpdir(), 'lifo4-package-'));
    userDir = join(work, 'node-red');
  });

  after(async () => {
    await red?.stop();
    await sim?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const startNodeRed = async (): Promise<Lifo4Process> => {
    const p = new Lifo4Process(['--userDir', userDir, '--settings', join(userDir, 'settings.js')], userEnv(), RED_JS, true);
    await p.waitFor(/Server now running at/, 60_000);
    return p;
  };
  const admin = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`, init);
  const deploy = async (flow: FlowNode[]): Promise<void> => {
    const res = await admin('/flows', { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flow) });
    assert.ok(res.ok, `deploy: ${res.status} ${await res.text()}`);
  };
  const probe = async (): Promise<Probe> => (await getJson(`http://127.0.0.1:${port}/probe`)).body as Probe;
  const envelopeAfter = (t: number, accept: (e: Envelope) => boolean, what: string): Promise<Envelope> =>
    eventually(async () => {
      const e = (await probe()).envelope;
      return e && e.ts > t && accept(e) ? e : undefined;
    }, 30_000, what);

  it('installs from the tarball without a second Node-RED, and runs in a stock Node-RED on the simulator', async () => {
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], packageRoot)) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
    const tarball = join(work, packed[0]!.filename);
    console.log(`      packed ${packed[0]!.filename}: ${(packed[0]!.size / 1e6).toFixed(1)} MB, ${packed[0]!.entryCount} files`);
    // What Node-RED itself writes into a new user directory.
    mkdirSync(userDir);
    writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true }, null, 4));
    const t0 = Date.now();
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], userDir);
    console.log(`      npm install of the tarball: ${((Date.now() - t0) / 1000).toFixed(0)} s, node_modules ${(duBytes(join(userDir, 'node_modules')) / 1e6).toFixed(0)} MB`);
    assert.ok(existsSync(join(userDir, 'node_modules', 'lifo4-ems', 'package.json')));
    assert.equal(existsSync(join(userDir, 'node_modules', 'node-red')), false, 'a second Node-RED in the user directory');
    assert.equal(existsSync(join(userDir, 'node_modules', 'onnxruntime-node')), false);

    sim = await startSimulator({ modbusPort: 0, controlPort: 0 });
    [port] = await freePorts(1) as [number];
    // A plain settings file, as a user writes one: no context stores, none of the lifo4 host's settings.
    writeFileSync(join(userDir, 'settings.js'), `module.exports = ${JSON.stringify({
      uiHost: '127.0.0.1', uiPort: port, flowFile: 'flows.json', credentialSecret: 'node-package-test',
      // This repository's own node_modules hold node-red-contrib-modbus for other tests: not the user's.
      nodesExcludes: ['node-red-contrib-modbus'],
      logging: { console: { level: 'info', metrics: false, audit: false } },
    }, null, 2)};\n`);
    red = await startNodeRed();

    const nodeSets = (await getJson(`http://127.0.0.1:${port}/nodes`)).body as { module: string; types: string[]; enabled: boolean; err?: string }[];
    const ours = nodeSets.filter((s) => s.module === 'lifo4-ems');
    assert.ok(ours.length > 20, `lifo4-ems node sets: ${ours.length}`);
    for (const s of ours) assert.ok(s.enabled && !s.err, `${s.types.join(',')}: ${s.err ?? 'disabled'}`);

    // The examples as the Import menu gives them, pointed at the simulator's ports.
    const flow: FlowNode[] = EXAMPLES.flatMap((name) =>
      JSON.parse(readFileSync(join(userDir, 'node_modules', 'lifo4-ems', 'examples', `${name}.json`), 'utf8')) as FlowNode[]);
    for (const n of flow) {
      // The examples name the edge's ${EMS_MODBUS_*} variables; a stock Node-RED has none: set the address.
      if (n.type === 'modbus-connection') Object.assign(n, { host: '127.0.0.1', port: sim.modbusPort });
      if (n.type === 'load-forecast') n.historyUrl = `http://127.0.0.1:${sim.controlPort}/history/load`;
    }
    const wire = (from: string, to: string): void => {
      const n = flow.find((x) => x.id === from);
      assert.ok(n, from);
      n.wires = [[...(n.wires?.[0] ?? []), to], ...(n.wires ?? []).slice(1)];
    };
    wire('sim-safety', 'sim-safety-rec');
    wire('sim-bat', 'sim-bat-rec');
    flow.push(
      ...probeNodes('sim-tab', { 'sim-safety': 'envelope', 'sim-bat': 'battery' }),
      ...probeNodes('lf-tab', {}), ...probeNodes('soh-tab', {}), ...probeNodes('an-tab', {}),
      { id: 'probe-get', type: 'http in', z: 'sim-tab', url: '/probe', method: 'get', wires: [['probe-read']] },
      { id: 'probe-read', type: 'function', z: 'sim-tab', outputs: 1, wires: [['probe-res']],
        func: "const status = {}; for (const k of global.keys()) if (k.startsWith('probe_status_')) status[k.slice(13)] = global.get(k);\nmsg.payload = { envelope: global.get('probe_envelope'), battery: global.get('probe_battery'), status }; return msg;" },
      { id: 'probe-res', type: 'http response', z: 'sim-tab', wires: [] },
      // The operator's e-stop and reset, straight into safety limits.
      { id: 'probe-cmd', type: 'http in', z: 'sim-tab', url: '/probe/safety', method: 'post', wires: [['sim-safety', 'probe-ok']] },
      { id: 'probe-ok', type: 'http response', z: 'sim-tab', statusCode: '204', wires: [] },
    );
    await deploy(flow);

    // Telemetry from the simulator through the package's device nodes, and an envelope that allows power.
    const bat = await eventually(async () => (await probe()).battery, 30_000, 'battery telemetry');
    assert.equal(bat.siteId, 'site-1');
    assert.ok(typeof bat.battery?.soc === 'number');
    const normal = await envelopeAfter(0, (e) => e.mode === 'NORMAL' || e.mode === 'DERATED', 'a NORMAL envelope');
    assert.ok(normal.maxDischargeW > 0);

    // The model nodes run the package's own models: the forecast (seeded from the simulator's past)
    // and the SoH are sent, green; anomaly-score, which scores only whole days, reports no error.
    let seen: Probe['status'] = {};
    const statuses = await eventually(async () => {
      const s = (seen = (await probe()).status ?? {});
      return s['lf-forecast']?.fill === 'green' && s['soh-node']?.fill === 'green' ? s : undefined;
    }, 120_000, 'green load-forecast and soh-estimate').catch((err: unknown) => {
      throw new Error(`${String(err)}\nstatuses: ${JSON.stringify(seen)}\nNode-RED:\n${red?.output ?? ''}`);
    });
    for (const id of Object.keys(MODEL_NODES)) assert.notEqual(statuses[id]?.fill, 'red', `${id}: ${statuses[id]?.text ?? ''}`);
    for (const type of Object.values(MODEL_NODES)) assert.doesNotMatch(red.output, new RegExp(`\\[(error|warn)\\] \\[${type}`), `${type} logged a problem`);

    // E-stop: latched in <userDir>/lifo4/safety-latch/site-1.json, kept by a redeploy and a restart.
    const before = Date.now();
    assert.equal((await admin('/probe/safety', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'estop', by: 'integration' }) })).status, 204);
    const stopped = await envelopeAfter(before, (e) => e.mode === 'ESTOP', 'ESTOP');
    assert.deepEqual([stopped.maxChargeW, stopped.maxDischargeW], [0, 0]);
    const latch = JSON.parse(readFileSync(join(userDir, 'lifo4', 'safety-latch', 'site-1.json'), 'utf8')) as { latched: boolean; by: string };
    assert.deepEqual([latch.latched, latch.by], [true, 'integration']);

    const redeployed = Date.now();
    await deploy(flow);
    const afterRedeploy = await envelopeAfter(redeployed, () => true, 'an envelope after the redeploy');
    assert.equal(afterRedeploy.mode, 'ESTOP');

    await red.stop();
    red = await startNodeRed();
    const restarted = Date.now();
    const afterRestart = await envelopeAfter(restarted, () => true, 'an envelope after the restart');
    assert.equal(afterRestart.mode, 'ESTOP');
    assert.deepEqual([afterRestart.maxChargeW, afterRestart.maxDischargeW], [0, 0]);
    assert.doesNotMatch(red.output, /Context store 'persistent'|has not been configured/);

    // Only the reset releases it.
    const reset = Date.now();
    await admin('/probe/safety', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'reset', by: 'integration', role: 'OPERATOR' }) });
    await envelopeAfter(reset, (e) => e.mode !== 'ESTOP', 'the envelope after the reset');
  });
});
