// The audit log: every state-changing request and every login attempt, with who, when, what, the
// target and the outcome. Written in the same transaction scope
// as nothing else: an audit row must exist even when the action failed.
import { sql, type RawBuilder } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';

export interface AuditEntry {
  userId?: string | null | undefined;
  email?: string | null | undefined;
  role?: string | null | undefined;
  orgId?: string | null | undefined;
  ip?: string | null | undefined;
  action: string;
  target?: string | null | undefined;
  outcome: 'success' | 'failure' | 'denied';
  status?: number | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface AuditView {
  id: number;
  ts: string;
  userId: string | null;
  email: string | null;
  role: string | null;
  orgId: string | null;
  ip: string | null;
  action: string;
  target: string | null;
  outcome: string;
  status: number | null;
  details: unknown;
}

interface AuditRow {
  id: number; ts: number; user_id: string | null; email: string | null; role: string | null; org_id: string | null;
  ip: string | null; action: string; target: string | null; outcome: string; status: number | null; details: string | null;
}

export interface AuditQuery {
  from?: number | undefined;
  to?: number | undefined;
  userId?: string | undefined;
  action?: string | undefined;
  /** Only entries of this organisation (ADMIN); null for all (SUPER_ADMIN). */
  orgId: string | null;
  limit: number;
}

export class AuditLog {
  constructor(private readonly db: CloudDb) {}

  async write(e: AuditEntry): Promise<void> {
    await this.db.run(sql`INSERT INTO audit (ts, user_id, email, role, org_id, ip, action, target, outcome, status, details)
      VALUES (${Date.now()}, ${e.userId ?? null}, ${e.email ?? null}, ${e.role ?? null}, ${e.orgId ?? null}, ${e.ip ?? null}, ${e.action},
        ${e.target ?? null}, ${e.outcome}, ${e.status ?? null}, ${e.details ? JSON.stringify(e.details) : null})`);
  }

  async query(q: AuditQuery): Promise<AuditView[]> {
    const where: RawBuilder<unknown>[] = [];
    if (q.from !== undefined) where.push(sql`ts >= ${q.from}`);
    if (q.to !== undefined) where.push(sql`ts < ${q.to}`);
    if (q.userId !== undefined) where.push(sql`user_id = ${q.userId}`);
    if (q.action !== undefined) where.push(sql`action = ${q.action}`);
    if (q.orgId !== null) where.push(sql`org_id = ${q.orgId}`);
    const filter = where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
    return (await this.db.all<AuditRow>(sql`SELECT * FROM audit ${filter} ORDER BY id DESC LIMIT ${q.limit}`)).map((r) => ({
      id: r.id, ts: new Date(r.ts).toISOString(), userId: r.user_id, email: r.email, role: r.role, orgId: r.org_id, ip: r.ip,
      action: r.action, target: r.target, outcome: r.outcome, status: r.status, details: r.details ? (JSON.parse(r.details) as unknown) : null,
    }));
  }
}
