// Authentication end to end against the running server: the first start's SUPER_ADMIN, login,
// TOTP enrolment and login, ADMIN without 2FA, refresh rotation and reuse detection, logout,
// brute force, recovery codes, 2FA reset, the editor's adminAuth, /metrics and the error format.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCloudApi } from '../../../runtime/app/cloud-api';
import { FleetHub } from '../../../io/fleet-hub';
import { awayFromStepEdge, call, createUser, login, PASSWORD, startHarness, TEST_BCRYPT_COST, totp, type Harness } from './harness';

const body = (r: { body: Record<string, unknown> }) => JSON.stringify(r.body);

describe('API authentication', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.close());

  describe('first start', () => {
    it('creates a SUPER_ADMIN with a random password printed once, stored nowhere in clear', async () => {
      assert.equal(h.printed.length, 1);
      const password = /password: (\S+)/.exec(h.printed[0] ?? '')?.[1];
      assert.ok(password && password.length >= 20, h.printed[0]);
      for (const f of readdirSync(h.dir)) assert.ok(!readFileSync(join(h.dir, f)).includes(password), `${f} holds the password`);
      const r = await call(h, 'post', '/auth/login', { body: { email: 'admin@localhost', password } });
      // Mandatory 2FA: the password alone gives an enrolment token, not an access token.
      assert.equal(r.status, 403, body(r));
      assert.equal(r.body.error, 'enrollment_required');
      assert.equal(r.body.accessToken, undefined);
      // A second start on the same data directory (and database) creates no one and prints nothing.
      const printed: string[] = [];
      const again = await createCloudApi({ dataDir: h.dir, database: h.database, hub: new FleetHub(), secrets: h.secrets, bcryptCost: TEST_BCRYPT_COST, print: (l) => printed.push(l) });
      await again.close();
      assert.deepEqual(printed, []);
    });
  });

  describe('login and tokens', () => {
    it('gives a VIEWER an access token (1 h) and a refresh token; the access token opens /auth/me', async () => {
      const u = await createUser(h, 'viewer@login.example', 'VIEWER');
      const r = await call(h, 'post', '/auth/login', { body: { email: 'VIEWER@login.example', password: PASSWORD } });
      assert.equal(r.status, 200, body(r));
      assert.equal(r.body.expiresIn, 3600);
      assert.equal(typeof r.body.refreshToken, 'string');
      const me = await call<{ user: { id: string }; permissions: string[] }>(h, 'get', '/auth/me', { token: r.body.accessToken as string });
      assert.equal(me.body.user.id, u.id);
      assert.ok(me.body.permissions.includes('sites:read') && !me.body.permissions.includes('commands:send'));
    });

    it('refuses a wrong password and an unknown email alike', async () => {
      const a = await call(h, 'post', '/auth/login', { body: { email: 'viewer@login.example', password: 'wrong password!' } });
      const b = await call(h, 'post', '/auth/login', { body: { email: 'nobody@login.example', password: 'wrong password!' } });
      assert.deepEqual([a.status, a.body], [b.status, b.body]);
      assert.equal(a.status, 401);
    });

    it('rotates the refresh token on every use; reusing a spent one revokes the whole family', async () => {
      const s = await login(h, await createUser(h, 'rotate@login.example', 'OPERATOR'));
      const r1 = await call(h, 'post', '/auth/refresh', { body: { refreshToken: s.refreshToken } });
      assert.equal(r1.status, 200, body(r1));
      assert.notEqual(r1.body.refreshToken, s.refreshToken);
      const reuse = await call(h, 'post', '/auth/refresh', { body: { refreshToken: s.refreshToken } });
      assert.equal(reuse.status, 401);
      assert.equal(reuse.body.error, 'refresh_token_reused');
      // The thief's (or the client's) newer token of that family is dead too.
      const r2 = await call(h, 'post', '/auth/refresh', { body: { refreshToken: r1.body.refreshToken } });
      assert.equal(r2.status, 401);
    });

    it('logout revokes the session: its refresh token no longer works', async () => {
      const s = await login(h, await createUser(h, 'logout@login.example', 'VIEWER'));
      assert.equal((await call(h, 'post', '/auth/logout', { body: { refreshToken: s.refreshToken } })).status, 200);
      assert.equal((await call(h, 'post', '/auth/refresh', { body: { refreshToken: s.refreshToken } })).status, 401);
    });

    it('answers brute force with 429 and Retry-After after 5 failures, for that account only', async () => {
      await createUser(h, 'brute@login.example', 'VIEWER');
      for (let i = 0; i < 5; i++) {
        assert.equal((await call(h, 'post', '/auth/login', { body: { email: 'brute@login.example', password: `guess number ${i}` } })).status, 401);
      }
      const limited = await call(h, 'post', '/auth/login', { body: { email: 'brute@login.example', password: PASSWORD } });
      assert.equal(limited.status, 429, body(limited));
      assert.equal(limited.body.error, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal((await call(h, 'post', '/auth/login', { body: { email: 'viewer@login.example', password: PASSWORD } })).status, 200);
    });
  });

  describe('TOTP 2FA', () => {
    let secret = '';
    let recoveryCodes: string[] = [];

    it('enrols with an otpauth URI, an SVG QR code and 10 recovery codes, active only once verified', async () => {
      const s = await login(h, await createUser(h, 'tech@2fa.example', 'TECHNICIAN'));
      const e = await call(h, 'post', '/auth/2fa/enroll', { token: s.accessToken, body: {} });
      assert.equal(e.status, 200, body(e));
      assert.match(e.body.otpauthUri as string, /^otpauth:\/\/totp\/.+secret=/);
      assert.match(e.body.qrSvg as string, /^<svg/);
      recoveryCodes = e.body.recoveryCodes as string[];
      assert.equal(recoveryCodes.length, 10);
      secret = e.body.secret as string;
      // Not active yet: the password alone still logs in.
      assert.equal((await call(h, 'post', '/auth/login', { body: { email: 'tech@2fa.example', password: PASSWORD } })).status, 200);
      assert.equal((await call(h, 'post', '/auth/2fa/verify', { token: s.accessToken, body: { code: '123456' } })).body.error, 'invalid_totp');
      await awayFromStepEdge();
      const v = await call(h, 'post', '/auth/2fa/verify', { token: s.accessToken, body: { code: await totp(secret, -1) } });
      assert.equal(v.status, 200, body(v));
    });

    it('then asks for the code, takes a current one once, and refuses it the second time', async () => {
      const noCode = await call(h, 'post', '/auth/login', { body: { email: 'tech@2fa.example', password: PASSWORD } });
      assert.equal(noCode.status, 401);
      assert.equal(noCode.body.error, 'totp_required');
      const code = await totp(secret, 0);
      const ok = await call(h, 'post', '/auth/login', { body: { email: 'tech@2fa.example', password: PASSWORD, totp: code } });
      assert.equal(ok.status, 200, body(ok));
      const replay = await call(h, 'post', '/auth/login', { body: { email: 'tech@2fa.example', password: PASSWORD, totp: code } });
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error, 'invalid_totp');
    });

    it('accepts a recovery code exactly once', async () => {
      const code = recoveryCodes[3] as string;
      const first = await call(h, 'post', '/auth/login', { body: { email: 'tech@2fa.example', password: PASSWORD, recoveryCode: code } });
      assert.equal(first.status, 200, body(first));
      assert.equal(first.body.remainingRecoveryCodes, 9);
      const again = await call(h, 'post', '/auth/login', { body: { email: 'tech@2fa.example', password: PASSWORD, recoveryCode: code } });
      assert.equal(again.status, 401);
      assert.equal(again.body.error, 'invalid_recovery_code');
    });

    it('gives an ADMIN without 2FA no access token, and its enrolment token opens nothing but enrolment', async () => {
      await createUser(h, 'admin@2fa.example', 'ADMIN');
      const r = await call(h, 'post', '/auth/login', { body: { email: 'admin@2fa.example', password: PASSWORD } });
      assert.equal(r.status, 403);
      assert.equal(r.body.accessToken, undefined);
      const enrol = (r.body.details as { enrollmentToken: string }).enrollmentToken;
      assert.equal((await call(h, 'get', '/sites', { token: enrol })).status, 401);
      assert.equal((await call(h, 'get', '/auth/me', { token: enrol })).status, 401);
      assert.equal((await call(h, 'post', '/auth/2fa/enroll', { token: enrol, body: {} })).status, 200);
    });

    it('lets only a SUPER_ADMIN reset another user\'s 2FA; the ADMIN must enrol again and its sessions end', async () => {
      const admin = await login(h, await createUser(h, 'reset@2fa.example', 'ADMIN'));
      const root = await login(h, await createUser(h, 'root@2fa.example', 'SUPER_ADMIN'));
      const other = await login(h, await createUser(h, 'other-admin@2fa.example', 'ADMIN'));
      assert.equal((await call(h, 'post', `/users/${admin.user.id}/reset-2fa`, { token: other.accessToken, body: {} })).status, 403);
      const reset = await call(h, 'post', `/users/${admin.user.id}/reset-2fa`, { token: root.accessToken, body: {} });
      assert.equal(reset.status, 200, body(reset));
      assert.equal((reset.body as { twoFactor: boolean }).twoFactor, false);
      assert.equal((await call(h, 'get', '/auth/me', { token: admin.accessToken })).status, 401);
      assert.equal((await call(h, 'post', '/auth/refresh', { body: { refreshToken: admin.refreshToken } })).status, 401);
      const again = await call(h, 'post', '/auth/login', { body: { email: 'reset@2fa.example', password: PASSWORD } });
      assert.equal(again.body.error, 'enrollment_required');
    });
  });

  describe('the editor (Node-RED adminAuth)', () => {
    it('lets only a SUPER_ADMIN in, with password+TOTP, and refuses an organisation ADMIN and a TECHNICIAN', async () => {
      const auth = h.api.editorAdminAuth;
      const root = await login(h, await createUser(h, 'root@editor.example', 'SUPER_ADMIN'));
      const admin = await login(h, await createUser(h, 'admin@editor.example', 'ADMIN'));
      await createUser(h, 'tech@editor.example', 'TECHNICIAN');
      assert.equal(await auth.authenticate('root@editor.example', PASSWORD), null, 'a SUPER_ADMIN needs the TOTP code appended');
      const signedIn = await auth.authenticate('root@editor.example', `${PASSWORD}${await totp(root.totpSecret as string, 0)}`);
      assert.equal(signedIn?.username, 'root@editor.example');
      assert.equal(signedIn?.permissions, '*');
      assert.deepEqual(await auth.tokens(signedIn?.token as string), { username: 'root@editor.example', permissions: '*' });
      assert.equal(await auth.authenticate('admin@editor.example', `${PASSWORD}${await totp(admin.totpSecret as string, 0)}`), null);
      assert.equal(await auth.authenticate('tech@editor.example', PASSWORD), null);
      // No session of Node-RED's own is honoured, and an API access token is no editor token.
      assert.equal(await auth.users('root@editor.example'), null);
      assert.equal(await auth.tokens(root.accessToken), null);
    });
  });

  describe('errors and /metrics', () => {
    it('answers malformed JSON, unknown routes and missing tokens with JSON {error, message} and no stack', async () => {
      const bad = await call(h, 'post', '/auth/login', { rawBody: '{"email": ' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error, 'invalid_json');
      const missing = await call(h, 'get', '/nope');
      assert.equal(missing.status, 404);
      for (const r of [bad, missing, await call(h, 'get', '/sites')]) {
        assert.equal(typeof r.body.message, 'string');
        assert.ok(!JSON.stringify(r.body).includes('    at '), 'a stack trace leaked');
      }
    });

    it('serves Prometheus metrics to loopback clients', async () => {
      await call(h, 'get', '/health');
      const res = await fetch(`${h.url}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      for (const name of ['lifo4_api_request_duration_seconds', 'lifo4_ingest_events_total', 'lifo4_active_alarms', 'lifo4_sites', 'lifo4_realtime_clients']) {
        assert.ok(text.includes(name), name);
      }
      assert.match(text, /lifo4_api_request_duration_seconds_count\{[^}]*route="\/health"/);
    });
  });
});

describe('API limits on a server that trusts no loopback client for /metrics', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await startHarness({ trustLoopbackMetrics: false, rateLimits: { globalPerMin: 8 } });
  });
  after(() => h?.close());

  it('needs a token with metrics:read for /metrics', async () => {
    assert.equal((await fetch(`${h.url}/metrics`)).status, 401);
    const viewer = await login(h, await createUser(h, 'v@m.example', 'VIEWER'));
    const admin = await login(h, await createUser(h, 'a@m.example', 'ADMIN'));
    assert.equal((await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${viewer.accessToken}` } })).status, 403);
    assert.equal((await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${admin.accessToken}` } })).status, 200);
  });

  it('limits every client globally per minute with 429 and Retry-After', async () => {
    let last = await call(h, 'get', '/health');
    for (let i = 0; i < 10 && last.status !== 429; i++) last = await call(h, 'get', '/health');
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers.get('retry-after')) > 0);
  });
});
