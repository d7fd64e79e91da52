// Transport and headers, driven against real `lifo4` processes: a cloud given --tls-cert/--tls-key
// serves HTTPS, the realtime and editor WebSockets over TLS and an MQTTS listener, all with that
// certificate; every answer (dashboard, API, editor, the flows' /nodes) carries the security headers,
// HSTS only under TLS; the browser's refresh token is an httpOnly, Secure, SameSite=Strict cookie
// scoped to the routes that read it; and a bad certificate or key stops the start as a settings error.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { io as connectRealtime } from 'socket.io-client';
import { CONFIG_ERROR_EXIT, ROLE_KEYS, loadSettings } from '../../settings';
import { loadTls } from '../../runtime/app/http-security';
import { Lifo4Process, freePorts, runCli } from '../integration/lifo4-process';
import { makeCerts, opensslAvailable, type TestCerts } from '../services/certs';
import { makeTempDir } from '../services/service';

const START_TIMEOUT_MS = 120_000;
const PASSWORD = 'correct horse battery staple';
const VIEWER = 'viewer@example.org';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function over(ca: Buffer | undefined, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: init.method ?? 'GET', headers: init.headers, ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function plain(url: string): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual' });
  const headers: IncomingHttpHeaders = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, body: await res.text() };
}

/** A WebSocket opening handshake (RFC 6455) over TLS: resolves with the status of the upgrade answer. */
function upgrade(ca: Buffer, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      ca,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

function assertCommonHeaders(h: IncomingHttpHeaders, where: string): void {
  assert.equal(h['x-frame-options'], 'DENY', where);
  assert.equal(h['x-content-type-options'], 'nosniff', where);
  assert.equal(h['referrer-policy'], 'no-referrer', where);
  const csp = String(h['content-security-policy']);
  assert.match(csp, /frame-ancestors 'none'/, where);
  assert.match(csp, /object-src 'none'/, where);
  assert.equal(h['x-powered-by'], undefined, where);
}

function directive(csp: unknown, name: string): string {
  return String(csp).split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `)) ?? '';
}

function setCookies(h: IncomingHttpHeaders): string[] {
  return h['set-cookie'] ?? [];
}

describe('TLS, security headers and the refresh cookie (real processes)', function () {
  this.timeout(START_TIMEOUT_MS + 60_000);
  let certs: TestCerts;
  let ca: Buffer;

  before(async function () {
    if (!opensslAvailable()) {
      if (process.env.CI === 'true') throw new Error('openssl is needed for the TLS tests');
      this.skip();
    }
    certs = await makeCerts();
    ca = certs.read(certs.ca);
  });
  after(() => certs?.remove());

  describe('a certificate that cannot serve is a settings error at start', () => {
    it('reads --tls-cert/--tls-key as paths and --mqtts-port for the cloud and `lifo4 start`, and leaves the edge plain', () => {
      const cloud = loadSettings('cloud', { flags: { tlsCert: 'tls/cert.pem' }, env: { LIFO4_TLS_KEY: 'tls/key.pem' }, cwd: '/srv/ems' });
      assert.equal(cloud.tlsCert, '/srv/ems/tls/cert.pem');
      assert.equal(cloud.tlsKey, '/srv/ems/tls/key.pem');
      assert.equal(cloud.mqttsPort, 8883);
      assert.equal(loadSettings('all', { flags: { mqttsPort: '9883' }, env: {} }).mqttsPort, 9883);
      assert.ok(!ROLE_KEYS.edge.includes('tlsCert') && !ROLE_KEYS.sim.includes('tlsCert'));
      assert.throws(() => loadSettings('cloud', { flags: { mqttsPort: 'x' }, env: {} }), /--mqtts-port: expected a port number/);
    });

    it('names --tls-cert for a missing file, --tls-key for a missing key, and a key of another certificate', () => {
      assert.throws(() => loadTls({ tlsCert: join(certs.dir, 'nope.crt'), tlsKey: certs.server.key }), /--tls-cert: cannot read the certificate '.*nope\.crt': ENOENT/);
      assert.throws(() => loadTls({ tlsCert: certs.server.cert }), /--tls-cert: needs --tls-key as well/);
      assert.throws(() => loadTls({ tlsKey: certs.server.key }), /--tls-key: needs --tls-cert as well/);
      assert.throws(() => loadTls({ tlsCert: certs.server.cert, tlsKey: certs.clients.client!.key }), /--tls-cert: .* is not a usable TLS pair/);
      assert.throws(() => loadTls({ tlsCert: certs.server.key, tlsKey: certs.server.key }), /--tls-cert: .* is not a usable TLS pair/);
      assert.equal(loadTls({}), undefined);
      assert.ok(loadTls({ tlsCert: certs.server.cert, tlsKey: certs.server.key })?.cert.length);
    });

    it('`lifo4 cloud` with a mismatched key exits with the configuration error code, saying why', async () => {
      const data = makeTempDir('tls-bad');
      try {
        const [port, mqttPort, mqttsPort] = (await freePorts(3)) as [number, number, number];
        const r = runCli(['cloud', '--data-dir', data.dir, '--port', String(port), '--mqtt-port', String(mqttPort), '--mqtts-port', String(mqttsPort)], {
          LIFO4_TLS_CERT: certs.server.cert, LIFO4_TLS_KEY: certs.clients.client!.key,
        });
        assert.equal(r.code, CONFIG_ERROR_EXIT, r.stdout + r.stderr);
        assert.match(r.stdout + r.stderr, /--tls-cert: .* is not a usable TLS pair/);
      } finally {
        data.remove();
      }
    });
  });

  describe('a cloud started with --tls-cert and --tls-key', () => {
    let data: ReturnType<typeof makeTempDir>;
    let cloud: Lifo4Process;
    let base: string;
    let mqttsPort: number;

    before(async () => {
      data = makeTempDir('tls-cloud');
      const add = runCli(['user', 'add', '--data-dir', data.dir, '--email', VIEWER, '--role', 'VIEWER', '--password', PASSWORD]);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const [port, mqttPort, mqtts] = (await freePorts(3)) as [number, number, number];
      mqttsPort = mqtts;
      cloud = new Lifo4Process([
        'cloud', '--data-dir', data.dir, '--port', String(port), '--mqtt-port', String(mqttPort), '--mqtts-port', String(mqttsPort),
        '--tls-cert', certs.server.cert, '--tls-key', certs.server.key,
      ]);
      await cloud.waitFor(/cloud ready/, START_TIMEOUT_MS);
      base = `https://127.0.0.1:${port}`;
    });
    after(async () => {
      await cloud?.stop();
      data?.remove();
    });

    it('says https and mqtts in its ready line', () => {
      assert.match(cloud.output, new RegExp(`editor ${base}/editor/`));
      assert.match(cloud.output, new RegExp(`MQTTS mqtts://127\\.0\\.0\\.1:${mqttsPort}`));
    });

    it('completes a TLS handshake with the given certificate, and a client that does not trust its CA is refused', async () => {
      const r = await over(ca, `${base}/api/v1/health`);
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as { role: string }).role, 'cloud');
      await assert.rejects(over(undefined, `${base}/api/v1/health`), /self-signed|unable to verify|self signed/);
    });

    it('sends the security headers and HSTS on the dashboard, the API, the editor and /nodes', async () => {
      for (const path of ['/', '/api/v1/health', '/api/v1/no-such-route', '/editor/', '/nodes/no-such-endpoint']) {
        const r = await over(ca, `${base}${path}`);
        assertCommonHeaders(r.headers, path);
        assert.match(String(r.headers['strict-transport-security']), /max-age=\d{7,}/, path);
      }
    });

    it('gives the editor the scripts it needs and the dashboard none but its own', async () => {
      const editor = (await over(ca, `${base}/editor/`)).headers['content-security-policy'];
      assert.equal(directive(editor, 'script-src'), "script-src 'self' 'unsafe-inline'");
      const dashboard = (await over(ca, `${base}/`)).headers['content-security-policy'];
      assert.equal(directive(dashboard, 'script-src'), "script-src 'self'");
      assert.equal(directive(dashboard, 'connect-src'), "connect-src 'self'");
    });

    it('opens the editor comms and realtime WebSockets over TLS', async () => {
      assert.equal(await upgrade(ca, `${base}/editor/comms`), 101);
      assert.equal(await upgrade(ca, `${base}/api/v1/realtime/?EIO=4&transport=websocket`), 101);
    });

    it('sets the refresh cookie httpOnly, Secure, SameSite=Strict, scoped to /auth/refresh and /auth/logout, and refreshes with it alone', async () => {
      const json = { 'content-type': 'application/json' };
      const login = await over(ca, `${base}/api/v1/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email: VIEWER, password: PASSWORD }) });
      assert.equal(login.status, 200, login.body);
      const { accessToken, refreshToken } = JSON.parse(login.body) as { accessToken: string; refreshToken: string };
      const cookies = setCookies(login.headers);
      assert.deepEqual(cookies.map((c) => /Path=([^;]+)/.exec(c)?.[1]).sort(), ['/api/v1/auth/logout', '/api/v1/auth/refresh']);
      for (const c of cookies) {
        assert.ok(c.startsWith(`lifo4_refresh=${refreshToken};`), c);
        for (const flag of ['HttpOnly', 'Secure', 'SameSite=Strict']) assert.ok(c.split('; ').includes(flag), `${flag} in ${c}`);
      }
      const cookie = `lifo4_refresh=${refreshToken}`;

      // The realtime channel works over wss with the session's access token.
      const socket = connectRealtime(base, { path: '/api/v1/realtime', transports: ['websocket'], auth: { token: accessToken }, ca: ca.toString('utf8'), reconnection: false });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
      } finally {
        socket.close();
      }

      // A cross-site form cannot use the cookie: only JSON is answered.
      const form = await over(ca, `${base}/api/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: 'x=1' });
      assert.equal(form.status, 415, form.body);

      const refreshed = await over(ca, `${base}/api/v1/auth/refresh`, { method: 'POST', headers: { ...json, cookie }, body: '{}' });
      assert.equal(refreshed.status, 200, refreshed.body);
      const body = JSON.parse(refreshed.body) as Record<string, unknown>;
      assert.equal(typeof body.accessToken, 'string');
      assert.equal(body.refreshToken, undefined, 'a cookie session never gets its token in the body');
      const next = /^lifo4_refresh=([^;]+);/.exec(setCookies(refreshed.headers)[0] ?? '')?.[1];
      assert.ok(next && next !== refreshToken, 'the cookie rotates');

      const logout = await over(ca, `${base}/api/v1/auth/logout`, { method: 'POST', headers: { ...json, cookie: `lifo4_refresh=${next}` }, body: '{}' });
      assert.equal(logout.status, 200);
      assert.ok(setCookies(logout.headers).every((c) => /^lifo4_refresh=;/.test(c) && /Expires=Thu, 01 Jan 1970/.test(c)), String(setCookies(logout.headers)));
      const after = await over(ca, `${base}/api/v1/auth/refresh`, { method: 'POST', headers: { ...json, cookie: `lifo4_refresh=${next}` }, body: '{}' });
      assert.equal(after.status, 401, 'logout revoked the cookie session');
    });

    it('keeps API clients that send the refresh token in the body working, answered in the body', async () => {
      const json = { 'content-type': 'application/json' };
      const login = await over(ca, `${base}/api/v1/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email: VIEWER, password: PASSWORD }) });
      const { refreshToken } = JSON.parse(login.body) as { refreshToken: string };
      const r = await over(ca, `${base}/api/v1/auth/refresh`, { method: 'POST', headers: json, body: JSON.stringify({ refreshToken }) });
      assert.equal(r.status, 200, r.body);
      assert.equal(typeof (JSON.parse(r.body) as { refreshToken?: unknown }).refreshToken, 'string');
      assert.deepEqual(setCookies(r.headers), []);
    });

    it('serves MQTTS with the certificate to a client that trusts the CA, and refuses one that does not', async () => {
      const secrets = JSON.parse(readFileSync(join(data.dir, 'secrets.json'), 'utf8')) as { mqttCloudPassword: string };
      const url = `mqtts://127.0.0.1:${mqttsPort}`;
      const client = await mqtt.connectAsync(url, { ca: ca.toString('utf8'), username: 'cloud', password: secrets.mqttCloudPassword, clientId: `tls-test-${process.pid}`, reconnectPeriod: 0 });
      try {
        await client.subscribeAsync('lifo4/tls-site/telemetry');
        const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
        await client.publishAsync('lifo4/tls-site/telemetry', 'over tls');
        assert.equal(await got, 'over tls');
      } finally {
        await client.endAsync();
      }
      await assert.rejects(
        mqtt.connectAsync(url, { username: 'cloud', password: secrets.mqttCloudPassword, reconnectPeriod: 0, connectTimeout: 5000 }),
        /self-signed|unable to verify|self signed/,
      );
    });
  });

  describe('an edge over plain HTTP', () => {
    let data: ReturnType<typeof makeTempDir>;
    let edge: Lifo4Process;
    let base: string;

    before(async () => {
      data = makeTempDir('headers-edge');
      // Nothing listens on the Modbus and MQTT ports: the edge serves HTTP all the same.
      const [edgePort, modbusPort, mqttPort] = (await freePorts(3)) as [number, number, number];
      edge = new Lifo4Process(['edge', '--data-dir', data.dir, '--edge-port', String(edgePort), '--modbus-port', String(modbusPort), '--mqtt-url', `mqtt://127.0.0.1:${mqttPort}`]);
      await edge.waitFor(/edge ready/, START_TIMEOUT_MS);
      base = `http://127.0.0.1:${edgePort}`;
    });
    after(async () => {
      await edge?.stop();
      data?.remove();
    });

    it('sends the security headers on the editor, the API and /nodes, without HSTS', async () => {
      for (const path of ['/', '/api/v1/health', '/editor/', '/nodes/telemetry/latest', '/nodes/no-such-endpoint']) {
        const r = await plain(`${base}${path}`);
        assertCommonHeaders(r.headers, path);
        assert.equal(r.headers['strict-transport-security'], undefined, path);
        assert.doesNotMatch(String(r.headers['content-security-policy']), /upgrade-insecure-requests/, path);
      }
    });
  });
});
