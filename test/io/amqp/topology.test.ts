// MQTT topics and subscriptions on RabbitMQ's amq.topic: the mapping the MQTT plugin applies, so
// an AMQP consumer and an MQTT client agree on every message.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { fleetTopics, topics } from '../../../domain/topics';
import { keyMatches, routeOf, routingKeyOf, sharedQueueName, topicOfRoutingKey } from '../../../io/amqp/topology';
import { topicMatches } from '../../../nodes/mqtt-link/topic-filter';

const level = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);

describe('io/amqp/topology', function () {
  it('turns / into . both ways, as the MQTT plugin does', function () {
    assert.equal(routingKeyOf(topics.telemetry('site-a')), 'lifo4.site-a.telemetry');
    assert.equal(routingKeyOf(topics.cmdAck('s_1')), 'lifo4.s_1.cmd.ack');
    assert.equal(topicOfRoutingKey('lifo4.site-a.telemetry.ack'), 'lifo4/site-a/telemetry/ack');
  });

  it('refuses a topic a routing key would change: dots and wildcards', function () {
    assert.throws(() => routingKeyOf('lifo4/site.a/telemetry'), /cannot be routed/);
    assert.throws(() => routingKeyOf('lifo4/+/telemetry'), /cannot be routed/);
  });

  it('binds a shared subscription to its group\'s queue and any other to the connection\'s own', function () {
    assert.deepEqual(routeOf(`$share/ingest/${fleetTopics.telemetry}`), { group: 'ingest', bindingKey: 'lifo4.*.telemetry' });
    assert.deepEqual(routeOf(fleetTopics.cmdAck), { group: null, bindingKey: 'lifo4.*.cmd.ack' });
    assert.deepEqual(routeOf('lifo4/#'), { group: null, bindingKey: 'lifo4.#' });
    assert.equal(sharedQueueName('ingest'), 'lifo4-share-ingest');
    assert.throws(() => routeOf('lifo4/a.b/telemetry'), /cannot be bound/);
  });

  it('an AMQP binding matches exactly the routing keys whose topics the MQTT filter matches', function () {
    const filter = fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }).chain((levels) =>
      fc.boolean().map((hash) => [...levels, ...(hash ? ['#'] : [])].join('/')));
    const topic = fc.array(fc.oneof(level, fc.constantFrom('lifo4', 'cmd', 'ack')), { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));
    fc.assert(fc.property(filter, topic, (f, t) => {
      assert.equal(keyMatches(routeOf(f).bindingKey, routingKeyOf(t)), topicMatches(f, t), `${f} vs ${t}`);
    }));
  });
});
