// The seven roles of the access control, highest first (README, "The cloud API"). Apart
// from the zod contracts so that the browser can share the permission table without bundling zod.
export const ROLES = ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'TECHNICIAN', 'OPERATOR', 'VIEWER', 'USER'] as const;
export type Role = (typeof ROLES)[number];
