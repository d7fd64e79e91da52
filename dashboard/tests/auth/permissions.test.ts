// @vitest-environment node
// The browser asks the API's own permission table; it only adds the answer for "not signed in".
import { describe, expect, it } from 'vitest';
import * as browser from '../../src/auth/permissions';
import * as api from '../../../domain/permissions';

describe('the dashboard permission table', () => {
  it('is the API permission table', () => {
    expect(browser.PERMISSIONS).toBe(api.PERMISSIONS);
  });

  it('grants nothing without a role, and what the API grants with one', () => {
    expect(browser.hasPermission(null, 'sites:read')).toBe(false);
    expect(browser.hasPermission(undefined, 'sites:read')).toBe(false);
    for (const role of browser.ROLES) for (const p of Object.keys(api.PERMISSIONS) as api.Permission[]) expect(browser.hasPermission(role, p)).toBe(api.hasPermission(role, p));
  });

  it('recognises exactly the seven roles', () => {
    expect(browser.ROLES.every((r) => browser.isRole(r))).toBe(true);
    expect(browser.isRole('ROOT')).toBe(false);
  });
});
