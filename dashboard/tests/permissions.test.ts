// @vitest-environment node
// The browser's copy of the permission table is the API's table: same roles, same permissions,
// same lowest role for each. A change on the server fails here until the copy follows.
import { describe, expect, it } from 'vitest';
import * as mirror from '../src/auth/permissions';
import * as api from '../../runtime/api/permissions';
import { ROLES } from '../../nodes/domain/contracts';

describe('the dashboard permission table', () => {
  it('lists the roles of the contracts, highest first', () => {
    expect([...mirror.ROLES]).toEqual([...ROLES]);
  });

  it('equals the API permission table', () => {
    expect(mirror.PERMISSIONS).toEqual(api.PERMISSIONS);
  });

  it('answers hasPermission, requiresTwoFactor and mayGrant like the API for every role', () => {
    for (const role of ROLES) {
      for (const p of Object.keys(api.PERMISSIONS) as api.Permission[]) expect(mirror.hasPermission(role, p), `${role} ${p}`).toBe(api.hasPermission(role, p));
      expect(mirror.requiresTwoFactor(role)).toBe(api.requiresTwoFactor(role));
      for (const target of ROLES) expect(mirror.mayGrant(role, target), `${role} grants ${target}`).toBe(api.mayGrant(role, target));
    }
  });

  it('grants nothing without a role', () => {
    expect(mirror.hasPermission(null, 'sites:read')).toBe(false);
  });
});
