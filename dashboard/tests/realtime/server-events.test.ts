// @vitest-environment node
// The realtime channel listens to the event names the server emits (runtime/api/realtime.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REALTIME_EVENTS, REALTIME_PATH } from '../../src/realtime/channel';
import { REALTIME_PATH as SERVER_PATH } from '../../../runtime/api/realtime';

describe('the realtime channel', () => {
  it('connects at the path the server listens on', () => {
    expect(REALTIME_PATH).toBe(SERVER_PATH);
  });

  it('listens to exactly the events the server delivers', () => {
    const source = readFileSync(new URL('../../../runtime/api/realtime.ts', import.meta.url), 'utf8');
    const delivered = [...source.matchAll(/this\.deliver\([^,]+,\s*'[^']+',\s*'([^']+)'/g)].map((m) => m[1]);
    expect(delivered.length).toBeGreaterThan(0);
    expect(Object.values(REALTIME_EVENTS).sort()).toEqual([...new Set(delivered)].sort());
  });
});
