// The device poller reports a repeating error once per failure streak: errors whose details change
// from poll to poll (the per-address reasons of a failed SunSpec discovery) are one kind.
import assert from 'node:assert/strict';
import { errorKind } from '../../nodes/kit/poller';

describe('device poller: kinds of error', () => {
  it('takes failed discoveries with different reasons as one kind', () => {
    const refused = 'no SunSpec marker found (40000: connect ECONNREFUSED 127.0.0.1:5020; 0: connect ECONNREFUSED 127.0.0.1:5020)';
    const timedOut = 'no SunSpec marker found (40000: Timed out after 1000 ms; 0: no marker; 50000: no marker)';
    assert.equal(errorKind(refused), errorKind(timedOut));
  });

  it('keeps errors about different things apart', () => {
    assert.notEqual(errorKind('no SunSpec marker found (40000: no marker)'), errorKind('unit 1 backed off after 3 failures'));
    assert.notEqual(errorKind('no SunSpec marker at 40002'), errorKind('no SunSpec marker found (40000: no marker)'));
  });
});
