// @vitest-environment node
// The realtime channel subscribes to every event of the contract the server pushes by
// (domain/realtime.ts; test/runtime/api/realtime-events.test.ts checks the server's side).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REALTIME_EVENTS } from '../../../domain/realtime';

describe('the realtime channel', () => {
  it('listens to exactly the events the server delivers', () => {
    const source = readFileSync(new URL('../../src/realtime/channel.ts', import.meta.url), 'utf8');
    const subscribed = [...source.matchAll(/socket\.on\(REALTIME_EVENTS\.(\w+)/g)].map((m) => m[1]);
    expect(subscribed.length).toBeGreaterThan(0);
    expect(Object.keys(REALTIME_EVENTS).sort()).toEqual([...new Set(subscribed)].sort());
  });
});
