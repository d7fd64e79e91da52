// The flow safety check on a PCS written through a device profile: the device's own timer must
// exist and outlast the heartbeat, and the profile must parse and be able to command.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlow } from '../../../domain/flow-lint/flow-schema';
import { lintFlow } from '../../../domain/flow-lint/lint';
import { packageRoot } from '../../../io/package-root';
import { profileLibrary } from '../../../io/profile-library';

const library = (id: string): string => profileLibrary().find((p) => p.id === id)!.text;
const guarded = JSON.parse(readFileSync(join(packageRoot, 'test', 'domain', 'flow-lint', 'fixtures', 'guarded.json'), 'utf8')) as Record<string, unknown>[];

function lintWithPcs(extra: Record<string, unknown>): string[] {
  const flow = guarded.map((n) => (n.type === 'pcs-setpoint' ? { ...n, ...extra } : n));
  const parsed = parseFlow(flow);
  if (!parsed.ok) throw new Error(parsed.error);
  return lintFlow(parsed.flow).issues.filter((i) => i.rule === 'no-heartbeat').map((i) => i.message);
}

describe('flow safety check: PCS writes through a device profile', () => {
  it('accepts a Victron GX profile with a heartbeat inside its timer', () => {
    assert.deepEqual(lintWithPcs({ profile: library('victron-gx-pcs'), heartbeat: 1000, revertTimeout: 5 }), []);
  });

  it('refuses a heartbeat longer than the profile asks for, naming both', () => {
    const [msg] = lintWithPcs({ profile: library('victron-gx-pcs'), heartbeat: 6000, revertTimeout: 30 });
    assert.match(msg ?? '', /heartbeat 6000 ms is longer than the 5 s the device profile asks for/);
  });

  it('refuses a device whose profile declares no timeout (Sungrow forced mode)', () => {
    const [msg] = lintWithPcs({ profile: library('sungrow-sh-pcs'), heartbeat: 1000, revertTimeout: 5 });
    assert.match(msg ?? '', /declares no timeout/);
  });

  it('refuses a profile that is not JSON, cannot command, or has a timeout of no known kind', () => {
    assert.match(lintWithPcs({ profile: '{"name":', heartbeat: 1000, revertTimeout: 5 })[0] ?? '', /device profile that is not JSON/);
    assert.match(lintWithPcs({ profile: library('deye-sg04lp3-pcs'), heartbeat: 1000, revertTimeout: 5 })[0] ?? '', /has no control section/);
    const odd = JSON.parse(library('victron-gx-pcs')) as { control: { timeout: unknown } };
    odd.control.timeout = { kind: 'sometimes' };
    assert.match(lintWithPcs({ profile: JSON.stringify(odd), heartbeat: 1000, revertTimeout: 5 })[0] ?? '', /control\.timeout of no known kind/);
  });
});
