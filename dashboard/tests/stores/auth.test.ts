// The session store keeps the refresh token out of page scripts' reach: no token goes to
// localStorage (only a hint that this browser signed in), refresh and logout send an empty JSON body with the browser's cookies
// (same-origin), and a token an earlier version stored is removed. fetch is replaced by a recorder
// that answers like the API; the real browser and server are covered by test/e2e/dashboard.test.ts.
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LEGACY_REFRESH_KEY, SESSION_HINT_KEY, useAuthStore } from '../../src/stores/auth';

interface Sent { url: string; method: string; body: unknown; credentials: RequestCredentials | undefined; contentType: string | undefined }

const user = { id: 'u1', email: 'op@example.org', role: 'OPERATOR', orgId: 'o1', siteIds: [], twoFactor: false };

function api(answers: Record<string, { status: number; body: unknown }>): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    sent.push({ url, method: init.method ?? 'GET', body: init.body === undefined ? undefined : JSON.parse(String(init.body)), credentials: init.credentials, contentType: headers['content-type'] });
    const path = new URL(url, 'http://localhost').pathname;
    const a = answers[path] ?? { status: 404, body: { error: 'not_found', message: path } };
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json' } });
  });
  return sent;
}

const login = { status: 200, body: { accessToken: 'access-1', tokenType: 'Bearer', expiresIn: 3600, refreshToken: 'refresh-token-in-body', refreshExpiresIn: 1, user } };

describe('the session store and the refresh token', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });
  afterEach(() => vi.unstubAllGlobals());

  it('keeps no token in localStorage after a login, even though the API answers with a refresh token', async () => {
    api({ '/api/v1/auth/login': login });
    const auth = useAuthStore();
    expect((await auth.login('op@example.org', 'a long password')).kind).toBe('ok');
    expect(auth.accessToken).toBe('access-1');
    expect(Object.keys(localStorage)).toEqual([SESSION_HINT_KEY]);
    expect(localStorage.getItem(SESSION_HINT_KEY)).toBe('1');
    expect(JSON.stringify(auth.$state)).not.toContain('refresh-token-in-body');
  });

  it('refreshes with an empty JSON body and the browser cookies, and takes the new access token', async () => {
    const sent = api({ '/api/v1/auth/refresh': { status: 200, body: { accessToken: 'access-2', tokenType: 'Bearer', expiresIn: 3600, refreshExpiresIn: 1, user } } });
    const auth = useAuthStore();
    expect(await auth.refresh()).toBe(true);
    expect(auth.accessToken).toBe('access-2');
    expect(auth.signedIn).toBe(true);
    expect(sent).toEqual([{ url: '/api/v1/auth/refresh', method: 'POST', body: {}, credentials: 'same-origin', contentType: 'application/json' }]);
  });

  it('resumes no session when the cookie is refused, and forgets that it had one', async () => {
    const sent = api({ '/api/v1/auth/refresh': { status: 401, body: { error: 'invalid_refresh_token', message: 'no refresh token' } } });
    localStorage.setItem(SESSION_HINT_KEY, '1');
    const auth = useAuthStore();
    await auth.restore();
    expect(sent.map((s) => s.url)).toEqual(['/api/v1/auth/refresh']);
    expect(auth.signedIn).toBe(false);
    expect(auth.accessToken).toBeNull();
    expect(localStorage.getItem(SESSION_HINT_KEY)).toBeNull();
  });

  it('asks for no refresh on a page load of a browser that never signed in', async () => {
    const sent = api({});
    await useAuthStore().restore();
    expect(sent).toEqual([]);
  });

  it('logs out through the API with an empty JSON body and forgets the access token', async () => {
    const sent = api({ '/api/v1/auth/login': login, '/api/v1/auth/logout': { status: 200, body: { loggedOut: true } } });
    const auth = useAuthStore();
    await auth.login('op@example.org', 'a long password');
    await auth.logout();
    expect(auth.accessToken).toBeNull();
    expect(localStorage.length).toBe(0);
    expect(sent.at(-1)).toEqual({ url: '/api/v1/auth/logout', method: 'POST', body: {}, credentials: 'same-origin', contentType: 'application/json' });
  });

  it('removes a refresh token that an earlier version left in localStorage', () => {
    api({});
    localStorage.setItem(LEGACY_REFRESH_KEY, 'old-token');
    useAuthStore();
    expect(localStorage.getItem(LEGACY_REFRESH_KEY)).toBeNull();
  });
});
