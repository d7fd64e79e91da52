// Users and organisations in cloud.db: the part of identity the API, the editor's adminAuth and
// the `lifo4 user` command share. Emails are unique regardless of case. Changing a role or a
// password, resetting 2FA or disabling a user bumps its token_version, which voids its access and
// editor tokens at once (every request checks it, the realtime channel polls it), and revokes its
// refresh tokens: every session of the user ends, wherever the change was made.
import { randomUUID } from 'node:crypto';
import type { Role } from '../../domain/contracts';
import { DEFAULT_ORG_ID, type CloudDb } from '../cloud-db/cloud-db';
import { conflict, notFound } from './errors';
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

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  byEmail(email: string): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE email = ?').get(email) as UserRow | undefined;
  }

  byId(id: string): UserRow | undefined {
    return this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
  }

  orgExists(orgId: string): boolean {
    return this.db.prepare('SELECT 1 FROM orgs WHERE id = ?').get(orgId) !== undefined;
  }

  siteIdsOf(userId: string): string[] {
    return (this.db.prepare('SELECT site_id AS s FROM user_sites WHERE user_id = ? ORDER BY s').all(userId) as { s: string }[]).map((r) => r.s);
  }

  view(row: UserRow): UserView {
    return {
      id: row.id,
      email: row.email,
      role: row.role,
      orgId: row.org_id,
      twoFactor: row.totp_secret !== null,
      disabled: row.disabled !== 0,
      siteIds: this.siteIdsOf(row.id),
      createdAt: new Date(row.created_at).toISOString(),
    };
  }

  /** Users of one organisation, or of all when `orgId` is null; by email. */
  list(orgId: string | null): UserView[] {
    const rows = (orgId === null
      ? this.db.prepare('SELECT * FROM users ORDER BY email').all()
      : this.db.prepare('SELECT * FROM users WHERE org_id = ? ORDER BY email').all(orgId)) as UserRow[];
    return rows.map((r) => this.view(r));
  }

  async create(u: NewUser): Promise<UserRow> {
    const orgId = u.orgId ?? DEFAULT_ORG_ID;
    if (!this.orgExists(orgId)) throw notFound(`organisation ${orgId}`);
    if (this.byEmail(u.email)) throw conflict(`a user with email ${u.email} exists`);
    this.checkSites(orgId, u.siteIds ?? []);
    const hash = await hashPassword(u.password, this.bcryptCost);
    const id = randomUUID();
    const now = Date.now();
    this.db.transaction(() => {
      // Checked again inside the transaction: another request may have created it while we hashed.
      if (this.byEmail(u.email)) throw conflict(`a user with email ${u.email} exists`);
      this.db
        .prepare('INSERT INTO users (id, email, password_hash, role, org_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, u.email, hash, u.role, orgId, now, now);
      this.writeSites(id, u.siteIds ?? []);
    })();
    return this.byId(id) as UserRow;
  }

  private checkSites(orgId: string, siteIds: readonly string[]): void {
    const stmt = this.db.prepare('SELECT org_id FROM sites WHERE id = ?');
    for (const s of siteIds) {
      const row = stmt.get(s) as { org_id: string } | undefined;
      if (!row || row.org_id !== orgId) throw notFound(`site ${s} in organisation ${orgId}`);
    }
  }

  private writeSites(userId: string, siteIds: readonly string[]): void {
    this.db.prepare('DELETE FROM user_sites WHERE user_id = ?').run(userId);
    const ins = this.db.prepare('INSERT OR IGNORE INTO user_sites (user_id, site_id) VALUES (?, ?)');
    for (const s of siteIds) ins.run(userId, s);
  }

  setSites(userId: string, siteIds: readonly string[]): void {
    const row = this.byId(userId);
    if (!row) throw notFound('user');
    this.checkSites(row.org_id, siteIds);
    this.db.transaction(() => this.writeSites(userId, siteIds))();
  }

  /** Voids the user's access tokens (token_version) and refresh tokens. */
  private invalidateSessions(userId: string): void {
    this.db.prepare('UPDATE users SET token_version = token_version + 1, updated_at = ? WHERE id = ?').run(Date.now(), userId);
    this.db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL').run(Date.now(), userId);
  }

  setRole(userId: string, role: Role): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET role = ? WHERE id = ?').run(role, userId);
      this.invalidateSessions(userId);
    })();
  }

  setDisabled(userId: string, disabled: boolean): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, userId);
      this.invalidateSessions(userId);
    })();
  }

  /** New password: every session ends (a stolen session must not outlive the password it came with). */
  async setPassword(userId: string, password: string): Promise<void> {
    const hash = await hashPassword(password, this.bcryptCost);
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, userId);
      this.invalidateSessions(userId);
    })();
  }

  /** Removes the second factor and recovery codes: the user enrols again at the next login. */
  resetTwoFactor(userId: string): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0 WHERE id = ?').run(userId);
      this.db.prepare('DELETE FROM recovery_codes WHERE user_id = ?').run(userId);
      this.invalidateSessions(userId);
    })();
  }

  setPendingTotp(userId: string, sealed: string, recoveryHashes: readonly string[]): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET totp_pending = ? WHERE id = ?').run(sealed, userId);
      this.db.prepare('DELETE FROM recovery_codes WHERE user_id = ? AND pending = 1').run(userId);
      const ins = this.db.prepare('INSERT INTO recovery_codes (user_id, code_hash, pending) VALUES (?, ?, 1)');
      for (const h of recoveryHashes) ins.run(userId, h);
    })();
  }

  /** The pending enrolment becomes the user's second factor; its recovery codes replace any old ones. */
  activateTotp(userId: string, step: number): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ? WHERE id = ?').run(step, userId);
      this.db.prepare('DELETE FROM recovery_codes WHERE user_id = ? AND pending = 0').run(userId);
      this.db.prepare('UPDATE recovery_codes SET pending = 0 WHERE user_id = ?').run(userId);
    })();
  }

  /** Records an accepted TOTP step; false when another request used that step first. */
  useTotpStep(userId: string, step: number): boolean {
    return this.db.prepare('UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?').run(step, userId, step).changes === 1;
  }

  /** Consumes a recovery code: true once per code. */
  useRecoveryCode(userId: string, codeHash: string): boolean {
    return (
      this.db
        .prepare('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND pending = 0 AND used_at IS NULL')
        .run(Date.now(), userId, codeHash).changes === 1
    );
  }

  remainingRecoveryCodes(userId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND pending = 0 AND used_at IS NULL').get(userId) as { n: number }).n;
  }

  createOrg(id: string, name: string): void {
    if (this.orgExists(id)) throw conflict(`organisation ${id} exists`);
    this.db.prepare('INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)').run(id, name, Date.now());
  }

  listOrgs(): { id: string; name: string; createdAt: string }[] {
    return (this.db.prepare('SELECT id, name, created_at FROM orgs ORDER BY id').all() as { id: string; name: string; created_at: number }[]).map((o) => ({
      id: o.id,
      name: o.name,
      createdAt: new Date(o.created_at).toISOString(),
    }));
  }
}
