// The RBAC matrix: every route of the route table x every role, plus no token, an expired token, a
// tampered token and users of another organisation, against the running server. The expected
// status comes from the permission table (permissions.ts) and the route's access rule, never from
// a list written by hand.
import { strict as assert } from 'node:assert';
import jwt from 'jsonwebtoken';
import { ROLES, type Role } from '../../../domain/contracts';
import { hasPermission, PERMISSIONS, rolesWith, type Permission } from '../../../domain/permissions';
import { ROUTE_IDS, ROUTES, type RouteSpec } from '../../../runtime/api/routes';
import { buildFleet, type Fleet } from './fleet-fixture';
import { call, startHarness, type Harness } from './harness';
import { routeCases, type RouteCase } from './route-requests';

type Caller = Role | 'no token' | 'expired' | 'tampered' | 'org-b ADMIN' | 'org-b VIEWER';
const CALLERS: Caller[] = [...ROLES, 'no token', 'expired', 'tampered', 'org-b ADMIN', 'org-b VIEWER'];

function permits(spec: RouteSpec, role: Role): boolean {
  if (spec.access === 'public' || spec.access === 'authenticated' || spec.access === 'enrolment') return true;
  return hasPermission(role, spec.access as Permission);
}

/** What the caller must get: from the access rule, the permission table and the route's scope. */
function expected(spec: RouteSpec, c: RouteCase, caller: Caller): { status: number; error?: string } {
  const allowed = (role: Role) => c.allowed?.(role) ?? { status: spec.status };
  if (spec.access === 'public') return allowed('VIEWER');
  if (caller === 'no token' || caller === 'expired' || caller === 'tampered') return { status: 401, error: 'unauthorized' };
  const role: Role = caller === 'org-b ADMIN' ? 'ADMIN' : caller === 'org-b VIEWER' ? 'VIEWER' : caller;
  if (!permits(spec, role)) return { status: 403, error: 'forbidden' };
  // Another organisation's site, alarm or user is not found, as if it did not exist.
  if (caller.startsWith('org-b') && spec.scope) return { status: 404, error: 'not_found' };
  return allowed(role);
}

describe('API RBAC matrix (every route x every caller, from the permission table)', function () {
  this.timeout(120_000);
  let h: Harness;
  let fleet: Fleet;
  const tokens = new Map<Caller, string | undefined>();

  before(async () => {
    h = await startHarness();
    fleet = await buildFleet(h);
    for (const role of ROLES) tokens.set(role, fleet.sessions[role].accessToken);
    tokens.set('org-b ADMIN', fleet.otherOrgAdmin.accessToken);
    tokens.set('org-b VIEWER', fleet.otherOrgViewer.accessToken);
    tokens.set('no token', undefined);
    const viewer = fleet.sessions.VIEWER;
    // Signed with the right key and claims, but an hour past its expiry.
    const claims = jwt.decode(viewer.accessToken) as Record<string, unknown>;
    const { exp: _e, iat: _i, jti: _j, ...rest } = claims;
    tokens.set('expired', jwt.sign({ ...rest, iat: Math.floor(Date.now() / 1000) - 7200 }, h.secrets.jwtSecret, { algorithm: 'HS256', expiresIn: 3600 }));
    // The VIEWER's token with its role claim raised to SUPER_ADMIN, signature unchanged.
    const [head, , sig] = viewer.accessToken.split('.');
    const raised = Buffer.from(JSON.stringify({ ...claims, role: 'SUPER_ADMIN' })).toString('base64url');
    tokens.set('tampered', `${head}.${raised}.${sig}`);
  });
  after(() => h?.close());

  it('has one permission table whose every permission some role holds, SUPER_ADMIN all of them', () => {
    for (const p of Object.keys(PERMISSIONS) as Permission[]) {
      assert.ok(rolesWith(p).includes('SUPER_ADMIN'), p);
      assert.ok(rolesWith(p).length >= 1);
    }
    assert.deepEqual(rolesWith('commands:send'), ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'TECHNICIAN', 'OPERATOR']);
    assert.deepEqual(rolesWith('users:reset-2fa'), ['SUPER_ADMIN']);
    assert.deepEqual(rolesWith('sites:read'), [...ROLES]);
  });

  for (const id of ROUTE_IDS) {
    const spec: RouteSpec = ROUTES[id];
    it(`${spec.method.toUpperCase()} ${spec.path} (${spec.access}) answers every caller as the table says`, async () => {
      const c = routeCases(fleet)[id];
      const got: Record<string, string> = {};
      const want: Record<string, string> = {};
      for (const caller of CALLERS) {
        const r = c.request();
        const res = await call(h, spec.method, r.path, { token: tokens.get(caller), body: r.body, query: r.query });
        // A password change ends every session of the caller and answers with fresh tokens.
        if (id === 'changePassword' && res.status === 200) {
          const fresh = res.body.accessToken as string;
          tokens.set(caller, fresh);
          const session = caller === 'org-b ADMIN' ? fleet.otherOrgAdmin : caller === 'org-b VIEWER' ? fleet.otherOrgViewer : fleet.sessions[caller as Role];
          session.accessToken = fresh;
        }
        const e = expected(spec, c, caller);
        want[caller] = e.error ? `${e.status} ${e.error}` : String(e.status);
        got[caller] = e.error ? `${res.status} ${String(res.body.error)}` : String(res.status);
        assert.equal(typeof res.body, 'object');
        if (res.status >= 400) assert.equal(typeof res.body.message, 'string', `${caller}: error without message`);
      }
      assert.deepEqual(got, want);
    });
  }

  it('lists only what the caller may see: org B sees none of A, the USER only its assigned site', async () => {
    const ids = async (token: string) => ((await call<{ sites: { id: string }[] }>(h, 'get', '/sites', { token })).body.sites).map((s) => s.id).sort();
    const seenByB = await ids(fleet.otherOrgViewer.accessToken);
    assert.ok(seenByB.includes('site-b'));
    assert.ok(!seenByB.includes('site-a') && !seenByB.includes('site-a2'));
    assert.deepEqual(await ids(fleet.sessions.USER.accessToken), ['site-a']);
    assert.ok((await ids(fleet.sessions.VIEWER.accessToken)).includes('site-a2'));
    assert.ok((await ids(fleet.sessions.SUPER_ADMIN.accessToken)).includes('site-b'));
    assert.equal((await call(h, 'get', '/sites/site-a2', { token: fleet.sessions.USER.accessToken })).status, 404);
    const alarms = await call<{ alarms: unknown[] }>(h, 'get', '/alarms', { token: fleet.otherOrgViewer.accessToken });
    assert.deepEqual(alarms.body.alarms, []);
    const users = await call<{ users: { orgId: string }[] }>(h, 'get', '/users', { token: fleet.otherOrgAdmin.accessToken });
    assert.ok(users.body.users.length >= 2);
    assert.deepEqual([...new Set(users.body.users.map((u) => u.orgId))], ['org-b']);
  });

  it('lets an ADMIN grant only roles below its own, and a TECHNICIAN (not an OPERATOR) release an e-stop', async () => {
    const admin = fleet.sessions.ADMIN.accessToken;
    const up = await call(h, 'post', '/users', { token: admin, body: { email: 'another-admin@a.example', password: 'correct horse battery staple', role: 'ADMIN' } });
    assert.equal(up.status, 403);
    const reset = { type: 'reset' };
    assert.equal((await call(h, 'post', '/sites/site-a/commands', { token: fleet.sessions.OPERATOR.accessToken, body: reset })).status, 403);
    assert.equal((await call(h, 'post', '/sites/site-a/commands', { token: fleet.sessions.TECHNICIAN.accessToken, body: reset })).status, 200);
  });

  it('voids a user\'s access token at once when its role changes', async () => {
    const s = fleet.sessions.MANAGER;
    assert.equal((await call(h, 'get', '/auth/me', { token: s.accessToken })).status, 200);
    const patch = await call(h, 'patch', `/users/${s.user.id}`, { token: fleet.sessions.ADMIN.accessToken, body: { role: 'VIEWER' } });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    assert.equal((await call(h, 'get', '/auth/me', { token: s.accessToken })).status, 401);
  });
});
