// Route guards by role: without a session every page leads to sign-in (remembering where to go
// back), and a role without a page's permission is sent to the fleet page with a notice.
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { createMemoryHistory } from 'vue-router';
import { createAppRouter, routes } from '../src/router';
import { useAuthStore } from '../src/stores/auth';
import type { Role } from '../src/auth/permissions';

function signInAs(role: Role): void {
  const auth = useAuthStore();
  auth.accessToken = 'test-token';
  auth.user = { id: 'u1', email: `${role.toLowerCase()}@example.com`, role, orgId: 'default', twoFactor: false, disabled: false, siteIds: [], createdAt: '2026-01-01T00:00:00Z' };
}

describe('route guards', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    localStorage.clear();
  });

  it('send a visitor without a session to sign-in with the page to return to', async () => {
    const router = createAppRouter(createMemoryHistory());
    await router.push('/alarms');
    expect(router.currentRoute.value.name).toBe('sign-in');
    expect(router.currentRoute.value.query.next).toBe('/alarms');
  });

  it('let an ADMIN open administration and send a VIEWER back to the fleet with a notice', async () => {
    signInAs('ADMIN');
    const admin = createAppRouter(createMemoryHistory());
    await admin.push('/admin');
    expect(admin.currentRoute.value.name).toBe('admin');

    setActivePinia(createPinia());
    signInAs('VIEWER');
    const viewer = createAppRouter(createMemoryHistory());
    await viewer.push('/admin');
    expect(viewer.currentRoute.value.name).toBe('fleet');
    expect(useAuthStore().notice).toMatch(/VIEWER/);
  });

  it('keep financial reports for MANAGER and above', async () => {
    signInAs('OPERATOR');
    const router = createAppRouter(createMemoryHistory());
    await router.push('/financial');
    expect(router.currentRoute.value.name).toBe('fleet');
  });

  it('guard every page but sign-in and not-found with a permission or a session', () => {
    for (const r of routes) {
      if (r.redirect || r.meta?.public) continue;
      expect(r.meta?.title, String(r.path)).toBeDefined();
    }
    expect(routes.filter((r) => r.meta?.public).map((r) => r.name)).toEqual(['sign-in', 'not-found']);
  });
});
