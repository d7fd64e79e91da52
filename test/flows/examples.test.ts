// examples/: one importable flow for every node type package.json registers. Each example parses as
// a flow, passes the flow safety check, and loads in Node-RED (the test helper) with all our node
// modules and the core or node-red-contrib-modbus nodes it uses. Nothing runs against a device here:
// a node may report that the simulator or the broker is absent, but loading must not throw.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import helper, { type TestFlowNode } from 'node-red-node-test-helper';
import { parseFlow } from '../../domain/flow-lint/flow-schema';
import { lintFlow } from '../../domain/flow-lint/lint';
import { packageRoot } from '../../io/package-root';

const requireJs = createRequire(__filename);
type NodeModule = (red: NodeAPI) => void;

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
const registered = pkg['node-red'].nodes;
const ourModules = Object.values(registered).map((file) => requireJs(join(packageRoot, file)) as NodeModule);

/** Node types of Node-RED's core and of node-red-contrib-modbus the examples use, and their modules. */
const CORE = '@node-red/nodes/core';
const OTHER_TYPES: Record<string, string> = {
  inject: `${CORE}/common/20-inject.js`,
  debug: `${CORE}/common/21-debug.js`,
  comment: `${CORE}/common/90-comment.js`,
  'link in': `${CORE}/common/60-link.js`,
  'link out': `${CORE}/common/60-link.js`,
  'link call': `${CORE}/common/60-link.js`,
  junction: `${CORE}/common/05-junction.js`,
  function: `${CORE}/function/10-function.js`,
  switch: `${CORE}/function/10-switch.js`,
  change: `${CORE}/function/15-change.js`,
  'http request': `${CORE}/network/21-httprequest.js`,
  'modbus-client': 'node-red-contrib-modbus/modbus/modbus-client.js',
  'modbus-read': 'node-red-contrib-modbus/modbus/modbus-read.js',
  'modbus-getter': 'node-red-contrib-modbus/modbus/modbus-getter.js',
};

const examplesDir = join(packageRoot, 'examples');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.json')).sort();
const flowOf = (file: string): TestFlowNode[] => {
  const parsed = parseFlow(JSON.parse(readFileSync(join(examplesDir, file), 'utf8')));
  assert.ok(parsed.ok, `${file}: ${parsed.ok ? '' : parsed.error}`);
  return parsed.flow as TestFlowNode[];
};

describe('examples/', function () {
  this.timeout(60_000);
  let userDir: string;

  before(() => {
    userDir = mkdtempSync(join(tmpdir(), 'lifo4-examples-'));
    // Buffers and stores the examples open (telemetry out, command in, time series) go here.
    helper.init(require.resolve('node-red'), { userDir });
  });
  after(() => {
    helper.init(require.resolve('node-red')); // as the other test files expect it
    rmSync(userDir, { recursive: true, force: true });
  });

  it('has an example for every node type package.json registers', () => {
    const used = new Set(examples.flatMap((f) => flowOf(f).map((n) => n.type)));
    const missing = Object.keys(registered).filter((t) => !used.has(t));
    assert.deepEqual(missing, [], `node types without an example: ${missing.join(', ')}`);
  });

  for (const file of examples) {
    describe(file, () => {
      afterEach(async () => { await helper.unload(); });

      it('is a flow the safety check passes, with positions and an explaining comment', () => {
        const flow = flowOf(file);
        const result = lintFlow(flow);
        assert.equal(result.errors, 0, result.issues.map((i) => `${i.rule}: ${i.message}`).join('\n'));
        for (const n of flow) {
          if (typeof n.z === 'string' && n.z !== '') assert.ok(typeof n.x === 'number' && typeof n.y === 'number', `${n.id} has no x and y`);
        }
        assert.ok(flow.some((n) => n.type === 'comment' || (n.type === 'tab' && typeof n.info === 'string' && n.info !== '')), 'no comment or tab info');
      });

      it('holds no secrets: credentials only as ${NAME} references the runtime fills in', () => {
        const text = readFileSync(join(examplesDir, file), 'utf8');
        for (const n of flowOf(file)) {
          for (const [k, v] of Object.entries((n.credentials ?? {}) as Record<string, unknown>)) assert.match(String(v), /^\$\{[A-Z_]+\}$/, `${n.id}.credentials.${k}`);
        }
        assert.doesNotMatch(text, /"(password|key|keys|token|secret)"\s*:\s*"[^"$]/i);
      });

      it('reaches the simulator through the address the edge polls, never a fixed port', () => {
        assert.doesNotMatch(readFileSync(join(examplesDir, file), 'utf8'), /"(port|tcpPort)"\s*:\s*"?5020|mqtt:\/\/127\.0\.0\.1:1883/);
      });

      it('loads in Node-RED with our nodes', async () => {
        const flow = flowOf(file);
        const others = [...new Set(flow.map((n) => n.type).filter((t) => t !== 'tab' && !(t in registered)))];
        const unknown = others.filter((t) => !(t in OTHER_TYPES));
        assert.deepEqual(unknown, [], `add the module of these types to OTHER_TYPES: ${unknown.join(', ')}`);
        const otherModules = [...new Set(others.map((t) => OTHER_TYPES[t] as string))].map((m) => requireJs(m) as NodeModule);
        await helper.load([...ourModules, ...otherModules], flow);
        for (const n of flow) {
          if (n.type === 'tab') continue;
          assert.ok(helper.getNode(n.id), `${n.id} (${n.type}) did not start`);
        }
      });
    });
  }
});
