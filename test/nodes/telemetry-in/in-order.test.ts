// The in-order gate of telemetry-in: each site's records reach the store in seq order.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TelemetryRecord } from '../../../domain/contracts';
import { InOrderGate } from '../../../nodes/telemetry-in/in-order';

const rec = (siteId: string, seq: number): TelemetryRecord => ({ siteId, seq, ts: 1_700_000_000_000 + seq * 1000 });
const seqs = (rs: TelemetryRecord[]) => rs.map((r) => r.seq);

describe('telemetry-in in-order gate', () => {
  it('holds records behind a gap until the resend fills it, then lets all go in order', () => {
    const gate = new InOrderGate({ maxWaitMs: 20_000, maxHeld: 1000 });
    assert.deepEqual(seqs(gate.offer('a', [1, 2, 3].map((s) => rec('a', s)), 0)), [1, 2, 3]);
    assert.deepEqual(seqs(gate.offer('a', [7, 8].map((s) => rec('a', s)), 10)), [], '4..6 were lost in the broker');
    assert.equal(gate.held, 2);
    assert.deepEqual(seqs(gate.offer('a', [4, 5, 6, 7, 8, 9].map((s) => rec('a', s)), 20)), [4, 5, 6, 7, 8, 9], 'the resend, with 7 and 8 again');
    assert.equal(gate.held, 0);
  });

  it('skips a gap nobody fills after maxWaitMs, and one that grows past maxHeld at once', () => {
    const gate = new InOrderGate({ maxWaitMs: 1000, maxHeld: 3 });
    gate.offer('a', [rec('a', 1)], 0);
    assert.deepEqual(seqs(gate.offer('a', [rec('a', 5), rec('a', 6)], 100)), []);
    assert.deepEqual(gate.expire(900), []);
    assert.deepEqual(gate.expire(1100).map((r) => [r.siteId, seqs(r.records)]), [['a', [5, 6]]]);
    assert.deepEqual(seqs(gate.offer('a', [rec('a', 7)], 1200)), [7]);
    assert.deepEqual(seqs(gate.offer('a', [9, 10, 11, 12].map((s) => rec('a', s)), 1300)), [9, 10, 11, 12], 'more than maxHeld behind a gap');
  });

  it('lets records older than the stream pass at once, and keeps sites apart', () => {
    const gate = new InOrderGate({ maxWaitMs: 1000, maxHeld: 100 });
    gate.offer('a', [rec('a', 10)], 0);
    assert.deepEqual(seqs(gate.offer('a', [rec('a', 3)], 1)), [3]);
    assert.deepEqual(seqs(gate.offer('b', [rec('b', 1)], 1)), [1]);
    assert.deepEqual(seqs(gate.offer('b', [rec('b', 3)], 2)), []);
    assert.deepEqual(seqs(gate.offer('a', [rec('a', 11)], 3)), [11]);
  });

  it('releases every record exactly once, and in order from the first, whatever the arrival order (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray(Array.from({ length: n - 1 }, (_, k) => k + 2), { minLength: n - 1, maxLength: n - 1 }))), ([n, rest]) => {
      const gate = new InOrderGate({ maxWaitMs: 1_000_000, maxHeld: 1000 });
      const out = [...gate.offer('a', [rec('a', 1)], 0)];
      for (const s of rest) out.push(...gate.offer('a', [rec('a', s)], 1));
      assert.deepEqual(seqs(out), Array.from({ length: n }, (_, k) => k + 1));
    }));
  });
});
