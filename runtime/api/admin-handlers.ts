// Handlers of the administration routes: users, organisations, audit log. An ADMIN manages the
// users of its own organisation with roles below its own; a SUPER_ADMIN manages everyone.
import { forbidden } from './errors';
import { mayGrant, rank, siteScope } from '../../domain/permissions';
import type { Handlers, Services } from './services';
import type { Principal } from './tokens';
import type { UserRow } from './users';

type AdminRoutes = 'listUsers' | 'createUser' | 'getUser' | 'updateUser' | 'resetUserTwoFactor' | 'listOrgs' | 'createOrg' | 'audit';

/** A user may change only users ranked strictly below it (a SUPER_ADMIN anyone but itself). */
function mayManage(actor: Principal, target: UserRow): boolean {
  if (actor.userId === target.id) return false;
  return actor.role === 'SUPER_ADMIN' || rank(target.role) > rank(actor.role);
}

export function adminHandlers(s: Services): Pick<Handlers, AdminRoutes> {
  return {
    async listUsers({ principal, query }) {
      const all = siteScope(principal.role) === 'all';
      if (!all && query.orgId !== undefined && query.orgId !== principal.orgId) throw forbidden('you see the users of your organisation only');
      return { body: { users: await s.users.list(all ? (query.orgId ?? null) : principal.orgId) } };
    },

    async createUser({ principal, body }) {
      if (!mayGrant(principal.role, body.role)) throw forbidden(`a ${principal.role} creates users with roles below its own, not ${body.role}`);
      const orgId = body.orgId ?? principal.orgId;
      if (orgId !== principal.orgId && principal.role !== 'SUPER_ADMIN') throw forbidden('only a SUPER_ADMIN creates users in another organisation');
      const row = await s.users.create({ email: body.email, password: body.password, role: body.role, orgId, siteIds: body.siteIds });
      s.visibilityChanged();
      return { status: 201, body: await s.users.view(row), audit: { target: row.email, details: { role: row.role, orgId } } };
    },

    async getUser({ params }) {
      return { body: await s.users.view((await s.users.byId(params.id)) as UserRow) };
    },

    async updateUser({ principal, params, body }) {
      const target = (await s.users.byId(params.id)) as UserRow;
      if (!mayManage(principal, target)) throw forbidden(`a ${principal.role} changes users below its own role (not itself, not a ${target.role})`);
      if (body.role !== undefined && !mayGrant(principal.role, body.role)) throw forbidden(`a ${principal.role} cannot grant ${body.role}`);
      if (body.siteIds !== undefined) await s.users.setSites(target.id, body.siteIds);
      if (body.password !== undefined) await s.users.setPassword(target.id, body.password);
      if (body.role !== undefined && body.role !== target.role) await s.users.setRole(target.id, body.role);
      if (body.disabled !== undefined && body.disabled !== (target.disabled !== 0)) await s.users.setDisabled(target.id, body.disabled);
      s.visibilityChanged();
      const changed = Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined);
      return { body: await s.users.view((await s.users.byId(target.id)) as UserRow), audit: { target: target.email, details: { changed, ...(body.role ? { role: body.role } : {}) } } };
    },

    async resetUserTwoFactor({ principal, params }) {
      const target = (await s.users.byId(params.id)) as UserRow;
      if (target.id === principal.userId) throw forbidden('reset your own 2FA through another SUPER_ADMIN (or `lifo4 user reset-2fa` on the server)');
      await s.users.resetTwoFactor(target.id);
      s.visibilityChanged();
      return { body: await s.users.view((await s.users.byId(target.id)) as UserRow), audit: { target: target.email } };
    },

    async listOrgs() {
      return { body: { orgs: await s.users.listOrgs() } };
    },

    async createOrg({ body }) {
      await s.users.createOrg(body.id, body.name);
      return { status: 201, body: { id: body.id, name: body.name }, audit: { target: body.id } };
    },

    async audit({ principal, query }) {
      const orgId = siteScope(principal.role) === 'all' ? null : principal.orgId;
      return { body: { entries: await s.audit.query({ from: query.from, to: query.to, userId: query.userId, action: query.action, orgId, limit: query.limit ?? 200 }) } };
    },
  };
}
