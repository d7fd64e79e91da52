// The three-node RabbitMQ cluster the scale-out tests run on: it forms, carries MQTT from one node
// to an AMQP consumer on another, and loses one node without losing a quorum queue's messages.
import { strict as assert } from 'node:assert';
import { connect as amqpConnect } from 'amqplib';
import { connectAsync } from 'mqtt';
import { rabbitmqAvailable, startRabbitCluster, type RunningRabbitCluster } from './rabbitmq-cluster';
import { requireService } from './service';

describe('test services: startRabbitCluster', function () {
  this.timeout(180_000);
  let cluster: RunningRabbitCluster | undefined;

  before(async function () {
    requireService(this, 'rabbitmq-server', rabbitmqAvailable(), 'apt-get install rabbitmq-server');
    cluster = await startRabbitCluster();
  });
  after(async function () {
    await cluster?.stop();
  });

  it('forms one cluster of three running nodes', async function () {
    const status = JSON.parse(await cluster!.ctl(['cluster_status', '--formatter', 'json'])) as { running_nodes: string[] };
    assert.deepEqual([...status.running_nodes].sort(), cluster!.nodes.map((n) => n.name).sort());
  });

  it('delivers an MQTT publish on node 1 to an AMQP quorum queue read on node 3, and keeps it when node 1 is killed', async function () {
    const c = cluster!;
    await c.addUser('site-a', 'pw-a');
    const conn = await amqpConnect(c.nodes[2]!.amqpUrl);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('probe', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue('probe', 'amq.topic', 'lifo4.*.telemetry');
      const mqtt = await connectAsync(c.nodes[0]!.mqttUrl, { username: 'site-a', password: 'pw-a', clientId: 'probe-a', reconnectPeriod: 0, protocolVersion: 4 });
      await mqtt.publishAsync('lifo4/site-a/telemetry', 'hello', { qos: 1 });
      await mqtt.endAsync(true);
      await c.kill(0);
      assert.equal(c.running(0), false);
      // The queue's majority (nodes 2 and 3) still holds the message the broker confirmed.
      let got: string | null = null;
      for (let t = 0; t < 100 && got === null; t++) {
        const m = await ch.get('probe', { noAck: true });
        if (m) got = `${m.fields.routingKey} ${m.content.toString()}`;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(got, 'lifo4.site-a.telemetry hello');
    } finally {
      await conn.close().catch(() => undefined);
    }
  });
});
