// The session: access token in memory, refresh token in localStorage (so a reload or an installed
// app keeps the session; it rotates on every use and reuse revokes its whole family on the server),
// the signed-in user, and the sign-in steps (password, TOTP, 2FA enrolment for ADMIN and above).
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useTokenSource } from '../api/http';
import { authApi, type LoginOutcome } from '../api/endpoints';
import type { UserView } from '../api/types';
import type { Role } from '../auth/permissions';

const REFRESH_KEY = 'lifo4.refreshToken';

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export const useAuthStore = defineStore('auth', () => {
  const accessToken = ref<string | null>(null);
  const user = ref<UserView | null>(null);
  /** A message for the person (e.g. why a page was refused, or that the session ended). */
  const notice = ref<string | null>(null);
  let restoring: Promise<void> | null = null;
  let refreshing: Promise<boolean> | null = null;

  const signedIn = computed(() => accessToken.value !== null && user.value !== null);
  const role = computed<Role | null>(() => user.value?.role ?? null);

  function keep(access: string, refresh: string, who: UserView | null): void {
    accessToken.value = access;
    storage()?.setItem(REFRESH_KEY, refresh);
    if (who) user.value = who;
  }

  function clear(): void {
    accessToken.value = null;
    user.value = null;
    storage()?.removeItem(REFRESH_KEY);
  }

  async function loadMe(): Promise<void> {
    user.value = await authApi.me();
  }

  /** Swaps the refresh token for a new pair; concurrent callers share one request. */
  function refresh(): Promise<boolean> {
    if (refreshing) return refreshing;
    const token = storage()?.getItem(REFRESH_KEY);
    if (!token) return Promise.resolve(false);
    refreshing = (async () => {
      try {
        const t = await authApi.refresh(token);
        keep(t.accessToken, t.refreshToken, t.user ?? null);
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

  /** Once per page load: resumes the session of the stored refresh token, if any. */
  function restore(): Promise<void> {
    if (!restoring) restoring = refresh().then(() => undefined);
    return restoring;
  }

  /** Password (and TOTP when asked): 'ok', or the next step the person must take. */
  async function login(email: string, password: string, totp?: string): Promise<LoginOutcome> {
    const outcome = await authApi.login(email, password, totp);
    if (outcome.kind === 'ok') {
      keep(outcome.tokens.accessToken, outcome.tokens.refreshToken, outcome.tokens.user ?? null);
      if (!user.value) await loadMe();
      notice.value = null;
    }
    return outcome;
  }

  /** After an enrolment was confirmed with a code: the API answers with a session. */
  function adopt(access: string, refreshToken: string, who: UserView | null): Promise<void> {
    keep(access, refreshToken, who);
    return who ? Promise.resolve() : loadMe();
  }

  async function logout(): Promise<void> {
    const token = storage()?.getItem(REFRESH_KEY);
    try {
      if (token) await authApi.logout(token);
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
