// The service starters other tests build on: each one really serves, restarts on the same port, and
// leaves nothing behind.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { connectAsync } from 'mqtt';
import { startAedes } from './aedes';
import { makeCerts, opensslAvailable } from './certs';
import { influxdAvailable, ping, startInfluxd } from './influxdb';
import { mosquittoAvailable, startMosquitto } from './mosquitto';
import { accepts, requireService } from './service';

async function roundTrip(url: string, opts: Parameters<typeof connectAsync>[1] = {}): Promise<string> {
  const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...opts });
  try {
    const got = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
    await client.subscribeAsync('lifo4/probe', { qos: 1 });
    await client.publishAsync('lifo4/probe', 'hello', { qos: 1 });
    return await got;
  } finally {
    await client.endAsync(true);
  }
}

async function influxQuery(url: string, q: string): Promise<string> {
  const res = await fetch(`${url}/query?q=${encodeURIComponent(q)}`, { method: 'POST' });
  assert.equal(res.status, 200);
  return res.text();
}

describe('test services', function () {
  describe('startAedes', function () {
    it('serves MQTT on an ephemeral 127.0.0.1 port and serves again on the same port after restart', async function () {
      const aedes = await startAedes();
      try {
        assert.equal(await roundTrip(aedes.url), 'hello');
        const port = aedes.port;
        await aedes.restart();
        assert.equal(aedes.port, port);
        assert.equal(await roundTrip(aedes.url), 'hello');
      } finally {
        await aedes.stop();
      }
      assert.equal(await accepts(aedes.port), false, 'nothing listens after stop()');
    });

    it('with auth refuses a wrong password', async function () {
      const aedes = await startAedes({ auth: { alice: 's3cret' } });
      try {
        assert.equal(await roundTrip(aedes.url, { username: 'alice', password: 's3cret' }), 'hello');
        await assert.rejects(roundTrip(aedes.url, { username: 'alice', password: 'wrong' }), /Bad username or password|Not authorized/i);
      } finally {
        await aedes.stop();
      }
    });
  });

  describe('startMosquitto', function () {
    before(function () {
      requireService(this, 'mosquitto', mosquittoAvailable(), 'apt-get install mosquitto');
    });

    it('serves on 127.0.0.1, restarts on the same port, and removes its temp dir on stop', async function () {
      const m = await startMosquitto();
      try {
        assert.equal(await roundTrip(m.url), 'hello');
        await m.restart();
        assert.equal(await roundTrip(m.url), 'hello');
      } finally {
        await m.stop();
      }
      assert.equal(existsSync(m.dir), false);
      assert.equal(await accepts(m.port), false);
    });

    it('serves TLS with a certificate for 127.0.0.1 that the test CA verifies', async function () {
      requireService(this, 'openssl', opensslAvailable());
      const certs = await makeCerts();
      const m = await startMosquitto({ tls: { ca: certs.ca, server: certs.server } });
      try {
        assert.ok(m.tlsUrl);
        assert.equal(await roundTrip(m.tlsUrl, { ca: certs.read(certs.ca) }), 'hello');
      } finally {
        await m.stop();
        certs.remove();
      }
    });
  });

  describe('startInfluxd', function () {
    before(function () {
      requireService(this, 'influxd', influxdAvailable(), 'apt-get install influxdb');
    });

    it('answers /ping, restarts on the same port with its data dir, and stops', async function () {
      const influx = await startInfluxd();
      try {
        assert.equal(await ping(influx.port), true);
        await influxQuery(influx.url, 'CREATE DATABASE probe');
        await influx.halt();
        assert.equal(await ping(influx.port), false);
        await influx.start();
        assert.match(await influxQuery(influx.url, 'SHOW DATABASES'), /probe/);
      } finally {
        await influx.stop();
      }
      assert.equal(existsSync(influx.dir), false);
    });
  });
});
