// Node-RED's `adminAuth` for the editor at /editor, backed by our users (Node-RED docs, "Securing
// Node-RED", adminAuth type 'credentials' with users(username) and authenticate(username,
// password) functions): ADMIN and above may deploy (permission '*'), TECHNICIAN reads ('read'),
// every other role is refused. The username is the email.
//
// Node-RED's login form has a username and a password field only, so the second factor rides in
// the password field: a user with 2FA types the password immediately followed by the current
// 6-digit TOTP code ("correct horse battery staple123456"). ADMIN and SUPER_ADMIN without 2FA
// are refused (they enrol through the API first), exactly as the API refuses them tokens. Failed
// attempts are limited like API logins: 5 per account per 15 minutes.
import type { Role } from '../../domain/contracts';
import type { AuditLog } from './audit';
import { hasPermission, requiresTwoFactor } from '../../domain/permissions';
import { verifyPassword } from './passwords';
import { checkTotp, type SecretBox } from './totp';
import type { UserRow, UserStore } from './users';

export interface EditorUser {
  username: string;
  permissions: '*' | 'read';
}

export interface EditorAdminAuth {
  type: 'credentials';
  users: (username: string) => Promise<EditorUser | null>;
  authenticate: (username: string, password: string) => Promise<EditorUser | null>;
}

const WINDOW_MS = 15 * 60_000;

export function editorPermissions(role: Role): EditorUser['permissions'] | null {
  if (hasPermission(role, 'editor:deploy')) return '*';
  return hasPermission(role, 'editor:read') ? 'read' : null;
}

export function editorAdminAuth(deps: { users: UserStore; box: SecretBox; audit: AuditLog; decoyHash: string; maxFailures?: number }): EditorAdminAuth {
  const failures = new Map<string, { count: number; resetAt: number }>();
  const maxFailures = deps.maxFailures ?? 5;
  const editorUser = (u: UserRow | undefined): EditorUser | null => {
    if (!u || u.disabled) return null;
    const permissions = editorPermissions(u.role);
    // An ADMIN without 2FA has no editor either: the rule of the API holds here too.
    if (!permissions || (requiresTwoFactor(u.role) && u.totp_secret === null)) return null;
    return { username: u.email, permissions };
  };
  return {
    type: 'credentials',
    async users(username) {
      return editorUser(deps.users.byEmail(String(username)));
    },
    async authenticate(username, password) {
      const email = String(username).toLowerCase();
      const now = Date.now();
      const f = failures.get(email);
      if (f && f.resetAt <= now) failures.delete(email);
      if ((failures.get(email)?.count ?? 0) >= maxFailures) {
        deps.audit.write({ email, action: 'editor-login', outcome: 'denied', details: { reason: 'rate limited' } });
        return null;
      }
      const u = deps.users.byEmail(email);
      const pw = String(password);
      const twoFactor = u?.totp_secret != null;
      const secretPart = twoFactor ? pw.slice(0, -6) : pw;
      let ok = await verifyPassword(secretPart, u?.password_hash ?? deps.decoyHash);
      if (ok && u && twoFactor) {
        const step = await checkTotp(deps.box.open(u.totp_secret as string), pw.slice(-6), u.totp_last_step);
        ok = step !== null && deps.users.useTotpStep(u.id, step);
      }
      const user = ok ? editorUser(u) : null;
      if (!user) {
        const cur = failures.get(email) ?? { count: 0, resetAt: now + WINDOW_MS };
        cur.count += 1;
        failures.set(email, cur);
      } else failures.delete(email);
      deps.audit.write({ userId: u?.id, email, role: u?.role, orgId: u?.org_id, action: 'editor-login', outcome: user ? 'success' : 'failure', details: user ? { permissions: user.permissions } : undefined });
      return user;
    },
  };
}
