// The one permission table of the seven roles (README, "The cloud API"): each
// permission names the lowest role that holds it, and a role holds everything the roles below it
// hold. Every route (routes.ts), the realtime channel (realtime.ts), /metrics and the editor's
// adminAuth ask this table, and the RBAC matrix test is generated from it.
//
//   SUPER_ADMIN  full access, disables another user's 2FA, OTA deploy, organisations, the editor
//   ADMIN        organisation management: users, sites, audit log
//   MANAGER      operations and reports (financial)
//   TECHNICIAN   diagnostics, resets (e-stop reset)
//   OPERATOR     commands (setpoint, mode, e-stop), alarm acknowledge and silence
//   VIEWER       read-only, every site of the organisation
//   USER         read-only, only the sites assigned to the user
// Pure and free of zod: the dashboard imports this table too (dashboard/src/auth/permissions.ts).
import { ROLES, type Role } from './roles';

export const PERMISSIONS = {
  'sites:read': 'USER',
  'telemetry:read': 'USER',
  'plans:read': 'USER',
  'alarms:read': 'USER',
  'commands:read': 'USER',
  'commands:send': 'OPERATOR',
  // Releasing an e-stop latch moves the battery again after someone stopped it for a reason: a
  // diagnostic decision, so a technician's (the seed gives TECHNICIAN "reset").
  'commands:reset': 'TECHNICIAN',
  'alarms:ack': 'OPERATOR',
  'alarms:silence': 'OPERATOR',
  'financial:read': 'MANAGER',
  // A site's strategy settings: everyone who sees the site reads them; operations (MANAGER) change them.
  'settings:read': 'USER',
  'settings:write': 'MANAGER',
  // The cloud's editor is fleet-wide: its flows, debug output and context hold every organisation's
  // data, and a deploy runs code in the process that holds the fleet's keys. So only the one
  // fleet-wide role reads it or deploys, never a role scoped to one organisation.
  'editor:read': 'SUPER_ADMIN',
  'editor:deploy': 'SUPER_ADMIN',
  'sites:manage': 'ADMIN',
  'users:read': 'ADMIN',
  'users:manage': 'ADMIN',
  'audit:read': 'ADMIN',
  'metrics:read': 'ADMIN',
  // Webhooks send every alarm of the organisation to a third party: an integration, set up per
  // organisation like its users (README, "Notifications").
  'webhooks:manage': 'ADMIN',
  'orgs:manage': 'SUPER_ADMIN',
  'users:reset-2fa': 'SUPER_ADMIN',
  'ota:deploy': 'SUPER_ADMIN',
} as const satisfies Record<string, Role>;

export type Permission = keyof typeof PERMISSIONS;

/** 0 = SUPER_ADMIN (highest) ... 6 = USER. */
export function rank(role: Role): number {
  return ROLES.indexOf(role);
}

export function hasPermission(role: Role, permission: Permission): boolean {
  return rank(role) <= rank(PERMISSIONS[permission]);
}

/** The roles holding a permission, highest first. */
export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((r) => hasPermission(r, permission));
}

/** Roles that cannot get an access token without TOTP (seed: "2FA enforced for ADMIN and SUPER_ADMIN"). */
export function requiresTwoFactor(role: Role): boolean {
  return rank(role) <= rank('ADMIN');
}

/** Which sites a role sees: every organisation's, its organisation's, or only those assigned. */
export type SiteScope = 'all' | 'org' | 'assigned';
export function siteScope(role: Role): SiteScope {
  if (role === 'SUPER_ADMIN') return 'all';
  return role === 'USER' ? 'assigned' : 'org';
}

/** Whether `actor` may create a user with, or change a user to, `target` role: only below its own. */
export function mayGrant(actor: Role, target: Role): boolean {
  return actor === 'SUPER_ADMIN' || rank(target) > rank(actor);
}
