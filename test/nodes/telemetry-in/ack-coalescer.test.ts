// The ingest's coalesced acks: at most one ack per site per interval, naming every committed range.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AckCoalescer, mergeRanges } from '../../../nodes/telemetry-in/ack-coalescer';
import type { SeqRange } from '../../../io/timeseries/store';

describe('telemetry-in coalesced acks', () => {
  it('acks a site not acked within the interval at once: a 1 Hz site waits for nothing', () => {
    const c = new AckCoalescer(1000);
    assert.deepEqual(c.committed('a', [[1, 1]], 0), { siteId: 'a', ranges: [[1, 1]] });
    assert.deepEqual(c.committed('a', [[2, 2]], 1000), { siteId: 'a', ranges: [[2, 2]] });
    assert.deepEqual(c.committed('b', [[7, 7]], 1001), { siteId: 'b', ranges: [[7, 7]] }, 'sites are separate');
  });

  it('holds commits that come sooner and sends them as one range ack when the interval has passed', () => {
    const c = new AckCoalescer(1000);
    c.committed('a', [[1, 10]], 0);
    assert.equal(c.committed('a', [[11, 20]], 100), null);
    assert.equal(c.committed('a', [[21, 30], [35, 35]], 200), null);
    assert.deepEqual(c.due(999), []);
    assert.equal(c.waitingSites, 1);
    assert.deepEqual(c.due(1000), [{ siteId: 'a', ranges: [[11, 30], [35, 35]] }]);
    assert.deepEqual(c.due(5000), [], 'nothing is acked twice');
    assert.equal(c.waitingSites, 0);
  });

  it('does not drift: a site committing once per interval, a little early each time, waits only for its due time', () => {
    const c = new AckCoalescer(1000);
    c.committed('a', [[1, 1]], 0);
    let waited = 0;
    for (let k = 1; k <= 20; k++) {
      const commitAt = k * 1000 - 5;
      assert.equal(c.committed('a', [[k + 1, k + 1]], commitAt), null);
      // The timer comes round 15 to 35 ms after the ack was due, as a busy event loop lets it.
      const tick = k * 1000 + 15 + (k % 3) * 10;
      assert.deepEqual(c.due(tick), [{ siteId: 'a', ranges: [[k + 1, k + 1]] }], `record ${k + 1}`);
      waited = Math.max(waited, tick - commitAt);
    }
    assert.equal(waited, 40, 'the wait stays what the timer adds, record after record');
  });

  it('hands over everything still owed when drained, whatever the interval', () => {
    const c = new AckCoalescer(1000);
    c.committed('a', [[1, 1]], 0);
    c.committed('a', [[2, 2]], 1);
    c.committed('b', [[1, 1]], 0);
    c.committed('b', [[3, 3]], 1);
    assert.deepEqual(c.drain(2), [{ siteId: 'a', ranges: [[2, 2]] }, { siteId: 'b', ranges: [[3, 3]] }]);
  });

  it('with interval 0 acks every commit at once', () => {
    const c = new AckCoalescer(0);
    assert.deepEqual(c.committed('a', [[1, 1]], 5), { siteId: 'a', ranges: [[1, 1]] });
    assert.deepEqual(c.committed('a', [[2, 2]], 5), { siteId: 'a', ranges: [[2, 2]] });
  });

  it('acks every committed seq exactly once, and none that was not committed', () => {
    const commit = fc.record({ site: fc.constantFrom('a', 'b', 'c'), from: fc.integer({ min: 1, max: 300 }), len: fc.integer({ min: 0, max: 20 }), dt: fc.integer({ min: 0, max: 700 }) });
    fc.assert(fc.property(fc.array(commit, { maxLength: 60 }), (commits) => {
      const c = new AckCoalescer(1000);
      const committed = new Map<string, Set<number>>();
      const acked = new Map<string, number[]>();
      const take = (a: { siteId: string; ranges: SeqRange[] } | null): void => {
        if (!a) return;
        const list = acked.get(a.siteId) ?? [];
        for (const [from, to] of a.ranges) for (let s = from; s <= to; s++) list.push(s);
        acked.set(a.siteId, list);
      };
      let now = 0;
      for (const k of commits) {
        now += k.dt;
        c.due(now).forEach(take);
        const seqs = committed.get(k.site) ?? new Set<number>();
        for (let s = k.from; s <= k.from + k.len; s++) seqs.add(s);
        committed.set(k.site, seqs);
        take(c.committed(k.site, [[k.from, k.from + k.len]], now));
      }
      c.drain(now).forEach(take);
      for (const [site, seqs] of committed) {
        const got = acked.get(site) ?? [];
        // A seq committed twice (a resend) may be acked twice; never one that was not committed.
        assert.deepEqual(new Set(got), seqs);
      }
    }));
  });

  it('merges ranges that overlap or touch', () => {
    assert.deepEqual(mergeRanges([[1, 3], [10, 12]], [[4, 5], [11, 20], [30, 30]]), [[1, 5], [10, 20], [30, 30]]);
  });
});
