// The ingest's dedup window: what a record received again means, per site.
import assert from 'node:assert/strict';
import { SeqWindow } from '../../../nodes/telemetry-in/seq-window';

describe('telemetry-in dedup window', () => {
  const opts = { inFlightTtlMs: 1000, maxRanges: 3, maxInFlight: 100 };

  it('takes a record once: in flight until the store commits it, then stored', () => {
    const w = new SeqWindow(opts);
    assert.equal(w.admit('a', 1, 0), 'new');
    assert.equal(w.admit('a', 1, 10), 'in-flight');
    assert.equal(w.admit('b', 1, 10), 'new', 'sites are separate');
    w.stored('a', [[1, 1]]);
    assert.equal(w.admit('a', 1, 20), 'stored');
    assert.deepEqual(w.sizes(), { sites: 2, ranges: 1, inFlight: 1 });
  });

  it('takes a record again when the store refused it or did not answer in time', () => {
    const w = new SeqWindow(opts);
    w.admit('a', 5, 0);
    w.admit('a', 6, 0);
    w.refused('a', [[5, 5]]);
    assert.equal(w.admit('a', 5, 10), 'new');
    assert.equal(w.admit('a', 6, 999), 'in-flight');
    assert.equal(w.admit('a', 6, 1000), 'new', 'the in-flight mark lapsed');
  });

  it('merges stored ranges and forgets the oldest beyond its bound (the store still deduplicates them)', () => {
    const w = new SeqWindow(opts);
    w.stored('a', [[1, 3], [7, 9]]);
    w.stored('a', [[4, 6]]);
    assert.deepEqual(w.sizes().ranges, 1, '1..9 merged');
    w.stored('a', [[20, 20], [30, 30], [40, 40]]);
    assert.equal(w.sizes().ranges, 3);
    assert.equal(w.admit('a', 2, 0), 'new', '1..9 was the oldest and is forgotten');
    assert.equal(w.admit('a', 30, 0), 'stored');
    assert.equal(w.admit('a', 31, 0), 'new');
  });
});
