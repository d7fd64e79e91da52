import { describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission } from '../../../src/auth/permissions';
import { PERMISSION_LABELS, permissionLabel } from '../../../src/views/account/permission-labels';

describe('permissions on the account page', () => {
  it('are named in words, one sentence per permission of the table', () => {
    const ids = Object.keys(PERMISSIONS) as Permission[];
    expect(Object.keys(PERMISSION_LABELS).sort()).toEqual([...ids].sort());
    for (const p of ids) {
      expect(permissionLabel(p)).not.toContain(p);
      expect(permissionLabel(p).length).toBeGreaterThan(5);
    }
    expect(permissionLabel('sites:read')).toBe('See sites and their state');
  });
});
