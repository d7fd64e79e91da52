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
      assert.deepEqual(result.issues.map((i) => [i.rule, i.scope]), [['bypass', ['inst-bad', 'sf2-pcs']]]);
      assert.equal(issuesFor(result, 'inst-ok').length, 0);
      assert.equal(issuesFor(result, 'sf2-pcs').length, 1);
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
