// The realtime server delivers every event of the channel's contract (domain/realtime.ts), the
// events the dashboard subscribes to (dashboard/tests/realtime/channel.test.ts checks that side).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REALTIME_EVENTS } from '../../../domain/realtime';
import { packageRoot } from '../../../io/package-root';

describe('the realtime server and the channel contract', () => {
  it('delivers exactly the events of the contract', () => {
    const source = readFileSync(join(packageRoot, 'runtime', 'api', 'realtime.ts'), 'utf8');
    const delivered = [...source.matchAll(/this\.deliver\([^,]+,\s*'[^']+',\s*REALTIME_EVENTS\.(\w+)/g)].map((m) => m[1]);
    assert.ok(delivered.length > 0, 'no deliver call found');
    assert.deepEqual([...new Set(delivered)].sort(), Object.keys(REALTIME_EVENTS).sort());
  });
});
