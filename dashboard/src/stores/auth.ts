// The session: the access token in memory only; the refresh token never reaches page scripts: the
// API keeps it in an httpOnly, SameSite=Strict cookie sent only to /auth/refresh and /auth/logout
// (runtime/api/refresh-cookie.ts), so a reload or an installed app resumes the session by a refresh
// and a script injected into the page cannot carry the session away. It rotates on every use, and
// reuse revokes its whole family on the server. Also the signed-in user and the sign-in steps
// (password, TOTP, 2FA enrolment for ADMIN and above).
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useTokenSource } from '../api/http';
import { authApi, type LoginOutcome } from '../api/endpoints';
import type { UserView } from '../api/types';
import type { Role } from '../auth/permissions';

/** Where earlier versions kept the refresh token: removed, so none lingers in localStorage. */
export const LEGACY_REFRESH_KEY = 'lifo4.refreshToken';
/**
 * Not a credential: only that this browser signed in and did not sign out, so a page load tries
 * the cookie (scripts cannot see it) and an anonymous visit does not ask for a refused refresh.
 */
export const SESSION_HINT_KEY = 'lifo4.session';

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export const useAuthStore = defineStore('auth', () => {
  storage()?.removeItem(LEGACY_REFRESH_KEY);
  const accessToken = ref<string | null>(null);
  const user = ref<UserView | null>(null);
  /** A message for the person (e.g. why a page was refused, or that the session ended). */
  const notice = ref<string | null>(null);
  let restoring: Promise<void> | null = null;
  let refreshing: Promise<boolean> | null = null;

  const signedIn = computed(() => accessToken.value !== null && user.value !== null);
  const role = computed<Role | null>(() => user.value?.role ?? null);

  function keep(access: string, who: UserView | null): void {
    accessToken.value = access;
    if (who) user.value = who;
    storage()?.setItem(SESSION_HINT_KEY, '1');
  }

  function clear(): void {
    accessToken.value = null;
    user.value = null;
    storage()?.removeItem(SESSION_HINT_KEY);
  }

  async function loadMe(): Promise<void> {
    user.value = await authApi.me();
  }

  /** A new access token for the cookie's refresh token (which rotates); concurrent callers share one request. */
  function refresh(): Promise<boolean> {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      try {
        const t = await authApi.refresh();
        keep(t.accessToken, t.user ?? null);
        if (!user.value) await loadMe();
        return true;
      } catch {
        clear();
        return false;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  /** Once per page load: resumes the session of the refresh cookie, if this browser signed in. */
  function restore(): Promise<void> {
    if (!restoring) restoring = storage()?.getItem(SESSION_HINT_KEY) ? refresh().then(() => undefined) : Promise.resolve();
    return restoring;
  }

  /** Password (and TOTP when asked): 'ok', or the next step the person must take. */
  async function login(email: string, password: string, totp?: string): Promise<LoginOutcome> {
    const outcome = await authApi.login(email, password, totp);
    if (outcome.kind === 'ok') {
      keep(outcome.tokens.accessToken, outcome.tokens.user ?? null);
      if (!user.value) await loadMe();
      notice.value = null;
    }
    return outcome;
  }

  /** After an enrolment was confirmed with a code: the API answers with a session. */
  function adopt(access: string, who: UserView | null): Promise<void> {
    keep(access, who);
    return who ? Promise.resolve() : loadMe();
  }

  async function logout(): Promise<void> {
    try {
      // Revokes the cookie's session on the server and clears the cookie.
      await authApi.logout();
    } catch {
      // Signing out locally must work even when the server cannot be reached.
    }
    clear();
  }

  /** The API refused the session and refreshing failed: back to sign-in with a reason. */
  function expired(): void {
    if (accessToken.value) notice.value = 'Your session has ended. Please sign in again.';
    clear();
  }

  useTokenSource({ accessToken: () => accessToken.value, refresh, expired });

  return { accessToken, user, notice, signedIn, role, restore, refresh, login, adopt, logout, expired, loadMe };
});
