// One definition of stale for edge and cloud: a value is fresh, then stale after a few missed
// periods, then lost; the envelope's TELEMETRY_STALE uses the same count of control cycles.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cloudLimits, edgeLimits, freshness, limitsFromSeconds, STALE_PERIODS } from '../../domain/freshness';
import { DEFAULT_SAFETY_CONFIG } from '../../domain/safety/envelope';

const NOW = 1_700_000_000_000;

describe('freshness', () => {
  it('at 1 Hz telemetry the cloud calls data stale after 5 s and the link lost after 12 s', () => {
    const l = cloudLimits(1000);
    assert.deepEqual(l, { staleAfterMs: 5000, lostAfterMs: 12_000 });
    assert.equal(freshness(NOW - 4999, NOW, l), 'fresh');
    assert.equal(freshness(NOW - 5000, NOW, l), 'stale');
    assert.equal(freshness(NOW - 11_999, NOW, l), 'stale');
    assert.equal(freshness(NOW - 12_000, NOW, l), 'lost');
  });

  it('the edge counts control cycles, as many as the safety envelope allows before TELEMETRY_STALE', () => {
    assert.equal(DEFAULT_SAFETY_CONFIG.staleCycles, STALE_PERIODS);
    const l = edgeLimits(DEFAULT_SAFETY_CONFIG.cycleMs);
    assert.equal(l.staleAfterMs, DEFAULT_SAFETY_CONFIG.staleCycles * DEFAULT_SAFETY_CONFIG.cycleMs);
    assert.equal(freshness(NOW - l.staleAfterMs + 1, NOW, l), 'fresh');
    assert.equal(freshness(NOW - l.staleAfterMs, NOW, l), 'stale');
  });

  it('never seen is lost, and a timestamp from the future (clock skew) is fresh', () => {
    assert.equal(freshness(null, NOW, cloudLimits()), 'lost');
    assert.equal(freshness(Number.NaN, NOW, cloudLimits()), 'lost');
    assert.equal(freshness(NOW + 10_000, NOW, cloudLimits()), 'fresh');
  });

  it('only grows older: fresh, stale and lost follow one another as the age grows', () => {
    const rank = { fresh: 0, stale: 1, lost: 2 } as const;
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), (period, a, b) => {
      const l = cloudLimits(period);
      const [young, old] = a <= b ? [a, b] : [b, a];
      return rank[freshness(NOW - young, NOW, l)] <= rank[freshness(NOW - old, NOW, l)];
    }));
  });

  it('limits given in seconds must put stale before lost', () => {
    assert.deepEqual(limitsFromSeconds(2, 4), { staleAfterMs: 2000, lostAfterMs: 4000 });
    assert.throws(() => limitsFromSeconds(5, 4), /stale/);
    assert.throws(() => limitsFromSeconds(0, 4), /stale/);
  });
});
