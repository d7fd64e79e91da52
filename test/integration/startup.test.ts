import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ModbusRTU from 'modbus-serial';
import { TelemetrySchema } from '../../domain/contracts';
import { discoverModels, SUNS_MARKER, END_MODEL_ID } from '../../domain/sunspec/discovery';
import { Lifo4Process, eventually, freePorts, getJson, runCli, statusWithHost } from './lifo4-process';
import { bearer, edgeEditorToken, edgeToken } from './edge-sign-in';

const packageVersion = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const READY = /LiFePO4 EMS is running/;
const START_TIMEOUT_MS = 120000;

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

interface Ports {
  port: number;
  edgePort: number;
  modbusPort: number;
  controlPort: number;
  mqttPort: number;
}

function startArgs(p: Ports, dataDir: string): string[] {
  return [
    'start',
    '--port', String(p.port),
    '--edge-port', String(p.edgePort),
    '--modbus-port', String(p.modbusPort),
    '--control-port', String(p.controlPort),
    '--mqtt-port', String(p.mqttPort),
    '--data-dir', dataDir,
    '--seed', '42',
  ];
}

describe('lifo4 start (all-in-one, as a real process)', function () {
  this.timeout(START_TIMEOUT_MS + 30000);
  let dataDir: string;
  let ports: Ports;
  let lifo4: Lifo4Process;
  /** An edge TECHNICIAN's API token, and its editor token. */
  let edgeApi: string;
  let edgeEditor: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lifo4-startup-'));
    const [port, edgePort, modbusPort, controlPort, mqttPort] = await freePorts(5) as [number, number, number, number, number];
    ports = { port, edgePort, modbusPort, controlPort, mqttPort };
    lifo4 = new Lifo4Process(startArgs(ports, dataDir));
    await lifo4.waitFor(READY, START_TIMEOUT_MS);
    const edgeUrl = `http://127.0.0.1:${ports.edgePort}`;
    edgeApi = await edgeToken(edgeUrl, dataDir, 'TECHNICIAN', 'technician@startup.test');
    edgeEditor = await edgeEditorToken(edgeUrl, 'technician@startup.test');
  });

  after(async () => {
    await lifo4?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URLs of the editors, the API and the simulator', () => {
    const out = lifo4.output;
    assert.ok(out.includes(`http://127.0.0.1:${ports.port}/editor/`), out);
    assert.ok(out.includes(`http://127.0.0.1:${ports.port}/api/v1/health`), out);
    assert.ok(out.includes(`http://127.0.0.1:${ports.edgePort}/editor/`), out);
    assert.ok(out.includes(`Modbus TCP 127.0.0.1:${ports.modbusPort}`), out);
  });

  it('prints the first-start administrator password of the cloud and of the edge once each, and says how to sign in to each editor', () => {
    const out = lifo4.output;
    assert.equal(out.match(/lifo4 cloud: first start/g)?.length, 1, out);
    assert.equal(out.match(/lifo4 edge: first start/g)?.length, 1, out);
    assert.match(out, /cloud sign-in +cloud accounts/);
    assert.match(out, /edge sign-in +edge accounts .*lifo4 user add --edge/s);
  });

  it('prefixes the log lines of its children', () => {
    assert.match(lifo4.output, /^\[sim\] /m);
    assert.match(lifo4.output, /^\[edge\] /m);
    assert.match(lifo4.output, /^\[cloud\] /m);
  });

  it('answers GET /api/v1/health on the cloud with role, version and uptime', async () => {
    const { status, body } = await getJson(`http://127.0.0.1:${ports.port}/api/v1/health`);
    assert.equal(status, 200);
    const health = body as Record<string, unknown>;
    assert.equal(health.status, 'ok');
    assert.equal(health.role, 'cloud');
    assert.equal(health.version, packageVersion);
    assert.equal(typeof health.uptimeS, 'number');
    assert.match(String(health.nodeRed), /^4\./);
  });

  it('answers GET /api/v1/health on the edge with its role and site', async () => {
    const { status, body } = await getJson(`http://127.0.0.1:${ports.edgePort}/api/v1/health`);
    assert.equal(status, 200);
    assert.equal((body as Record<string, unknown>).role, 'edge');
    assert.equal((body as Record<string, unknown>).siteId, 'site-1');
  });

  it('answers unknown API paths with a JSON 404 in the API error shape, on the cloud and the edge', async () => {
    for (const port of [ports.port, ports.edgePort]) {
      const { status, body } = await getJson(`http://127.0.0.1:${port}/api/v1/no-such-thing`);
      assert.equal(status, 404);
      assert.deepEqual(body, { error: 'not_found', message: 'no route GET /api/v1/no-such-thing' });
    }
  });

  it('serves the Node-RED editor at /editor/ on the cloud and the edge', async () => {
    for (const port of [ports.port, ports.edgePort]) {
      const res = await fetch(`http://127.0.0.1:${port}/editor/`);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /<title>LiFePO4 EMS (cloud|edge)<\/title>/);
      assert.match(html, /red\/red(\.min)?\.js/);
    }
  });

  it('answers only to its own names on the cloud and the edge: another Host gets 421 (DNS rebinding)', async () => {
    for (const port of [ports.port, ports.edgePort]) {
      for (const path of ['/editor/', '/api/v1/health']) {
        assert.equal(await statusWithHost(`http://127.0.0.1:${port}${path}`, `rebind.evil.example:${port}`), 421, `${port}${path}`);
        assert.equal(await statusWithHost(`http://127.0.0.1:${port}${path}`, `localhost:${port}`), 200, `${port}${path}`);
      }
    }
    assert.equal(await statusWithHost(`http://127.0.0.1:${ports.port}/`, `rebind.evil.example:${ports.port}`), 421, 'the dashboard');
  });

  it("lists the package's nodes in the edge's palette, and not node-red-contrib-modbus", async () => {
    assert.equal((await getJson(`http://127.0.0.1:${ports.edgePort}/editor/nodes`)).status, 401, 'not without a sign-in');
    const { status, body } = await getJson(`http://127.0.0.1:${ports.edgePort}/editor/nodes`, bearer(edgeEditor));
    assert.equal(status, 200);
    const sets = body as { module: string; types: string[]; enabled: boolean; err?: string }[];
    const ours = sets.filter((s) => s.module === 'lifo4-ems');
    const types = ours.flatMap((s) => s.types);
    for (const type of ['modbus-connection', 'sunspec-device', 'profile-device', 'pcs-setpoint', 'sunspec-decode']) {
      assert.ok(types.includes(type), `palette lacks ${type}: ${JSON.stringify(ours)}`);
    }
    for (const set of ours) assert.equal(set.err, undefined, `${JSON.stringify(set)}`);
    assert.ok(!sets.some((s) => s.module === 'node-red-contrib-modbus'), 'node-red-contrib-modbus must not load');
  });

  it('runs a simulator that answers SunSpec discovery over Modbus TCP on every unit', async () => {
    const client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port: ports.modbusPort });
    client.setTimeout(3000);
    try {
      const read = async (address: number, count: number) => (await client.readHoldingRegisters(address, count)).data;
      const found: Record<number, number[]> = {};
      for (const unit of [1, 2, 3]) {
        client.setID(unit);
        assert.deepEqual(await read(40000, 2), [...SUNS_MARKER]);
        const { models } = await discoverModels(read, 40000);
        found[unit] = models.map((m) => m.id);
        const last = models[models.length - 1];
        assert.ok(last);
        assert.deepEqual(await read(last.address + 2 + last.length, 1), [END_MODEL_ID]);
      }
      assert.ok(found[1]?.includes(802), `battery models: ${found[1]}`);
      assert.ok(found[2]?.includes(704), `PCS models: ${found[2]}`);
      assert.ok(found[3]?.includes(203), `meter models: ${found[3]}`);
    } finally {
      await new Promise<void>((resolve) => client.close(() => resolve()));
    }
  });

  it("polls the simulator from the edge's default flow: /nodes/telemetry/latest holds battery, PCS and meter", async () => {
    const telemetry = await eventually(async () => {
      const { status, body } = await getJson(`http://127.0.0.1:${ports.edgePort}/nodes/telemetry/latest`, bearer(edgeApi));
      if (status !== 200) return undefined;
      const parsed = TelemetrySchema.parse(body);
      return parsed.battery && parsed.pcs && parsed.meter ? parsed : undefined;
    }, 30000, 'joined telemetry from the edge');
    assert.equal(telemetry.siteId, 'site-1');
    assert.ok(telemetry.battery && telemetry.battery.soc >= 0 && telemetry.battery.soc <= 100);
    assert.ok(telemetry.battery.cellVoltages.every((v) => v > 2 && v < 4), 'LFP cell voltages');
  });

  it('stores the generated secrets in <data-dir>/secrets.json, readable by the owner only', () => {
    const file = join(dataDir, 'secrets.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const secrets = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    assert.ok((secrets.credentialSecret ?? '').length >= 32);
  });

  it('keeps the cloud and the edge in separate Node-RED user directories', () => {
    assert.ok(statSync(join(dataDir, 'cloud', 'flows.json')).isFile());
    // The edge runs its factory release under the OTA agent, from a copy of that release's flows.
    const state = JSON.parse(readFileSync(join(dataDir, 'edge-agent', 'state.json'), 'utf8')) as { committed: { version: string } | null };
    assert.ok(state.committed, 'the agent committed the factory release');
    assert.ok(statSync(join(dataDir, 'edge', `release-${state.committed.version}.json`)).isFile());
  });

  it('restarts a child that dies unexpectedly, on the same port', async () => {
    const pid = Number(/\[start\] cloud started \(pid (\d+)\)/.exec(lifo4.output)?.[1]);
    assert.ok(pid > 0, lifo4.output);
    process.kill(pid, 'SIGKILL');
    await lifo4.waitFor(/\[start\] cloud is back/, 60000);
    const { status, body } = await getJson(`http://127.0.0.1:${ports.port}/api/v1/health`);
    assert.equal(status, 200);
    assert.equal((body as Record<string, unknown>).role, 'cloud');
  });

  it('stops everything on SIGTERM, closing every port', async () => {
    const { exit, inTime } = await lifo4.stop('SIGTERM', 10000);
    assert.ok(inTime, `still running 10 s after SIGTERM:\n${lifo4.output}`);
    assert.equal(exit.code, 0, lifo4.output);
    for (const port of [ports.port, ports.edgePort, ports.modbusPort, ports.controlPort]) {
      assert.ok(await portRefuses(port), `port ${port} still open after stop`);
    }
  });

  it('reuses the secrets on a second start with the same data directory, and stops on SIGINT', async () => {
    const before = readFileSync(join(dataDir, 'secrets.json'), 'utf8');
    const [port, edgePort, modbusPort, controlPort, mqttPort] = await freePorts(5) as [number, number, number, number, number];
    const second = new Lifo4Process(startArgs({ port, edgePort, modbusPort, controlPort, mqttPort }, dataDir));
    try {
      await second.waitFor(READY, START_TIMEOUT_MS);
      assert.equal(readFileSync(join(dataDir, 'secrets.json'), 'utf8'), before);
      // The flows deployed on the first start are read back with the same credential secret.
      assert.doesNotMatch(second.output, /Error loading credentials|credentials could not be decrypted/i);
      const { exit, inTime } = await second.stop('SIGINT', 10000);
      assert.ok(inTime, second.output);
      assert.equal(exit.code, 0, second.output);
    } finally {
      await second.stop('SIGKILL');
    }
  });
});

describe('lifo4 command line', function () {
  this.timeout(60000);

  it('stops with exit code 2 and names the flag when a value is bad (--port abc)', () => {
    const { code, stderr } = runCli(['start', '--port', 'abc', '--data-dir', join(tmpdir(), 'lifo4-never-created')]);
    assert.equal(code, 2);
    assert.match(stderr, /--port: expected a port number 0-65535 \(0 = any free port\), got 'abc'/);
  });

  it('names the environment variable when its value is bad', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifo4-cli-'));
    try {
      const result = runCli(['edge', '--data-dir', dir], { LIFO4_EDGE_PORT: 'x' });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /LIFO4_EDGE_PORT: expected a port number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with exit code 2 naming the flag when the port is taken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifo4-cli-'));
    // Every other port the cloud binds is free and its own: only the blocked one may fail it.
    const [port, mqttPort] = (await freePorts(2)) as [number, number];
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const cloud = new Lifo4Process(['cloud', '--port', String(port), '--mqtt-port', String(mqttPort), '--data-dir', dir]);
      const exit = await cloud.exited;
      assert.equal(exit.code, 2, cloud.output);
      assert.match(cloud.output, new RegExp(`--port: port ${port} on 127.0.0.1 is already in use`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with exit code 2 naming --flows when the edge flow file cannot be read, starting nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifo4-cli-'));
    const [port, edgePort, modbusPort, controlPort, mqttPort] = (await freePorts(5)) as [number, number, number, number, number];
    const missing = join(dir, 'no-such-flow.json');
    const lifo4 = new Lifo4Process([...startArgs({ port, edgePort, modbusPort, controlPort, mqttPort }, dir), '--flows', missing]);
    try {
      const exit = await Promise.race([lifo4.exited, new Promise<undefined>((resolve) => setTimeout(resolve, 45000, undefined))]);
      assert.ok(exit, `still running:\n${lifo4.output}`);
      assert.equal(exit.code, 2, lifo4.output);
      assert.ok(lifo4.output.includes(`--flows: cannot read flow file '${missing}'`), lifo4.output);
      assert.doesNotMatch(lifo4.output, /restarting/);
      for (const p of [modbusPort, controlPort, port]) assert.ok(await portRefuses(p), `port ${p} still open`);
    } finally {
      await lifo4.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const command of ['start', 'sim', 'edge', 'cloud']) {
    it(`explains \`lifo4 ${command} --help\` with its flags and their LIFO4_* variables`, () => {
      const { code, stdout } = runCli([command, '--help']);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`Usage: lifo4 ${command}`));
      assert.match(stdout, /--data-dir <DIR>.*LIFO4_DATA_DIR/s);
      assert.match(stdout, /--config <FILE>/);
    });
  }

  it('has the flags of the issue on `lifo4 start`', () => {
    const { stdout } = runCli(['start', '--help']);
    for (const flag of ['--port', '--edge-port', '--modbus-port', '--control-port', '--mqtt-port', '--data-dir', '--host', '--speed', '--site', '--site-id', '--flows']) {
      assert.match(stdout, new RegExp(`${flag} <`), flag);
    }
  });
});
