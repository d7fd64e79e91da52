// Node-RED's `adminAuth` for the editor at /editor, backed by our users (Node-RED docs, "Securing
// Node-RED", adminAuth type 'credentials' with users, authenticate and tokens functions). Which
// role gets what is the permission table's (editor:read, editor:deploy); the cloud gives both to
// SUPER_ADMIN only. The username is the email.
//
// Sessions follow the user. authenticate() answers with a token of our own (tokens.ts, an editor
// token valid `sessionHours`) instead of letting Node-RED keep a session, and tokens() checks it on
// every editor request and on the editor's comms socket: the user's current token_version,
// disabled flag, 2FA and role decide, so a role change, a password change, a disable or a 2FA
// reset, in this process or by `lifo4 user` in another, ends the session at the next request.
// (A Node-RED session would keep the scope of its sign-in until it expires.) users() answers null:
// no session of Node-RED's own, such as one left from an older version, is honoured.
//
// Node-RED's login form has a username and a password field only, so the second factor rides in
// the password field: a user with 2FA types the password immediately followed by the current
// 6-digit TOTP code ("correct horse battery staple123456"). ADMIN and SUPER_ADMIN without 2FA
// are refused (they enrol through the API first), exactly as the API refuses them tokens. Failed
// attempts go to the same per-account brake as API logins (login-throttle.ts).
//
// editorSignInHandler() answers the editor's POST /editor/auth/token itself, ahead of Node-RED's
// (and its sign-out, POST /editor/auth/revoke, which revokes the session's row):
// Node-RED's own endpoint refuses a user name for 10 minutes after 5 failures from anywhere (an
// attacker's 6 tries lock the real user out), and cannot say when to try again. Ours answers a
// braked account with 429 and Retry-After, a full bcrypt queue with 503, and otherwise exactly what
// Node-RED's editor expects ({access_token, expires_in, token_type}).
import express, { type RequestHandler, type Router } from 'express';
import type { Role } from '../../domain/contracts';
import type { AuditLog } from './audit';
import { hasPermission, requiresTwoFactor } from '../../domain/permissions';
import type { LoginThrottle } from './login-throttle';
import { PoolBusyError } from './bcrypt-pool';
import { verifyPassword } from './passwords';
import type { TokenService } from './tokens';
import { checkTotp, type SecretBox } from './totp';
import type { UserRow, UserStore } from './users';

export interface EditorUser {
  username: string;
  permissions: '*' | 'read';
}

/** The outcome of one sign-in. */
export type EditorSignIn =
  | { outcome: 'ok'; user: EditorUser; token: string; expiresInS: number }
  | { outcome: 'refused' }
  | { outcome: 'braked'; retryAfterS: number }
  | { outcome: 'busy' };

export interface EditorAdminAuth {
  type: 'credentials';
  /** One sign-in with the brake's and the pool's answers (what authenticate() flattens to null). */
  signIn: (username: string, password: string) => Promise<EditorSignIn>;
  /** Node-RED's own sessions' length in seconds; unused by our tokens but kept equal. */
  sessionExpiryTime: number;
  users: (username: string) => Promise<EditorUser | null>;
  authenticate: (username: string, password: string) => Promise<(EditorUser & { token: string }) | null>;
  tokens: (token: string) => Promise<EditorUser | null>;
}

/** Default length of an editor session: a working day. */
export const EDITOR_SESSION_HOURS = 8;

export function editorPermissions(role: Role): EditorUser['permissions'] | null {
  if (hasPermission(role, 'editor:deploy')) return '*';
  return hasPermission(role, 'editor:read') ? 'read' : null;
}

export interface EditorAuthDeps {
  users: UserStore;
  tokens: TokenService;
  box: SecretBox;
  audit: AuditLog;
  /** A hash at the cost of real ones, compared against for unknown names. */
  decoyHash: string;
  /** The per-account brake shared with the API's login. */
  throttle: LoginThrottle;
  /** Length of an editor session, hours (default EDITOR_SESSION_HOURS). */
  sessionHours?: number;
  /** Which editor rights a role has; default the permission table's editor:read / editor:deploy. */
  permissionsOf?: (role: Role) => EditorUser['permissions'] | null;
}

export function editorAdminAuth(deps: EditorAuthDeps): EditorAdminAuth {
  const permissionsOf = deps.permissionsOf ?? editorPermissions;
  const sessionS = Math.max(1, Math.round((deps.sessionHours ?? EDITOR_SESSION_HOURS) * 3600));
  const editorUser = (u: UserRow | undefined): EditorUser | null => {
    if (!u || u.disabled) return null;
    const permissions = permissionsOf(u.role);
    // An ADMIN without 2FA has no editor either: the rule of the API holds here too.
    if (!permissions || (requiresTwoFactor(u.role) && u.totp_secret === null)) return null;
    return { username: u.email, permissions };
  };
  async function signIn(username: string, password: string): Promise<EditorSignIn> {
    const email = String(username).toLowerCase();
    const turn = await deps.throttle.begin(email);
    if (!turn.attempt) {
      const retryAfterS = Math.max(1, Math.ceil(turn.retryAfterMs / 1000));
      await deps.audit.write({ email, action: 'editor-login', outcome: 'denied', details: { reason: 'rate limited', retryAfterS } });
      return { outcome: 'braked', retryAfterS };
    }
    const u = await deps.users.byEmail(email);
    const pw = String(password);
    const twoFactor = u?.totp_secret != null;
    const secretPart = twoFactor ? pw.slice(0, -6) : pw;
    let ok: boolean;
    try {
      ok = await verifyPassword(secretPart, u?.password_hash ?? deps.decoyHash);
    } catch (err) {
      await turn.attempt.settle(undefined);
      if (err instanceof PoolBusyError) {
        await deps.audit.write({ email, action: 'editor-login', outcome: 'denied', details: { reason: 'busy' } });
        return { outcome: 'busy' };
      }
      throw err;
    }
    if (ok && u && twoFactor) {
      const step = await checkTotp(deps.box.open(u.totp_secret as string), pw.slice(-6), u.totp_last_step);
      ok = step !== null && (await deps.users.useTotpStep(u.id, step));
    }
    const user = ok && u ? editorUser(u) : null;
    // Right credentials without an editor right are no guess: they clear the brake like a login.
    await turn.attempt.settle(ok);
    await deps.audit.write({ userId: u?.id, email, role: u?.role, orgId: u?.org_id, action: 'editor-login', outcome: user ? 'success' : 'failure', details: user ? { permissions: user.permissions } : undefined });
    return user && u ? { outcome: 'ok', user, token: await deps.tokens.signEditor(u, sessionS), expiresInS: sessionS } : { outcome: 'refused' };
  }

  return {
    type: 'credentials',
    sessionExpiryTime: sessionS,
    async users() {
      return null;
    },
    async tokens(token) {
      const p = await deps.tokens.verifyEditor(String(token));
      return p ? editorUser(await deps.users.byId(p.userId)) : null;
    },
    signIn,
    async authenticate(username, password) {
      const r = await signIn(username, password);
      return r.outcome === 'ok' ? { ...r.user, token: r.token } : null;
    },
  };
}

/**
 * The editor's sign-in and sign-out, to mount at /editor/auth ahead of Node-RED's admin routes:
 * POST /token (its login form: client_id, grant_type 'password', scope, username, password, as a
 * form or JSON), behind `limit`; POST /revoke {token} (its sign-out) ends the session for good.
 * Everything else under /editor/auth goes on to Node-RED.
 */
export function editorSignInHandler(auth: Pick<EditorAdminAuth, 'signIn'>, tokens: Pick<TokenService, 'revokeEditor'>, limit: RequestHandler): Router {
  const refuse = (res: express.Response, status: number, error: string, message: string, headers: Record<string, string> = {}) => {
    res.set(headers).status(status).json({ error, message });
  };
  const handler: RequestHandler = (req, res, next) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const { username, password, grant_type: grant, scope } = b;
    if (grant !== 'password' || typeof username !== 'string' || typeof password !== 'string' || username.length > 320 || password.length > 256) {
      return refuse(res, 400, 'invalid_request', 'expected grant_type=password with a username and a password');
    }
    auth.signIn(username, password).then((r) => {
      switch (r.outcome) {
        case 'braked':
          return refuse(res, 429, 'rate_limited', `too many failed sign-ins for this account: try again in ${r.retryAfterS} s`, { 'Retry-After': String(r.retryAfterS) });
        case 'busy':
          return refuse(res, 503, 'busy', 'too many sign-ins are being checked: try again in a moment', { 'Retry-After': '1' });
        case 'refused':
          return refuse(res, 401, 'unauthorized', 'wrong user name or password, or no editor access');
        case 'ok':
          // The scope asked for ('' = whatever the user holds) must be one the user holds.
          if (typeof scope === 'string' && scope !== '' && scope !== r.user.permissions && r.user.permissions !== '*') {
            return refuse(res, 403, 'forbidden', `this user's editor access is ${r.user.permissions}`);
          }
          res.set('Cache-Control', 'no-store').json({ access_token: r.token, expires_in: r.expiresInS, token_type: 'Bearer' });
      }
    }, next);
  };
  const signOut: RequestHandler = (req, res, next) => {
    const token = ((req.body ?? {}) as { token?: unknown }).token;
    // Like Node-RED's: only a valid token signs out, and only itself.
    if (typeof token !== 'string') return refuse(res, 401, 'unauthorized', 'a valid editor token is required');
    tokens.revokeEditor(token).then((ok) => (ok ? void res.status(200).end() : refuse(res, 401, 'unauthorized', 'a valid editor token is required')), next);
  };
  const unreadable: express.ErrorRequestHandler = (_err, _req, res, _next) => refuse(res, 400, 'invalid_request', 'the request body could not be read');
  const body = [express.urlencoded({ extended: false, limit: '4kb' }), express.json({ limit: '4kb' })];
  return express.Router().post('/token', limit, ...body, handler, unreadable).post('/revoke', ...body, signOut, unreadable);
}
