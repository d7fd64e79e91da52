// The audit log: every state-changing request and every login attempt, with who, when, what, the
// target and the outcome. Written in the same transaction scope
// as nothing else: an audit row must exist even when the action failed.
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

  write(e: AuditEntry): void {
    this.db
      .prepare('INSERT INTO audit (ts, user_id, email, role, org_id, ip, action, target, outcome, status, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(Date.now(), e.userId ?? null, e.email ?? null, e.role ?? null, e.orgId ?? null, e.ip ?? null, e.action, e.target ?? null, e.outcome, e.status ?? null, e.details ? JSON.stringify(e.details) : null);
  }

  query(q: AuditQuery): AuditView[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.from !== undefined) { where.push('ts >= ?'); args.push(q.from); }
    if (q.to !== undefined) { where.push('ts < ?'); args.push(q.to); }
    if (q.userId !== undefined) { where.push('user_id = ?'); args.push(q.userId); }
    if (q.action !== undefined) { where.push('action = ?'); args.push(q.action); }
    if (q.orgId !== null) { where.push('org_id = ?'); args.push(q.orgId); }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as AuditRow[]).map((r) => ({
      id: r.id, ts: new Date(r.ts).toISOString(), userId: r.user_id, email: r.email, role: r.role, orgId: r.org_id, ip: r.ip,
      action: r.action, target: r.target, outcome: r.outcome, status: r.status, details: r.details ? (JSON.parse(r.details) as unknown) : null,
    }));
  }
}
