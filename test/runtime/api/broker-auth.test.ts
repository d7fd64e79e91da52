// RabbitMQ's HTTP auth backend asks the cloud; the answers follow the site accounts of secrets.json
// and the rules of the Mosquitto ACL: a site speaks only about itself.
import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { brokerAuthRouter } from '../../../runtime/api/broker-auth';
import { hashSecret } from '../../../runtime/broker/credentials';

const ACCOUNTS: Record<string, string> = { cloud: hashSecret('cloud-pw'), 'site-a': hashSecret('pw-a'), 'site-r': hashSecret('pw-r') };

describe('broker auth for RabbitMQ (rabbitmq_auth_backend_http)', function () {
  let server: Server;
  let base: string;
  before(async function () {
    const app = express();
    app.use('/broker-auth', brokerAuthRouter({ credentials: (u) => ACCOUNTS[u], isRevoked: (site) => site === 'site-r' }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/broker-auth`;
  });
  after(function () {
    server.close();
  });
  const ask = async (path: string, form: Record<string, string>): Promise<string> => {
    const res = await fetch(`${base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
    return res.text();
  };
  const topic = (username: string, permission: string, key: string) => ask('topic', { username, vhost: '/', resource: 'topic', name: 'amq.topic', permission, routing_key: key });
  const queue = (username: string, name: string) => ask('resource', { username, vhost: '/', resource: 'queue', name, permission: 'configure' });

  it('lets a site in with its own password only, and a revoked site not at all', async function () {
    assert.equal(await ask('user', { username: 'site-a', password: 'pw-a' }), 'allow');
    assert.equal(await ask('user', { username: 'site-a', password: 'pw-b' }), 'deny');
    assert.equal(await ask('user', { username: 'site-x', password: 'pw-a' }), 'deny');
    assert.equal(await ask('user', { username: 'site-r', password: 'pw-r' }), 'deny');
    assert.equal(await ask('vhost', { username: 'site-a', vhost: '/' }), 'allow');
    assert.equal(await ask('vhost', { username: 'site-a', vhost: 'other' }), 'deny');
  });

  it('a site publishes only its own telemetry, state, alarms and command acks, and reads only its own commands and acks', async function () {
    assert.equal(await topic('site-a', 'write', 'lifo4.site-a.telemetry'), 'allow');
    assert.equal(await topic('site-a', 'write', 'lifo4.site-a.cmd.ack'), 'allow');
    assert.equal(await topic('site-a', 'write', 'lifo4.site-b.telemetry'), 'deny');
    assert.equal(await topic('site-a', 'write', 'lifo4.site-a.cmd'), 'deny', 'a site does not command itself');
    assert.equal(await topic('site-a', 'read', 'lifo4.site-a.cmd'), 'allow');
    assert.equal(await topic('site-a', 'read', 'lifo4.site-a.telemetry.ack'), 'allow');
    assert.equal(await topic('site-a', 'read', 'lifo4.site-b.cmd'), 'deny');
    assert.equal(await topic('site-a', 'read', 'lifo4.*.cmd'), 'deny', 'no wildcard reaching other sites');
    assert.equal(await topic('cloud', 'read', 'lifo4.*.telemetry'), 'allow');
  });

  it('a site uses only the MQTT plugin queues of its own client ids', async function () {
    assert.equal(await queue('site-a', 'mqtt-subscription-lifo4-edge-site-aqos0'), 'allow');
    assert.equal(await queue('site-a', 'mqtt-subscription-site-a:probeqos1'), 'allow');
    assert.equal(await queue('site-a', 'mqtt-subscription-lifo4-edge-site-bqos0'), 'deny');
    assert.equal(await queue('site-a', 'lifo4-share-ingest'), 'deny');
    assert.equal(await ask('resource', { username: 'site-a', vhost: '/', resource: 'exchange', name: 'amq.topic', permission: 'write' }), 'allow');
    assert.equal(await ask('resource', { username: 'site-a', vhost: '/', resource: 'exchange', name: 'amq.topic', permission: 'configure' }), 'deny');
    assert.equal(await queue('cloud', 'lifo4-share-ingest'), 'allow');
  });
});
