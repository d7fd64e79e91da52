// A broker message is settled only once every record it carried is committed; refused or stale
// ones go back to the queue.
import { strict as assert } from 'node:assert';
import { OwedDeliveries } from '../../../nodes/telemetry-in/deliveries';

describe('telemetry-in: owed deliveries (AMQP manual acks)', function () {
  it('settles a message once all its seqs are committed, not before', function () {
    const owed = new OwedDeliveries<string>();
    owed.add('m1', 'a', [1, 2, 3], 0);
    assert.deepEqual(owed.stored('a', [[1, 2]]), []);
    assert.deepEqual(owed.stored('b', [[3, 3]]), [], 'another site\'s commit settles nothing');
    assert.deepEqual(owed.stored('a', [[3, 3]]), ['m1']);
    assert.equal(owed.size, 0);
  });

  it('a redelivery of records still being stored settles with the first one\'s commit', function () {
    const owed = new OwedDeliveries<string>();
    owed.add('first', 'a', [5, 6], 0);
    owed.add('again', 'a', [5, 6], 10);
    assert.deepEqual(owed.stored('a', [[5, 6]]).sort(), ['again', 'first']);
  });

  it('owes nothing for a message without uncommitted records (the caller settles it at once)', function () {
    const owed = new OwedDeliveries<string>();
    assert.equal(owed.add('dup', 'a', [], 0), false);
    assert.equal(owed.size, 0);
  });

  it('hands back for requeueing the messages with a refused record, and those waiting too long', function () {
    const owed = new OwedDeliveries<string>();
    owed.add('m1', 'a', [1, 2], 0);
    owed.add('m2', 'a', [3], 0);
    owed.add('m3', 'b', [1], 500);
    assert.deepEqual(owed.refused('a', [[2, 2]]), ['m1']);
    assert.deepEqual(owed.expired(1000, 1000), ['m2']);
    assert.deepEqual(owed.expired(1499, 1000), []);
    assert.deepEqual(owed.stored('b', [[1, 1]]), ['m3']);
  });
});
