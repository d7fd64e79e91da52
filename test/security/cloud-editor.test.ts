// The cloud's editor runs code in the process that holds every site's command key and the fleet's
// keys, and shows every organisation's flows and debug output. Against a real `lifo4 cloud`:
// only a SUPER_ADMIN signs in; an organisation ADMIN cannot deploy and a TECHNICIAN cannot read;
// the function, exec and file nodes are not loaded; an editor session ends when the user's role
// or password changes, through the API or through `lifo4 user` in another process, when its
// time is up and when the user signs out; the user's realtime sockets are told and closed. Behind a reverse proxy
// (--trust-proxy) /metrics trusts no loopback client and the limits key on X-Forwarded-For.
import { strict as assert } from 'node:assert';
import { io, type Socket } from 'socket.io-client';
import { addUser, api, awayFromStepEdge, type Cloud, editorSignIn, http, PASSWORD, signIn, startCloud, totp, userCli } from './cloud-process';

describe('security: the cloud editor', function () {
  this.timeout(180_000);
  let cloud: Cloud;
  let shortSessions: Cloud;
  let root: { accessToken: string; secret?: string; id: string };
  let shortRoot: { accessToken: string; secret?: string; id: string };

  before(async () => {
    // The second cloud's editor sessions last 0.001 h (4 s), and it sits behind one proxy.
    [cloud, shortSessions] = await Promise.all([startCloud(), startCloud({ LIFO4_EDITOR_SESSION_H: '0.001', LIFO4_TRUST_PROXY: '1' })]);
    [root, shortRoot] = await Promise.all([signIn(cloud, 'admin@localhost', cloud.initialPassword), signIn(shortSessions, 'admin@localhost', shortSessions.initialPassword)]);
  });
  after(async () => {
    await Promise.all([cloud?.stop(), shortSessions?.stop()]);
  });

  const flows = (c: Cloud, token?: string) => http(`${c.url}/editor/flows`, token ? { token } : {});
  const deploy = (c: Cloud, token: string | undefined, body: unknown) =>
    http(`${c.url}/editor/flows`, { method: 'POST', body, ...(token ? { token } : {}), headers: { 'node-red-deployment-type': 'nodes' } });

  it('refuses the editor to an organisation ADMIN with 2FA and to a TECHNICIAN: no sign-in, no read, no deploy', async () => {
    const admin = await addUser(cloud, 'admin@org.example', 'ADMIN');
    const tech = await addUser(cloud, 'tech@org.example', 'TECHNICIAN');
    await awayFromStepEdge();
    const adminSignIn = await editorSignIn(cloud, 'admin@org.example', `${PASSWORD}${await totp(admin.secret as string, 0)}`);
    assert.ok(adminSignIn.status === 401 || adminSignIn.status === 403, `ADMIN signed in: ${adminSignIn.status}`);
    assert.equal(adminSignIn.token, undefined);
    const techSignIn = await editorSignIn(cloud, 'tech@org.example', PASSWORD);
    assert.ok(techSignIn.status === 401 || techSignIn.status === 403, `TECHNICIAN signed in: ${techSignIn.status}`);
    // A sign-in without the password grant is refused as such, in JSON.
    const malformed = await http(`${cloud.url}/editor/auth/token`, { body: { grant_type: 'client_credentials', username: 'admin@org.example' } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error, 'invalid_request');
    // Their API access tokens open nothing in the editor either.
    assert.equal((await flows(cloud)).status, 401);
    assert.equal((await flows(cloud, tech.accessToken)).status, 401);
    assert.equal((await deploy(cloud, admin.accessToken, [])).status, 401);
  });

  it('lets a SUPER_ADMIN with 2FA read and deploy, and loads no function, exec or file node', async () => {
    await awayFromStepEdge();
    const s = await editorSignIn(cloud, 'admin@localhost', `${cloud.initialPassword}${await totp(root.secret as string, 0)}`);
    assert.equal(s.status, 200);
    const got = await flows(cloud, s.token);
    assert.equal(got.status, 200, got.text);
    const current: unknown = JSON.parse(got.text);
    assert.ok(Array.isArray(current) && current.length > 0);
    assert.equal((await deploy(cloud, s.token, current)).status, 204);

    const nodes = await http(`${cloud.url}/editor/nodes`, { token: s.token as string });
    assert.equal(nodes.status, 200);
    const types = new Set((JSON.parse(nodes.text) as { types: string[] }[]).flatMap((set) => set.types));
    for (const present of ['inject', 'debug', 'telemetry-in', 'fleet-hub']) assert.ok(types.has(present), `${present} missing: the palette list is not what it seems`);
    for (const absent of ['function', 'exec', 'file', 'file in']) assert.ok(!types.has(absent), `${absent} is loaded in the cloud`);

    // The editor's sign-out ends the session on the server, not only in the browser.
    assert.equal((await http(`${cloud.url}/editor/auth/revoke`, { form: { token: s.token as string }, token: s.token as string })).status, 200);
    assert.equal((await flows(cloud, s.token)).status, 401);
  });

  it("ends a SUPER_ADMIN's editor session when an API call downgrades it", async () => {
    const other = await addUser(cloud, 'root2@fleet.example', 'SUPER_ADMIN');
    await awayFromStepEdge();
    const s = await editorSignIn(cloud, 'root2@fleet.example', `${PASSWORD}${await totp(other.secret as string, 0)}`);
    assert.equal((await flows(cloud, s.token)).status, 200);
    const patch = await api(cloud, `/users/${other.id}`, { method: 'PATCH', token: root.accessToken, body: { role: 'ADMIN' } });
    assert.equal(patch.status, 200, patch.text);
    assert.equal((await flows(cloud, s.token)).status, 401);
    assert.equal((await deploy(cloud, s.token, [])).status, 401);
  });

  it("ends the editor session and closes the realtime socket when `lifo4 user set-role` in another process downgrades the user", async () => {
    const other = await addUser(cloud, 'root3@fleet.example', 'SUPER_ADMIN');
    await awayFromStepEdge();
    const s = await editorSignIn(cloud, 'root3@fleet.example', `${PASSWORD}${await totp(other.secret as string, 0)}`);
    assert.equal((await flows(cloud, s.token)).status, 200);
    const socket: Socket = io(cloud.url, { path: '/api/v1/realtime', auth: { token: other.accessToken }, transports: ['websocket'], reconnection: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('hello', () => resolve());
        socket.once('connect_error', reject);
      });
      const told = new Promise<unknown>((resolve) => socket.once('session-ended', resolve));
      const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      userCli(cloud, ['set-role', '--email', 'root3@fleet.example', '--role', 'ADMIN']);
      assert.equal((await flows(cloud, s.token)).status, 401);
      assert.deepEqual(await told, { reason: 'role, password or 2FA changed' });
      assert.equal(await closed, 'io server disconnect');
    } finally {
      socket.close();
    }
  });

  it("ends the user's editor session when the password changes, and the change answers with fresh API tokens", async () => {
    const other = await addUser(cloud, 'root4@fleet.example', 'SUPER_ADMIN');
    await awayFromStepEdge();
    const s = await editorSignIn(cloud, 'root4@fleet.example', `${PASSWORD}${await totp(other.secret as string, 0)}`);
    assert.equal((await flows(cloud, s.token)).status, 200);
    const changed = await api(cloud, '/auth/password', { token: other.accessToken, body: { currentPassword: PASSWORD, newPassword: 'another long passphrase' } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal((await flows(cloud, s.token)).status, 401);
    assert.equal((await api(cloud, '/auth/me', { token: other.accessToken })).status, 401);
    assert.equal((await api(cloud, '/auth/me', { token: changed.body.accessToken as string })).status, 200);
  });

  it('ends an editor session when its time is up (--editor-session-h)', async () => {
    await awayFromStepEdge();
    const s = await editorSignIn(shortSessions, 'admin@localhost', `${shortSessions.initialPassword}${await totp(shortRoot.secret as string, 0)}`);
    assert.equal((await flows(shortSessions, s.token)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    assert.equal((await flows(shortSessions, s.token)).status, 401);
  });

  it('behind a proxy (--trust-proxy 1) serves /metrics only with a metrics:read token, not to loopback', async () => {
    assert.equal((await http(`${cloud.url}/metrics`)).status, 200, 'without a proxy, loopback may scrape');
    assert.equal((await http(`${shortSessions.url}/metrics`)).status, 401);
    const scraped = await http(`${shortSessions.url}/metrics`, { token: shortRoot.accessToken });
    assert.equal(scraped.status, 200);
    assert.match(scraped.text, /lifo4_api_request_duration_seconds/);
  });

  it('behind a proxy, limits the client named by X-Forwarded-For, not the proxy', async () => {
    const healthFrom = (client: string) => http(`${shortSessions.url}/api/v1/health`, { headers: { 'x-forwarded-for': client } });
    let status = 0;
    for (let i = 0; i < 301 && status !== 429; i++) status = (await healthFrom('203.0.113.7')).status;
    assert.equal(status, 429, 'one client beyond 300 requests a minute');
    assert.equal((await healthFrom('203.0.113.8')).status, 200, 'another client behind the same proxy');
  });
});

