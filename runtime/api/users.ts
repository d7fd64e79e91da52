// Users and organisations in cloud.db: the part of identity the API, the editor's adminAuth and
// the `lifo4 user` command share. Emails are unique regardless of case. Changing a role or a
// password, resetting 2FA or disabling a user bumps its token_version, which voids its access and
// editor tokens at once (every request checks it, the realtime channel polls it), and revokes its
// refresh tokens: every session of the user ends, wherever the change was made.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Role } from '../../domain/contracts';
import { DEFAULT_ORG_ID, type CloudDb } from '../cloud-db/cloud-db';
import { ApiError, conflict, notFound } from './errors';
import { BCRYPT_COST, hashPassword } from './passwords';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  role: Role;
  org_id: string;
  totp_secret: string | null;
  totp_pending: string | null;
  totp_last_step: number;
  token_version: number;
  disabled: number;
  created_at: number;
  updated_at: number;
}

/** What the API shows of a user: never a hash or a secret. */
export interface UserView {
  id: string;
  email: string;
  role: Role;
  orgId: string;
  twoFactor: boolean;
  disabled: boolean;
  siteIds: string[];
  createdAt: string;
}

export interface NewUser {
  email: string;
  password: string;
  role: Role;
  orgId?: string | undefined;
  siteIds?: readonly string[] | undefined;
}

export class UserStore {
  constructor(
    private readonly db: CloudDb,
    private readonly bcryptCost: number = BCRYPT_COST,
  ) {}

  async count(): Promise<number> {
    return (await this.db.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM users`))?.n ?? 0;
  }

  byEmail(email: string, db: CloudDb = this.db): Promise<UserRow | undefined> {
    return db.one<UserRow>(sql`SELECT * FROM users WHERE lower(email) = lower(${email})`);
  }

  byId(id: string, db: CloudDb = this.db): Promise<UserRow | undefined> {
    return db.one<UserRow>(sql`SELECT * FROM users WHERE id = ${id}`);
  }

  async orgExists(orgId: string): Promise<boolean> {
    return (await this.db.one(sql`SELECT 1 AS x FROM orgs WHERE id = ${orgId}`)) !== undefined;
  }

  async siteIdsOf(userId: string): Promise<string[]> {
    return (await this.db.all<{ s: string }>(sql`SELECT site_id AS s FROM user_sites WHERE user_id = ${userId} ORDER BY s`)).map((r) => r.s);
  }

  async view(row: UserRow): Promise<UserView> {
    return {
      id: row.id,
      email: row.email,
      role: row.role,
      orgId: row.org_id,
      twoFactor: row.totp_secret !== null,
      disabled: row.disabled !== 0,
      siteIds: await this.siteIdsOf(row.id),
      createdAt: new Date(row.created_at).toISOString(),
    };
  }

  /** Users of one organisation, or of all when `orgId` is null; by email. */
  async list(orgId: string | null): Promise<UserView[]> {
    const rows = await (orgId === null
      ? this.db.all<UserRow>(sql`SELECT * FROM users ORDER BY email`)
      : this.db.all<UserRow>(sql`SELECT * FROM users WHERE org_id = ${orgId} ORDER BY email`));
    const out: UserView[] = [];
    for (const r of rows) out.push(await this.view(r));
    return out;
  }

  async create(u: NewUser): Promise<UserRow> {
    const orgId = u.orgId ?? DEFAULT_ORG_ID;
    if (!(await this.orgExists(orgId))) throw notFound(`organisation ${orgId}`);
    if (await this.byEmail(u.email)) throw conflict(`a user with email ${u.email} exists`);
    await this.checkSites(orgId, u.siteIds ?? []);
    const hash = await hashPassword(u.password, this.bcryptCost);
    const id = randomUUID();
    const now = Date.now();
    try {
      await this.db.tx(async (t) => {
        // Checked again inside the transaction: another request may have created it while we
        // hashed. The unique index on the address decides between two processes racing here.
        if (await this.byEmail(u.email, t)) throw conflict(`a user with email ${u.email} exists`);
        await t.run(sql`INSERT INTO users (id, email, password_hash, role, org_id, created_at, updated_at)
          VALUES (${id}, ${u.email}, ${hash}, ${u.role}, ${orgId}, ${now}, ${now})`);
        await this.writeSites(t, id, u.siteIds ?? []);
      });
    } catch (err) {
      if (!(err instanceof ApiError) && (await this.byEmail(u.email))) throw conflict(`a user with email ${u.email} exists`);
      throw err;
    }
    return (await this.byId(id)) as UserRow;
  }

  private async checkSites(orgId: string, siteIds: readonly string[]): Promise<void> {
    for (const s of siteIds) {
      const row = await this.db.one<{ org_id: string }>(sql`SELECT org_id FROM sites WHERE id = ${s}`);
      if (!row || row.org_id !== orgId) throw notFound(`site ${s} in organisation ${orgId}`);
    }
  }

  private async writeSites(t: CloudDb, userId: string, siteIds: readonly string[]): Promise<void> {
    await t.run(sql`DELETE FROM user_sites WHERE user_id = ${userId}`);
    for (const s of siteIds) {
      await t.run(sql`INSERT INTO user_sites (user_id, site_id) VALUES (${userId}, ${s}) ON CONFLICT (user_id, site_id) DO NOTHING`);
    }
  }

  async setSites(userId: string, siteIds: readonly string[]): Promise<void> {
    const row = await this.byId(userId);
    if (!row) throw notFound('user');
    await this.checkSites(row.org_id, siteIds);
    await this.db.tx((t) => this.writeSites(t, userId, siteIds));
  }

  /** Voids the user's access tokens (token_version) and refresh tokens. */
  private async invalidateSessions(t: CloudDb, userId: string): Promise<void> {
    const now = Date.now();
    await t.run(sql`UPDATE users SET token_version = token_version + 1, updated_at = ${now} WHERE id = ${userId}`);
    await t.run(sql`UPDATE refresh_tokens SET revoked_at = ${now} WHERE user_id = ${userId} AND revoked_at IS NULL`);
  }

  async setRole(userId: string, role: Role): Promise<void> {
    await this.db.tx(async (t) => {
      await t.run(sql`UPDATE users SET role = ${role} WHERE id = ${userId}`);
      await this.invalidateSessions(t, userId);
    });
  }

  async setDisabled(userId: string, disabled: boolean): Promise<void> {
    await this.db.tx(async (t) => {
      await t.run(sql`UPDATE users SET disabled = ${disabled ? 1 : 0} WHERE id = ${userId}`);
      await this.invalidateSessions(t, userId);
    });
  }

  /** New password: every session ends (a stolen session must not outlive the password it came with). */
  async setPassword(userId: string, password: string): Promise<void> {
    const hash = await hashPassword(password, this.bcryptCost);
    await this.db.tx(async (t) => {
      await t.run(sql`UPDATE users SET password_hash = ${hash} WHERE id = ${userId}`);
      await this.invalidateSessions(t, userId);
    });
  }

  /** Removes the second factor and recovery codes: the user enrols again at the next login. */
  async resetTwoFactor(userId: string): Promise<void> {
    await this.db.tx(async (t) => {
      await t.run(sql`UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0 WHERE id = ${userId}`);
      await t.run(sql`DELETE FROM recovery_codes WHERE user_id = ${userId}`);
      await this.invalidateSessions(t, userId);
    });
  }

  async setPendingTotp(userId: string, sealed: string, recoveryHashes: readonly string[]): Promise<void> {
    await this.db.tx(async (t) => {
      await t.run(sql`UPDATE users SET totp_pending = ${sealed} WHERE id = ${userId}`);
      await t.run(sql`DELETE FROM recovery_codes WHERE user_id = ${userId} AND pending = 1`);
      for (const h of recoveryHashes) await t.run(sql`INSERT INTO recovery_codes (user_id, code_hash, pending) VALUES (${userId}, ${h}, 1)`);
    });
  }

  /** The pending enrolment becomes the user's second factor; its recovery codes replace any old ones. */
  async activateTotp(userId: string, step: number): Promise<void> {
    await this.db.tx(async (t) => {
      await t.run(sql`UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ${step} WHERE id = ${userId}`);
      await t.run(sql`DELETE FROM recovery_codes WHERE user_id = ${userId} AND pending = 0`);
      await t.run(sql`UPDATE recovery_codes SET pending = 0 WHERE user_id = ${userId}`);
    });
  }

  /** Records an accepted TOTP step; false when another request used that step first. */
  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return (await this.db.run(sql`UPDATE users SET totp_last_step = ${step} WHERE id = ${userId} AND totp_last_step < ${step}`)) === 1;
  }

  /** Consumes a recovery code: true once per code. */
  async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    return (
      (await this.db.run(
        sql`UPDATE recovery_codes SET used_at = ${Date.now()} WHERE user_id = ${userId} AND code_hash = ${codeHash} AND pending = 0 AND used_at IS NULL`,
      )) === 1
    );
  }

  async remainingRecoveryCodes(userId: string): Promise<number> {
    return (await this.db.one<{ n: number }>(sql`SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ${userId} AND pending = 0 AND used_at IS NULL`))?.n ?? 0;
  }

  async createOrg(id: string, name: string): Promise<void> {
    // The primary key decides between two requests racing: the second changes nothing and is refused.
    const added = await this.db.run(sql`INSERT INTO orgs (id, name, created_at) VALUES (${id}, ${name}, ${Date.now()}) ON CONFLICT (id) DO NOTHING`);
    if (added === 0) throw conflict(`organisation ${id} exists`);
  }

  async listOrgs(): Promise<{ id: string; name: string; createdAt: string }[]> {
    return (await this.db.all<{ id: string; name: string; created_at: number }>(sql`SELECT id, name, created_at FROM orgs ORDER BY id`)).map((o) => ({
      id: o.id,
      name: o.name,
      createdAt: new Date(o.created_at).toISOString(),
    }));
  }
}
