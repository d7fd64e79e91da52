// Handlers of the auth routes: login (password, then TOTP or a recovery code), refresh rotation,
// logout, password change and TOTP enrolment.
//
// Login guesses, of the password or of the second factor, go to the per-account brake
// (login-throttle.ts) that the editor's sign-in shares: while it holds an account the login
// answers 429 with Retry-After before any hash is computed. When the bcrypt pool's queue is full
// the login answers 503 with Retry-After (the router's), and nothing is counted.
import { PoolBusyError } from './bcrypt-pool';
import { ApiError, conflict, unauthorized } from './errors';
import { hasPermission, PERMISSIONS, requiresTwoFactor, type Permission } from '../../domain/permissions';
import { verifyPassword } from './passwords';
import type { Handlers, Reply, Services } from './services';
import { clearRefreshCookie, refreshCookieOf, requireJson, setRefreshCookie } from './refresh-cookie';
import { ACCESS_TTL_S, ENROLMENT_TTL_S, REFRESH_TTL_MS } from './tokens';
import { checkTotp, hashRecoveryCode, newEnrolment, newRecoveryCodes } from './totp';
import type { UserRow } from './users';
import type { Request, Response } from 'express';

export type AuthRoutes = 'login' | 'refresh' | 'logout' | 'me' | 'changePassword' | 'enrollTwoFactor' | 'verifyTwoFactor';
/** What the auth routes need: the edge serves them over its own accounts without the fleet's stores. */
export type AuthServices = Pick<Services, 'users' | 'tokens' | 'audit' | 'box' | 'decoyHash' | 'throttle' | 'visibilityChanged'>;

/**
 * The answer of a successful login or enrolment: the tokens in the body for API clients, and the
 * refresh token also as the browser's httpOnly cookie (refresh-cookie.ts).
 */
async function session(s: AuthServices, user: UserRow, ctx: { req: Request; res: Response }): Promise<Record<string, unknown>> {
  const refreshToken = await s.tokens.issueRefresh(user.id);
  setRefreshCookie(ctx.req, ctx.res, refreshToken);
  return {
    accessToken: s.tokens.signAccess(user),
    tokenType: 'Bearer',
    expiresIn: ACCESS_TTL_S,
    refreshToken,
    refreshExpiresIn: REFRESH_TTL_MS / 1000,
    user: await s.users.view(user),
  };
}

function enrolmentRequired(s: AuthServices, user: UserRow): ApiError {
  return new ApiError(403, 'enrollment_required', `${user.role} accounts must enrol TOTP 2FA before they get an access token: POST /api/v1/auth/2fa/enroll with the enrolment token, then /auth/2fa/verify`, {
    enrollmentToken: s.tokens.signEnrolment(user),
    expiresIn: ENROLMENT_TTL_S,
  });
}

export function authHandlers(s: AuthServices): Pick<Handlers, AuthRoutes> {
  async function login({ body, ip, req, res }: Parameters<Handlers['login']>[0]): Promise<Reply> {
    const user = await s.users.byEmail(body.email);
    const fail = async (code: string, message: string, reason: string): Promise<never> => {
      await s.audit.write({ userId: user?.id, email: body.email, role: user?.role, orgId: user?.org_id, ip, action: 'login', outcome: 'failure', status: 401, details: { reason } });
      throw unauthorized(message, code);
    };
    // Always one bcrypt compare, so an unknown email answers as slowly as a wrong password.
    const passwordOk = await verifyPassword(body.password, user?.password_hash ?? s.decoyHash);
    if (!user || !passwordOk) return fail('invalid_credentials', 'wrong email or password', user ? 'password' : 'unknown email');
    if (user.disabled) return fail('invalid_credentials', 'wrong email or password', 'disabled');
    let usedRecovery = false;
    if (user.totp_secret !== null) {
      if (body.totp !== undefined) {
        const step = await checkTotp(s.box.open(user.totp_secret), body.totp, user.totp_last_step);
        if (step === null || !(await s.users.useTotpStep(user.id, step))) return fail('invalid_totp', 'the TOTP code is wrong, expired or used already', 'totp');
      } else if (body.recoveryCode !== undefined) {
        if (!(await s.users.useRecoveryCode(user.id, hashRecoveryCode(body.recoveryCode)))) return fail('invalid_recovery_code', 'the recovery code is wrong or used already', 'recovery code');
        usedRecovery = true;
      } else {
        // The password was right: asking for the second factor is not a failed attempt.
        res.locals.notAFailure = true;
        throw unauthorized('this account has 2FA: send the TOTP code (or a recovery code) with the password', 'totp_required');
      }
    } else if (requiresTwoFactor(user.role)) {
      await s.audit.write({ userId: user.id, email: user.email, role: user.role, orgId: user.org_id, ip, action: 'login', outcome: 'denied', status: 403, details: { reason: '2FA not enrolled' } });
      res.locals.notAFailure = true;
      throw enrolmentRequired(s, user);
    }
    await s.audit.write({ userId: user.id, email: user.email, role: user.role, orgId: user.org_id, ip, action: 'login', outcome: 'success', status: 200, details: usedRecovery ? { recoveryCode: true } : undefined });
    const body2 = await session(s, user, { req, res });
    if (usedRecovery) body2.remainingRecoveryCodes = await s.users.remainingRecoveryCodes(user.id);
    return { body: body2 };
  }

  return {
    async login(ctx) {
      const turn = await s.throttle.begin(ctx.body.email);
      if (!turn.attempt) {
        const retryAfterS = Math.max(1, Math.ceil(turn.retryAfterMs / 1000));
        throw new ApiError(429, 'rate_limited', `too many failed login attempts for this account: try again in ${retryAfterS} s`, { retryAfterS }, { 'Retry-After': String(retryAfterS) });
      }
      try {
        const reply = await login(ctx);
        await turn.attempt.settle(true);
        return reply;
      } catch (err) {
        // Asking for the second factor or for enrolment is no failed guess; a busy pool judged nothing.
        // (The router answers a busy pool with 503.)
        await turn.attempt.settle(err instanceof PoolBusyError || ctx.res.locals.notAFailure === true ? undefined : false);
        throw err;
      }
    },

    async refresh({ body, ip, req, res }) {
      requireJson(req);
      // A browser sends its token as the cookie and gets the next one the same way, never in the
      // body, so page scripts never hold it; an API client sends and gets it in the body.
      const fromCookie = body.refreshToken === undefined;
      const token = body.refreshToken ?? refreshCookieOf(req);
      if (token === undefined) throw unauthorized('no refresh token: send it in the body or as the session cookie', 'invalid_refresh_token');
      let r: Awaited<ReturnType<Services['tokens']['rotate']>>;
      try {
        r = await s.tokens.rotate(token);
      } catch (err) {
        if (fromCookie) clearRefreshCookie(req, res);
        throw err;
      }
      if (r.reused) {
        if (fromCookie) clearRefreshCookie(req, res);
        const u = await s.users.byId(r.userId);
        await s.audit.write({ userId: r.userId, email: u?.email, role: u?.role, orgId: u?.org_id, ip, action: 'refresh', outcome: 'denied', status: 401, details: { reason: 'refresh token reused: session family revoked' } });
        throw unauthorized('this refresh token was used before: the whole session is revoked, log in again', 'refresh_token_reused');
      }
      // After a SUPER_ADMIN reset its 2FA, an ADMIN's session cannot be extended without enrolling again.
      if (requiresTwoFactor(r.user.role) && r.user.totp_secret === null) {
        await s.tokens.revoke(r.refreshToken);
        if (fromCookie) clearRefreshCookie(req, res);
        throw enrolmentRequired(s, r.user);
      }
      if (fromCookie) setRefreshCookie(req, res, r.refreshToken);
      return {
        body: {
          accessToken: s.tokens.signAccess(r.user), tokenType: 'Bearer', expiresIn: ACCESS_TTL_S,
          ...(fromCookie ? {} : { refreshToken: r.refreshToken }), refreshExpiresIn: REFRESH_TTL_MS / 1000, user: await s.users.view(r.user),
        },
      };
    },

    async logout({ body, ip, req, res }) {
      requireJson(req);
      const token = body.refreshToken ?? refreshCookieOf(req);
      clearRefreshCookie(req, res);
      const r = token === undefined ? undefined : await s.tokens.revoke(token);
      if (r) {
        const u = await s.users.byId(r.userId);
        await s.audit.write({ userId: r.userId, email: u?.email, role: u?.role, orgId: u?.org_id, ip, action: 'logout', outcome: 'success', status: 200 });
      }
      // The same answer for an unknown token: logout reveals nothing about tokens.
      return { body: { loggedOut: true } };
    },

    async me({ principal }) {
      const user = (await s.users.byId(principal.userId)) as UserRow;
      const permissions = (Object.keys(PERMISSIONS) as Permission[]).filter((p) => hasPermission(principal.role, p));
      return { body: { user: await s.users.view(user), permissions } };
    },

    async changePassword({ principal, body, req, res }) {
      const user = (await s.users.byId(principal.userId)) as UserRow;
      if (!(await verifyPassword(body.currentPassword, user.password_hash))) throw unauthorized('the current password is wrong', 'invalid_credentials');
      // Every session ends with the old password, this one too: it goes on with fresh tokens.
      await s.users.setPassword(user.id, body.newPassword);
      s.visibilityChanged();
      return { body: { changed: true, ...(await session(s, (await s.users.byId(user.id)) as UserRow, { req, res })) } };
    },

    async enrollTwoFactor({ principal }) {
      const user = (await s.users.byId(principal.userId)) as UserRow;
      if (user.totp_secret !== null) throw conflict('2FA is enrolled already; a SUPER_ADMIN can reset it');
      const e = await newEnrolment(user.email);
      const codes = newRecoveryCodes();
      await s.users.setPendingTotp(user.id, s.box.seal(e.secret), codes.map(hashRecoveryCode));
      return { body: { otpauthUri: e.otpauthUri, secret: e.secret, qrSvg: e.qrSvg, recoveryCodes: codes } };
    },

    async verifyTwoFactor({ principal, body, req, res }) {
      const user = (await s.users.byId(principal.userId)) as UserRow;
      if (user.totp_secret !== null) throw conflict('2FA is enrolled already');
      if (user.totp_pending === null) throw conflict('no enrolment to confirm: POST /api/v1/auth/2fa/enroll first');
      const step = await checkTotp(s.box.open(user.totp_pending), body.code, user.totp_last_step);
      if (step === null) throw unauthorized('the TOTP code is wrong or expired', 'invalid_totp');
      await s.users.activateTotp(user.id, step);
      return { body: { twoFactor: true, ...(await session(s, (await s.users.byId(user.id)) as UserRow, { req, res })) } };
    },
  };
}
