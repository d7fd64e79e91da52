// The flow safety check on flow fixtures (test/domain/flow-lint/fixtures, generated in the editor's
// export format with x and y, so each imports into the editor as it is).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlow } from '../../../domain/flow-lint/flow-schema';
import type { FlowNode } from '../../../domain/flow-lint/graph';
import { issuesFor, lintFlow, type LintRule } from '../../../domain/flow-lint/lint';
import { NODE_ROLES } from '../../../domain/flow-lint/roles';
import { formatReports, lintFiles } from '../../../runtime/cli/lint-command';
import { packageRoot } from '../../../io/package-root';

// Compiled to dist/test/domain/flow-lint: the fixtures and flows stay in the source tree.
const root = packageRoot;
const fixture = (name: string): FlowNode[] => {
  const parsed = parseFlow(JSON.parse(readFileSync(join(root, 'test', 'domain', 'flow-lint', 'fixtures', `${name}.json`), 'utf8')));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.flow;
};
const rules = (name: string): LintRule[] => lintFlow(fixture(name)).issues.map((i) => i.rule);

describe('flow safety check', () => {
  it('accepts devices -> safety-limits -> arbiter -> PCS write with a strategy into the arbiter, also inside a group', () => {
    assert.deepEqual(lintFlow(fixture('guarded')).issues, []);
  });

  it('gives every fixture node the x and y the editor needs to import it', () => {
    for (const name of ['guarded', 'direct-inject', 'link-out-in', 'link-call', 'junction', 'subflow', 'pcs-in-subflow']) {
      for (const n of fixture(name)) {
        if (typeof n.z === 'string' && n.type !== 'group') assert.ok(typeof n.x === 'number' && typeof n.y === 'number', `${name}: ${n.id}`);
      }
    }
  });

  describe('bypass: a path to a PCS write without the arbiter is an error on the PCS node', () => {
    it('an inject wired straight to the PCS write', () => {
      const result = lintFlow(fixture('direct-inject'));
      assert.equal(result.errors, 1);
      const [issue] = issuesFor(result, 'pcs');
      assert.equal(issue?.rule, 'bypass');
      assert.deepEqual(issue?.path, ['"manual" (inject)', '"pcs" (pcs-setpoint)']);
    });
    it('a strategy through a link out on another tab into a link in', () => {
      const [issue] = lintFlow(fixture('link-out-in')).issues;
      assert.equal(issue?.rule, 'bypass');
      assert.deepEqual(issue?.path, ['"rogue" (peak-shaving)', '"lo" (link out)', '"li" (link in)', '"pcs" (pcs-setpoint)']);
    });
    it('a strategy through a link call whose return link out comes back to the call', () => {
      const [issue] = lintFlow(fixture('link-call')).issues;
      assert.equal(issue?.rule, 'bypass');
      assert.match(issue?.message ?? '', /"call" \(link call\) -> "li" \(link in\) -> "scale" \(function\) -> "ret" \(link out\) -> "pcs"/);
    });
    it('a strategy through two junctions', () => {
      assert.deepEqual(rules('junction'), ['bypass']);
    });
    it('a strategy through a subflow instance and the function inside it', () => {
      const [issue] = lintFlow(fixture('subflow')).issues;
      assert.equal(issue?.rule, 'bypass');
      assert.match(issue?.message ?? '', /"inst" \(subflow:sf\) -> "sf-fn" \(function\) -> "pcs"/);
    });
    it('a PCS write inside a subflow: only the instance fed around the arbiter, found by instance and by definition id', () => {
      const result = lintFlow(fixture('pcs-in-subflow'));
      // Both instances also write the one PCS of the subflow's connection: two writers besides.
      const bypasses = { ...result, issues: result.issues.filter((i) => i.rule === 'bypass') };
      assert.deepEqual(bypasses.issues.map((i) => [i.rule, i.scope]), [['bypass', ['inst-bad', 'sf2-pcs']]]);
      assert.equal(issuesFor(bypasses, 'inst-ok').length, 0);
      assert.equal(issuesFor(bypasses, 'sf2-pcs').length, 1);
      assert.deepEqual(result.issues.filter((i) => i.rule === 'two-writers').map((i) => i.scope), [['inst-ok', 'sf2-pcs'], ['inst-bad', 'sf2-pcs']]);
    });
    it('a disabled inject wired to the PCS write carries nothing and is no bypass', () => {
      assert.deepEqual(rules('disabled-bypass-node'), []);
    });
    it('a bypass on a disabled tab is not live', () => {
      assert.deepEqual(rules('disabled-tab'), []);
    });
  });

  it('two arbiters driving one PCS write are an error', () => {
    assert.deepEqual(rules('two-arbiters'), ['two-arbiters']);
  });

  describe('two-writers: two PCS writes on one device, e.g. an imported example beside the default tab', () => {
    const both = (): FlowNode[] => [...fixture('guarded'), ...fixture('second-writer')];
    const simulator = { EMS_MODBUS_HOST: 'localhost', EMS_MODBUS_PORT: '5020' };

    it('is an error on each of them, naming the other and its tab', () => {
      const result = lintFlow(both(), NODE_ROLES, { env: simulator });
      assert.deepEqual(result.issues.map((i) => [i.rule, i.scope]), [['two-writers', ['pcs']], ['two-writers', ['pcs2']]]);
      assert.match(issuesFor(result, 'pcs')[0]?.message ?? '', /"pcs" \(pcs-setpoint\) on tab "t1" writes unit 2 at 127\.0\.0\.1:5020, as does "pcs 2" \(pcs-setpoint\) on tab "imported example"/);
    });

    it('is no error when the second writer addresses another port or unit, or its tab is disabled', () => {
      assert.deepEqual(lintFlow(both(), NODE_ROLES, { env: { ...simulator, EMS_MODBUS_PORT: '5030' } }).issues, []);
      const otherUnit = both().map((n) => (n.id === 'pcs2' ? { ...n, unitId: 3 } : n));
      assert.deepEqual(lintFlow(otherUnit, NODE_ROLES, { env: simulator }).issues, []);
      const disabled = both().map((n) => (n.id === 't2' ? { ...n, disabled: true } : n));
      assert.deepEqual(lintFlow(disabled, NODE_ROLES, { env: simulator }).issues, []);
    });

    it('compares addresses as written when the environment is unknown', () => {
      assert.deepEqual(lintFlow(both()).issues, []);
      const literal = both().map((n) => (n.id === 'conn2' ? { ...n, host: '127.0.0.1', port: 5020 } : n));
      assert.deepEqual(lintFlow(literal).issues.map((i) => i.rule), ['two-writers', 'two-writers']);
    });
  });

  it('an arbiter fed by no safety-limits envelope is an error on the PCS write it drives', () => {
    assert.deepEqual(rules('no-safety'), ['no-safety']);
  });

  it('a PCS write without a heartbeat shorter than its revert timeout is an error', () => {
    assert.deepEqual(rules('no-heartbeat'), ['no-heartbeat']);
    const problem = NODE_ROLES['pcs-setpoint']?.heartbeatProblem;
    assert.equal(problem?.({ heartbeat: 1000, revertTimeout: 5 }), null);
    assert.match(problem?.({ heartbeat: 5000, revertTimeout: 5 }) ?? '', /not shorter than the revert timeout/);
    assert.match(problem?.({ heartbeat: 1000 }) ?? '', /no revert timeout/);
  });

  it('a disabled arbiter between live nodes is an error on the arbiter', () => {
    const result = lintFlow(fixture('disabled-arbiter'));
    assert.deepEqual(result.issues.map((i) => [i.rule, i.scope]), [['disabled-gate', ['arbiter']]]);
  });

  it('a device wired to nothing is a warning, not an error', () => {
    const result = lintFlow(fixture('device-unwired'));
    assert.deepEqual(result.issues.map((i) => [i.rule, i.severity, i.scope]), [['device-unwired', 'warning', ['meter']]]);
    assert.equal(result.errors, 0);
  });

  it('refuses what is not a flow with a message', () => {
    const parsed = parseFlow({ id: 'x' });
    assert.equal(parsed.ok, false);
    assert.equal(parseFlow([{ id: 'a' }]).ok, false);
  });

  describe('lifo4 lint', () => {
    it('finds flows/ and examples/ clean: the edge flow wires every strategy through the arbiter', () => {
      const reports = lintFiles([join(root, 'flows'), join(root, 'examples')]);
      assert.ok(reports.some((r) => r.file.endsWith('edge.json')));
      const { text, failed } = formatReports(reports);
      assert.equal(failed, false, text);
    });
    it('prints the bypass and exits 1 on a flow with errors, 0 on warnings only', () => {
      const cli = join(root, 'dist', 'runtime', 'cli', 'main.js');
      const bad = spawnSync(process.execPath, [cli, 'lint', join(root, 'test', 'domain', 'flow-lint', 'fixtures', 'link-out-in.json')], { encoding: 'utf8' });
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stdout, /error \[bypass\] pcs: "rogue" \(peak-shaving\) reaches PCS write/);
      const warn = spawnSync(process.execPath, [cli, 'lint', join(root, 'test', 'domain', 'flow-lint', 'fixtures', 'device-unwired.json')], { encoding: 'utf8' });
      assert.equal(warn.status, 0, warn.stderr);
      assert.match(warn.stdout, /1 warning/);
    });
  });
});
