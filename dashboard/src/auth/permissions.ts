// The API's one permission table (runtime/api/permissions.ts), mirrored for the browser: routes,
// navigation and command controls ask it so a person is never offered what the API would refuse.
// It is a copy, not an import, because the API's module pulls the zod contracts into the bundle;
// tests/permissions.test.ts compares this copy with the API's table, so the two cannot drift.
// The API stays the authority: hiding a control here is convenience, never security.

export const ROLES = ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'TECHNICIAN', 'OPERATOR', 'VIEWER', 'USER'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  'sites:read': 'USER',
  'telemetry:read': 'USER',
  'plans:read': 'USER',
  'alarms:read': 'USER',
  'commands:read': 'USER',
  'commands:send': 'OPERATOR',
  'commands:reset': 'TECHNICIAN',
  'alarms:ack': 'OPERATOR',
  'alarms:silence': 'OPERATOR',
  'financial:read': 'MANAGER',
  'editor:read': 'TECHNICIAN',
  'editor:deploy': 'ADMIN',
  'sites:manage': 'ADMIN',
  'users:read': 'ADMIN',
  'users:manage': 'ADMIN',
  'audit:read': 'ADMIN',
  'metrics:read': 'ADMIN',
  'orgs:manage': 'SUPER_ADMIN',
  'users:reset-2fa': 'SUPER_ADMIN',
  'ota:deploy': 'SUPER_ADMIN',
} as const satisfies Record<string, Role>;

export type Permission = keyof typeof PERMISSIONS;

/** 0 = SUPER_ADMIN (highest) ... 6 = USER. */
export function rank(role: Role): number {
  return ROLES.indexOf(role);
}

export function hasPermission(role: Role | null | undefined, permission: Permission): boolean {
  if (!role) return false;
  return rank(role) <= rank(PERMISSIONS[permission]);
}

/** ADMIN and SUPER_ADMIN cannot get an access token without TOTP. */
export function requiresTwoFactor(role: Role): boolean {
  return rank(role) <= rank('ADMIN');
}

/** Whether `actor` may give `target` to someone: only roles below its own (SUPER_ADMIN any). */
export function mayGrant(actor: Role, target: Role): boolean {
  return actor === 'SUPER_ADMIN' || rank(target) > rank(actor);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
