import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressCloudFlow, addressEdgeFlow, defaultFlowPath, FLOW_ENV, prepareFlowFile } from '../../../runtime/app/flow-files';
import { SettingsError, loadSettings } from '../../../settings';

type FlowNode = { id: string; type: string; [key: string]: unknown };
const readFlow = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as FlowNode[];

describe('default flows', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifo4-flows-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('edge.json polls the battery (unit 1), the PCS (unit 2) and the meter (unit 3) through one modbus-connection', () => {
    const flow = readFlow(defaultFlowPath('edge'));
    const connections = flow.filter((n) => n.type === 'modbus-connection');
    assert.equal(connections.length, 1);
    const devices = flow.filter((n) => n.type === 'sunspec-device');
    assert.deepEqual(devices.map((d) => [d.unitId, d.kind]), [[1, 'battery'], [2, 'pcs'], [3, 'meter']]);
    for (const d of devices) assert.equal(d.connection, connections[0]?.id);
  });

  it('edge.json wires every node to nodes that exist, and ids are unique', () => {
    for (const role of ['edge', 'cloud'] as const) {
      const flow = readFlow(defaultFlowPath(role));
      const ids = new Set(flow.map((n) => n.id));
      assert.equal(ids.size, flow.length, `${role}: duplicate ids`);
      for (const node of flow) {
        if (node.z !== undefined) assert.ok(ids.has(String(node.z)), `${node.id} on a missing tab`);
        for (const target of ((node.wires as string[][] | undefined) ?? []).flat()) assert.ok(ids.has(target), `${node.id} -> ${target}`);
      }
    }
  });

  it('edge.json serves the joined telemetry at GET /telemetry/latest and the last decision at GET /control/latest (under /nodes)', () => {
    const endpoints = readFlow(defaultFlowPath('edge')).filter((n) => n.type === 'http in').map((n) => `${String(n.method)} ${String(n.url)}`);
    assert.deepEqual(endpoints.sort(), ['get /control/latest', 'get /plan/latest', 'get /telemetry/latest', 'post /command']);
  });

  it('edge.json runs the closed loop: battery -> safety limits -> arbiter -> PCS setpoint, operator commands into the arbiter', () => {
    const flow = readFlow(defaultFlowPath('edge'));
    const byId = new Map(flow.map((n) => [n.id, n]));
    const wiredTo = (id: string): string[] => ((byId.get(id)?.wires as string[][] | undefined) ?? []).flat().map((w) => String(byId.get(w)?.type));
    const ofType = (type: string) => flow.filter((n) => n.type === type);
    const battery = ofType('sunspec-device').find((n) => n.unitId === 1);
    assert.ok(battery && wiredTo(battery.id).includes('safety-limits'));
    assert.ok(wiredTo(ofType('safety-limits')[0]?.id ?? '').includes('arbiter'));
    assert.ok(wiredTo(ofType('arbiter')[0]?.id ?? '').includes('pcs-setpoint'));
    assert.ok(wiredTo(ofType('operator-command')[0]?.id ?? '').includes('arbiter'));
    assert.ok(wiredTo(ofType('link in')[0]?.id ?? '').includes('arbiter'), 'strategies plug in through a link');
  });

  it('edge.json runs black start, peak shaving (off until switched on) and arbitrage into the arbiter, fed by the devices', () => {
    const flow = readFlow(defaultFlowPath('edge'));
    const byId = new Map(flow.map((n) => [n.id, n]));
    const outputs = (n: Record<string, unknown>): string[][] => ((n.wires as string[][] | undefined) ?? []).map((ws) => ws.map((w) => String(byId.get(w)?.type)));
    const one = (type: string) => {
      const found = flow.filter((n) => n.type === type);
      assert.equal(found.length, 1, type);
      return found[0]!;
    };
    for (const type of ['black-start', 'peak-shaving', 'arbitrage']) {
      assert.ok(outputs(one(type))[0]?.includes('arbiter'), `${type} output 1 goes to the arbiter`);
      for (const device of flow.filter((n) => n.type === 'sunspec-device')) assert.ok(outputs(device)[0]?.includes(type), `${String(device.name)} feeds ${type}`);
    }
    assert.equal(one('peak-shaving').enabled, false);
    assert.equal(one('arbitrage').enabled, true);
    assert.ok(outputs(one('price-feed'))[0]?.includes('arbitrage'));
    assert.ok(outputs(one('safety-limits'))[0]?.includes('black-start'), 'black start sees the envelope');
    const switches = flow.filter((n) => n.type === 'inject' && outputs(n)[0]?.includes('peak-shaving')).map((n) => String(n.payload));
    assert.deepEqual(switches.sort(), ['{"enabled":false}', '{"enabled":true}']);
  });

  it('edge.json runs the load forecast, SoH estimate and anomaly score on the device telemetry, models named by ${EMS_*} references', () => {
    const flow = readFlow(defaultFlowPath('edge'));
    const byId = new Map(flow.map((n) => [n.id, n]));
    const outputs = (n: Record<string, unknown> | undefined): string[][] => ((n?.wires as string[][] | undefined) ?? []).map((ws) => ws.map((w) => String(byId.get(w)?.type)));
    const one = (type: string) => {
      const found = flow.filter((n) => n.type === type);
      assert.equal(found.length, 1, type);
      return found[0]!;
    };
    const ref = (name: string) => `\${${name}}`;
    assert.equal(one('load-forecast').model, ref(FLOW_ENV.forecastModel));
    assert.equal(one('load-forecast').historyUrl, ref(FLOW_ENV.loadHistoryUrl));
    assert.equal(one('soh-estimate').model, ref(FLOW_ENV.ageingModel));
    assert.equal(one('anomaly-score').model, ref(FLOW_ENV.anomalyModel));
    const fed = (type: string) => flow.filter((n) => n.type === 'sunspec-device' && outputs(n)[0]?.includes(type)).map((n) => String(n.kind)).sort();
    assert.deepEqual(fed('load-forecast'), ['meter', 'pcs'], 'net load = grid meter + PCS');
    assert.deepEqual(fed('soh-estimate'), ['battery']);
    assert.deepEqual(fed('anomaly-score'), ['battery']);
    for (const target of ['arbitrage', 'peak-shaving', 'telemetry-out']) assert.ok(outputs(one('load-forecast'))[0]?.includes(target), `the forecast reaches ${target}`);
    assert.ok(outputs(one('soh-estimate'))[0]?.includes('telemetry-out'));
    const anomaly = outputs(one('anomaly-score'));
    assert.ok(anomaly[0]?.includes('telemetry-out'), 'scores ride in the records');
    assert.ok(anomaly[1]?.includes('telemetry-out'), 'its alarms go where the envelope and buffer alarms go: into the records');
  });

  it('are addressed to the configured Modbus host, port, site id and control cycle', () => {
    const flow = addressEdgeFlow(readFlow(defaultFlowPath('edge')), { modbusHost: '10.0.0.7', modbusPort: 15020, siteId: 'barn', cycleMs: 250 });
    for (const d of flow.filter((n) => n.type === 'sunspec-device')) assert.equal(d.interval, 250);
    assert.equal(flow.find((n) => n.type === 'safety-limits')?.cycleMs, 250);
    assert.equal(flow.find((n) => n.type === 'pcs-setpoint')?.heartbeat, 250);
    const connection = flow.find((n) => n.type === 'modbus-connection');
    assert.equal(connection?.host, '10.0.0.7');
    assert.equal(connection?.port, 15020);
    const serving = flow.filter((n) => 'siteId' in n);
    assert.deepEqual([...new Set(serving.map((n) => n.type))].sort(), ['anomaly-score', 'arbitrage', 'black-start', 'command-in', 'load-forecast', 'mqtt-link', 'peak-shaving', 'safety-limits', 'site-settings', 'site-status', 'site-telemetry', 'soh-estimate', 'sunspec-device', 'telemetry-out']);
    for (const d of serving) assert.equal(d.siteId, 'barn');
  });

  it('cloud.json stores what telemetry-in admits, acks what the store committed, and joins the API through the fleet hub', () => {
    const flow = readFlow(defaultFlowPath('cloud'));
    const byId = new Map(flow.map((n) => [n.id, n]));
    const outputs = (n: Record<string, unknown> | undefined): string[][] => ((n?.wires as string[][] | undefined) ?? []).map((ws) => ws.map((w) => String(byId.get(w)?.type)));
    const one = (type: string) => flow.find((n) => n.type === type);
    const ingest = outputs(one('telemetry-in'));
    assert.ok(ingest[0]?.includes('timeseries-out') && ingest[0].includes('fleet-hub'), 'records to the store and the hub');
    assert.ok(ingest[1]?.includes('fleet-hub') && ingest[2]?.includes('fleet-hub'), 'alarms and site states to the hub');
    assert.deepEqual(outputs(one('timeseries-out'))[0], ['telemetry-in'], 'commits go back to telemetry-in, which acks them');
    assert.deepEqual(outputs(one('fleet-hub'))[0], ['command-out']);
    assert.ok(outputs(one('command-out'))[0]?.includes('fleet-hub'), 'acks return to the hub');
    const addressed = addressCloudFlow(flow, { shareGroup: 'ingest' });
    assert.equal(addressed.find((n) => n.type === 'telemetry-in')?.group, 'ingest');
    assert.equal(addressed.find((n) => n.type === 'timeseries-out')?.backend, 'runtime', "the flow writes to the store the runtime opened, which the API reads");
  });

  it('keep no secret: broker address and credentials are ${EMS_*} references the runtime fills', () => {
    for (const role of ['edge', 'cloud'] as const) {
      const settings = loadSettings(role, { flags: { dataDir: join(dir, role) }, env: {}, cwd: dir });
      const userDir = join(dir, role);
      mkdirSync(userDir, { recursive: true });
      prepareFlowFile(settings, userDir);
      const creds = JSON.parse(readFileSync(join(userDir, 'flows_cred.json'), 'utf8')) as Record<string, Record<string, string>>;
      const values = Object.values(creds).flatMap((c) => Object.values(c));
      assert.ok(values.length >= 2, `${role} has credentials`);
      const refs = new Set(Object.values(FLOW_ENV).map((name) => `\${${name}}`));
      for (const v of values) assert.ok(refs.has(v), `${role}: ${v} is a reference`);
      const link = readFlow(join(userDir, 'flows.json')).find((n) => n.type === 'mqtt-link');
      assert.equal(link?.url, `\${${FLOW_ENV.mqttUrl}}`);
    }
  });

  it('are copied into the user directory on the first start only; later the flow belongs to the user', () => {
    const settings = loadSettings('edge', { flags: { dataDir: dir, modbusPort: '6020' }, env: {}, cwd: dir });
    const file = prepareFlowFile(settings, dir);
    assert.equal(file, join(dir, 'flows.json'));
    assert.equal(readFlow(file).find((n) => n.type === 'modbus-connection')?.port, 6020);
    writeFileSync(file, '[]');
    prepareFlowFile(settings, dir);
    assert.equal(readFileSync(file, 'utf8'), '[]');
  });

  it('give way to --flows FILE, which must hold a flow', () => {
    const own = join(dir, 'mine.json');
    writeFileSync(own, JSON.stringify([{ id: 't', type: 'tab' }]));
    const settings = loadSettings('edge', { flags: { dataDir: dir, flowsFile: own }, env: {}, cwd: dir });
    assert.equal(prepareFlowFile(settings, dir, ''), own);
    writeFileSync(own, '{"not": "a flow"}');
    assert.throws(() => prepareFlowFile(settings, dir, ''), (err: unknown) => err instanceof SettingsError && err.source === '--flows');
  });

  it("run an OTA release's flows from a copy in the user directory, addressed to the site, with credential references", () => {
    const release = join(dir, 'releases', '1.2.0');
    mkdirSync(release, { recursive: true });
    // What the edge editor exports: another site's addresses, no credentials.
    const exported = addressEdgeFlow(readFlow(defaultFlowPath('edge')), { modbusHost: '10.0.0.9', modbusPort: 502, siteId: 'site-9', cycleMs: 1000 });
    writeFileSync(join(release, 'flows.json'), JSON.stringify(exported));
    const settings = loadSettings('edge', { flags: { dataDir: dir, flowsFile: join(release, 'flows.json'), siteId: 'site-2', modbusPort: '6020' }, env: {}, cwd: dir });
    const file = prepareFlowFile(settings, dir, '1.2.0');
    assert.equal(file, join(dir, 'release-1.2.0.json'));
    const flow = readFlow(file);
    assert.equal(flow.find((n) => n.type === 'modbus-connection')?.port, 6020);
    assert.ok(flow.filter((n) => 'siteId' in n).every((n) => n.siteId === 'site-2'), 'every node serves this site');
    const creds = JSON.parse(readFileSync(join(dir, 'release-1.2.0_cred.json'), 'utf8')) as Record<string, Record<string, string>>;
    assert.ok(Object.values(creds).some((c) => c.password === `\${${FLOW_ENV.mqttPassword}}`), 'the broker password is a reference');
    // A deploy from the editor saves into the copy; the release's own file stays as signed.
    writeFileSync(file, '[]');
    assert.equal(prepareFlowFile(settings, dir, '1.2.0'), file);
    assert.equal(readFileSync(file, 'utf8'), '[]');
    assert.deepEqual(JSON.parse(readFileSync(join(release, 'flows.json'), 'utf8')), exported);
    assert.throws(() => prepareFlowFile(settings, dir, '../x'), (err: unknown) => err instanceof SettingsError && err.source === 'LIFO4_RELEASE');
  });
});
