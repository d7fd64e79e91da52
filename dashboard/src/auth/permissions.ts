// The API's one permission table (domain/permissions.ts, pure and free of zod), used by the
// browser's routes, navigation and command controls so a person is never offered what the API
// would refuse. The API stays the authority: hiding a control here is convenience, never security.
import { PERMISSIONS, hasPermission as roleHas, type Permission } from '../../../domain/permissions';
import { ROLES, type Role } from '../../../domain/roles';

export { PERMISSIONS, ROLES, type Permission, type Role };
export { mayGrant, rank, requiresTwoFactor } from '../../../domain/permissions';

/** Whether the signed-in role (none before sign-in) holds a permission. */
export function hasPermission(role: Role | null | undefined, permission: Permission): boolean {
  return role ? roleHas(role, permission) : false;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
