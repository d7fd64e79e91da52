// Tokens: a JWT (HS256) access token valid 1 h, a refresh token valid 30 d.
// - access token: a JWT signed HS256 with secrets.jwtSecret, checked by passport-jwt on every
//   request and by the realtime channel on connect; its claims name the user and its
//   token_version, and the role that counts is the one in the database at the time of the request.
// - enrolment token: a 10-minute JWT that only lets an ADMIN or SUPER_ADMIN without 2FA enrol it;
//   they never get an access token without TOTP.
// - editor token: the bearer token of the Node-RED editor (editor-auth.ts), a JWT for another
//   audience, so it opens neither the API nor the realtime channel, and an access token does not
//   open the editor. Checked like an access token on every editor request: the user's current
//   token_version and role count, not those at sign-in.
// - refresh token: opaque `<id>.<secret>` (only a SHA-256 of the secret is stored), single use:
//   every refresh marks it used and issues the next one in the same family; presenting a used
//   token again means it was stolen (or the client misbehaves), so the whole family is revoked.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { sql } from 'kysely';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { z } from 'zod';
import { RoleSchema, type Role } from '../../domain/contracts';
import type { CloudDb } from '../cloud-db/cloud-db';
import { unauthorized } from './errors';
import type { UserRow, UserStore } from './users';

export const ACCESS_TTL_S = 3600;
export const ENROLMENT_TTL_S = 600;
export const REFRESH_TTL_MS = 30 * 86_400_000;
const ISSUER = 'lifo4-ems';
const AUDIENCE = 'lifo4-api';
const EDITOR_AUDIENCE = 'lifo4-editor';

const ClaimsSchema = z.object({
  sub: z.string(),
  typ: z.enum(['access', 'enroll', 'editor']),
  tv: z.number().int(),
  role: RoleSchema,
  org: z.string(),
  /** Editor tokens: the id of the session's row in refresh_tokens, which sign-out revokes. */
  sid: z.string().optional(),
});
type Claims = z.infer<typeof ClaimsSchema>;

/** Who makes a request: always read fresh from the database. */
export interface Principal {
  userId: string;
  email: string;
  role: Role;
  orgId: string;
  /** Seconds since the epoch at which the token presented runs out. */
  tokenExp: number;
  /** Which kind of token authenticated the request. */
  via: Claims['typ'];
  /** The user's token_version the token was signed with (equal to the current one, or no principal). */
  tokenVersion: number;
}

export class TokenService {
  readonly passport = new Passport();
  readonly #secret: string;

  constructor(
    private readonly db: CloudDb,
    private readonly users: UserStore,
    secret: string,
  ) {
    this.#secret = secret;
    // A passport of our own: Node-RED's editor-api registers its strategies on the process-wide
    // passport singleton, and ours must neither see nor replace them.
    for (const typ of ['access', 'enroll'] as const) {
      this.passport.use(
        typ,
        new JwtStrategy(
          { jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: secret, algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE },
          (payload: unknown, done: (err: unknown, user?: Principal | false) => void) => {
            this.principalOf(payload, typ).then((p) => done(null, p ?? false), (err: unknown) => done(err));
          },
        ),
      );
    }
  }

  private sign(user: UserRow, typ: Claims['typ'], ttlS: number, sid?: string): string {
    const claims: Claims = { sub: user.id, typ, tv: user.token_version, role: user.role, org: user.org_id, ...(sid ? { sid } : {}) };
    const audience = typ === 'editor' ? EDITOR_AUDIENCE : AUDIENCE;
    return jwt.sign(claims, this.#secret, { algorithm: 'HS256', expiresIn: ttlS, issuer: ISSUER, audience, jwtid: randomUUID() });
  }

  /**
   * The editor's bearer token, valid `ttlS` seconds (the editor session's length). The session
   * has a row in refresh_tokens (whose secret nobody receives), so that signing out, and every
   * change that revokes the user's refresh tokens, ends it in every process.
   */
  async signEditor(user: UserRow, ttlS: number): Promise<string> {
    const [sid] = (await this.issueRefresh(user.id)).split('.');
    return this.sign(user, 'editor', ttlS, sid);
  }

  #editorClaims(token: string): { payload: unknown; sid: string } | null {
    try {
      const payload = jwt.verify(token, this.#secret, { algorithms: ['HS256'], issuer: ISSUER, audience: EDITOR_AUDIENCE });
      const sid = ClaimsSchema.safeParse(payload).data?.sid;
      return sid ? { payload, sid } : null;
    } catch {
      return null;
    }
  }

  /** The principal of an editor token, or null (bad, expired, signed out, or the user changed since). */
  async verifyEditor(token: string): Promise<Principal | null> {
    const c = this.#editorClaims(token);
    if (!c) return null;
    const row = await this.db.one<{ revoked_at: number | null }>(sql`SELECT revoked_at FROM refresh_tokens WHERE id = ${c.sid}`);
    return row && row.revoked_at === null ? this.principalOf(c.payload, 'editor') : null;
  }

  /** Signs an editor session out; true when the token was a valid editor token. */
  async revokeEditor(token: string): Promise<boolean> {
    const c = this.#editorClaims(token);
    if (!c) return false;
    await this.db.run(sql`UPDATE refresh_tokens SET revoked_at = ${Date.now()} WHERE id = ${c.sid} AND revoked_at IS NULL`);
    return true;
  }

  signAccess(user: UserRow): string {
    return this.sign(user, 'access', ACCESS_TTL_S);
  }

  signEnrolment(user: UserRow): string {
    return this.sign(user, 'enroll', ENROLMENT_TTL_S);
  }

  /** The principal of verified claims, or null when the user is gone, disabled or the token voided. */
  async principalOf(payload: unknown, typ: Claims['typ']): Promise<Principal | null> {
    const c = ClaimsSchema.safeParse(payload);
    if (!c.success || c.data.typ !== typ) return null;
    const user = await this.users.byId(c.data.sub);
    if (!user || user.disabled !== 0 || user.token_version !== c.data.tv) return null;
    const exp = (payload as { exp?: unknown }).exp;
    return { userId: user.id, email: user.email, role: user.role, orgId: user.org_id, tokenExp: typeof exp === 'number' ? exp : 0, via: typ, tokenVersion: user.token_version };
  }

  /** For the realtime handshake: the same checks as passport-jwt, through the same library. */
  async verifyAccess(token: string): Promise<Principal | null> {
    let payload: unknown;
    try {
      payload = jwt.verify(token, this.#secret, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
    } catch {
      return null;
    }
    return this.principalOf(payload, 'access');
  }

  async issueRefresh(userId: string, family: string = randomUUID(), db: CloudDb = this.db): Promise<string> {
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const now = Date.now();
    await db.run(sql`INSERT INTO refresh_tokens (id, family, user_id, secret_hash, issued_at, expires_at)
      VALUES (${id}, ${family}, ${userId}, ${sha256(secret)}, ${now}, ${now + REFRESH_TTL_MS})`);
    return `${id}.${secret}`;
  }

  private async find(token: string): Promise<{ id: string; family: string; user_id: string; expires_at: number; used_at: number | null; revoked_at: number | null } | null> {
    const [id, secret] = token.split('.');
    if (!id || !secret) return null;
    const row = await this.db.one<{ id: string; family: string; user_id: string; secret_hash: string; expires_at: number; used_at: number | null; revoked_at: number | null }>(
      sql`SELECT * FROM refresh_tokens WHERE id = ${id}`,
    );
    if (!row) return null;
    const a = Buffer.from(row.secret_hash, 'hex');
    const b = Buffer.from(sha256(secret), 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? row : null;
  }

  async revokeFamily(family: string, db: CloudDb = this.db): Promise<void> {
    await db.run(sql`UPDATE refresh_tokens SET revoked_at = ${Date.now()} WHERE family = ${family} AND revoked_at IS NULL`);
  }

  /**
   * Uses a refresh token: returns its user and the next token of the family. A token used before
   * revokes its family (reuse detection); an expired, revoked or unknown one is refused.
   */
  async rotate(token: string): Promise<{ user: UserRow; refreshToken: string; reused: false } | { reused: true; userId: string }> {
    const row = await this.find(token);
    const invalid = unauthorized('the refresh token is invalid, expired or revoked', 'invalid_refresh_token');
    if (!row) throw invalid;
    const reused = async (t: CloudDb) => {
      await this.revokeFamily(row.family, t);
      return { reused: true as const, userId: row.user_id };
    };
    return this.db.tx(async (t) => {
      if (row.used_at !== null) return reused(t);
      if (row.revoked_at !== null || row.expires_at <= Date.now()) throw invalid;
      const user = await this.users.byId(row.user_id, t);
      if (!user || user.disabled !== 0) throw invalid;
      // Only one of two requests presenting the same token at once marks it used; the other is a reuse.
      if ((await t.run(sql`UPDATE refresh_tokens SET used_at = ${Date.now()} WHERE id = ${row.id} AND used_at IS NULL`)) === 0) return reused(t);
      return { user, refreshToken: await this.issueRefresh(row.user_id, row.family, t), reused: false as const };
    });
  }

  /** Logout: revokes the token's whole family; true when the token was known. */
  async revoke(token: string): Promise<{ userId: string } | null> {
    const row = await this.find(token);
    if (!row) return null;
    await this.revokeFamily(row.family);
    return { userId: row.user_id };
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
