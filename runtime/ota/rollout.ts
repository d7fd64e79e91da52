// The cloud's canary roll-out: 5 -> 25 -> 50 -> 100 % of the sites, 24 h each by default. What hawkBit and AWS IoT Jobs learned: a group advances when its success share is reached
// and the roll-out pauses by itself when failures pass a threshold after a minimum number of sites
// ran; and (hawkBit's worst reported bug) a site that goes silent after its notice counts as FAILED
// once download + restart + health window + grace have passed, instead of holding the roll-out
// forever as "running". A silent site that comes back later still reports its real outcome.
// Time comes from an injected clock so the tests drive days in microseconds. With several cloud
// processes only the holder of the 'ota-rollout' lease evaluates roll-outs and takes the agents'
// reports (every process hears them); a roll-out created or resumed through another process's API
// starts at the holder's next tick.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import type { CloudDb } from '../cloud-db/cloud-db';
import { soleLease, type Lease } from '../cloud-db/lease';
import { FINAL_PHASES, type OtaNotice, type OtaPhase, type OtaStatus } from './messages';

const MIN = 60_000;

export const RolloutConfigSchema = z
  .strictObject({
    /** Cumulative share of the target sites per stage, %, ascending, the last 100. */
    stages: z.array(z.number().min(0.1).max(100)).min(1).max(10).default([5, 25, 50, 100]),
    /** How long each stage lasts at least, ms (default 24 h). */
    stageMs: z.number().int().min(0).max(30 * 24 * 60 * MIN).default(24 * 60 * MIN),
    /** Share of a stage's sites that must have committed for the next stage to start. */
    successShare: z.number().min(0).max(1).default(0.95),
    /** Pause when failed / finished passes this ... */
    failureShare: z.number().min(0).max(1).default(0.1),
    /** ... once at least this many sites finished (a single early failure says little). */
    minSites: z.number().int().min(1).max(100_000).default(3),
    /** A notified site without a final report after this long counts as failed, ms. */
    silentMs: z.number().int().min(1000).max(7 * 24 * 60 * MIN).default(15 * MIN + 5 * MIN + 5 * MIN + 10 * MIN),
  })
  .refine((c) => c.stages.every((s, i) => i === 0 || s > c.stages[i - 1]!), { message: 'stages must be ascending', path: ['stages'] })
  .refine((c) => c.stages.at(-1) === 100, { message: 'the last stage must be 100 %', path: ['stages'] });
export type RolloutConfig = z.output<typeof RolloutConfigSchema>;
export type RolloutConfigInput = z.input<typeof RolloutConfigSchema>;

export type RolloutState = 'running' | 'paused' | 'aborted' | 'completed';
export type TargetPhase = 'pending' | 'notified' | OtaPhase | 'silent';

export interface TargetView {
  siteId: string;
  stage: number | null;
  phase: TargetPhase;
  reason: string | null;
  notifiedAt: number | null;
  reportedAt: number | null;
  final: boolean;
}

export interface RolloutView {
  id: string;
  version: string;
  sequence: number;
  state: RolloutState;
  reason: string | null;
  stage: number;
  stagePercent: number;
  stageStartedAt: number;
  createdAt: number;
  createdBy: string | null;
  config: RolloutConfig;
  counts: { targets: number; notified: number; committed: number; failed: number; silent: number; pending: number };
}

interface DeploymentRow {
  id: string; version: string; sequence: number; url: string; created_by: string | null; created_at: number; state: RolloutState;
  config: string; stage: number; stage_started_at: number; reason: string | null; updated_at: number; baseline_failed: number; baseline_done: number;
}
interface TargetRow {
  deployment_id: string; site_id: string; position: number; notified_at: number | null; phase: TargetPhase; reason: string | null;
  reported_at: number | null; final: number;
}

const FAILED: ReadonlySet<string> = new Set(['rolled-back', 'refused', 'failed', 'silent']);

export interface RolloutOptions {
  db: CloudDb;
  /** Sends a notice to a site (QoS 1 on lifo4/<siteId>/ota); a rejection is logged, the site may go silent. */
  notify: (notice: OtaNotice) => Promise<void>;
  now?: () => number;
  log?: (line: string) => void;
  /** Called after every change of a roll-out (realtime push, tests). */
  changed?: (id: string) => void;
  /** Evaluates and takes reports only while this lease is held (default: always, one process). */
  lease?: Lease;
}

export class RolloutError extends Error {
  override readonly name = 'RolloutError';
  constructor(readonly code: 'not_found' | 'conflict', message: string) {
    super(message);
  }
}

export class RolloutController {
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly lease: Lease;

  constructor(private readonly o: RolloutOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.log ?? ((line) => console.error(line));
    this.lease = o.lease ?? soleLease('ota-rollout');
  }

  async create(input: { id?: string; version: string; sequence: number; url: string; siteIds: readonly string[]; config?: RolloutConfigInput; by?: string | null }): Promise<RolloutView> {
    const config = RolloutConfigSchema.parse(input.config ?? {});
    const id = input.id ?? randomUUID();
    const now = this.now();
    const sites = [...new Set(input.siteIds)].sort();
    if (sites.length === 0) throw new RolloutError('conflict', 'a roll-out needs at least one site');
    await this.o.db.tx(async (db) => {
      if (await db.one(sql`SELECT 1 AS n FROM ota_deployments WHERE id = ${id}`)) throw new RolloutError('conflict', `deployment ${id} exists`);
      await db.run(sql`INSERT INTO ota_deployments (id, version, sequence, url, created_by, created_at, state, config, stage, stage_started_at, updated_at)
        VALUES (${id}, ${input.version}, ${input.sequence}, ${input.url}, ${input.by ?? null}, ${now}, 'running', ${JSON.stringify(config)}, 0, ${now}, ${now})`);
      // Canary order: a stable shuffle by id, so the first 5 % are not always the same sites.
      const ordered = sites.map((s) => ({ s, k: hashOrder(`${id}:${s}`) })).sort((a, b) => a.k - b.k);
      for (let i = 0; i < ordered.length; i += 500) {
        const rows = ordered.slice(i, i + 500).map(({ s }, j) => sql`(${id}, ${s}, ${i + j}, 'pending')`);
        await db.run(sql`INSERT INTO ota_targets (deployment_id, site_id, position, phase) VALUES ${sql.join(rows)}`);
      }
    });
    await this.tick();
    return (await this.get(id))!;
  }

  /** Evaluates every running roll-out (on the lease holder): notices for the current stage, silent sites, pause, advance, completion. */
  async tick(): Promise<void> {
    if (!this.lease.isHolder()) return;
    const rows = await this.o.db.all(sql<DeploymentRow>`SELECT * FROM ota_deployments WHERE state = 'running' ORDER BY created_at, id`);
    for (const d of rows) await this.evaluate(d);
  }

  private async evaluate(d: DeploymentRow): Promise<void> {
    const config = RolloutConfigSchema.parse(JSON.parse(d.config));
    const now = this.now();
    const toSend: OtaNotice[] = [];
    await this.o.db.tx(async (db) => {
      const targets = await db.all(sql<TargetRow>`SELECT * FROM ota_targets WHERE deployment_id = ${d.id} ORDER BY position`);
      for (const t of targets) {
        if (t.notified_at !== null && !t.final && now - t.notified_at >= config.silentMs) {
          await db.run(sql`UPDATE ota_targets SET phase = 'silent', final = 1, reason = ${`no final report within ${Math.round(config.silentMs / 1000)} s of the notice`}, reported_at = ${now}
            WHERE deployment_id = ${d.id} AND site_id = ${t.site_id}`);
          t.phase = 'silent';
          t.final = 1;
        }
      }
      let stage = d.stage;
      let stageStartedAt = d.stage_started_at;
      let state: RolloutState = 'running';
      let reason: string | null = null;
      for (;;) {
        const cohort = targets.slice(0, cohortSize(config.stages[stage]!, targets.length));
        for (const t of cohort) {
          if (t.notified_at === null) {
            // Only the update that finds the site not yet notified sends its notice.
            const marked = await db.run(sql`UPDATE ota_targets SET notified_at = ${now}, phase = 'notified'
              WHERE deployment_id = ${d.id} AND site_id = ${t.site_id} AND notified_at IS NULL`);
            t.notified_at = now;
            t.phase = 'notified';
            if (marked === 1) toSend.push(notice(d, t.site_id, now));
          }
        }
        const done = targets.filter((t) => t.final).length;
        const failed = targets.filter((t) => t.final && FAILED.has(t.phase)).length;
        const committed = cohort.filter((t) => t.phase === 'committed').length;
        const newDone = done - d.baseline_done;
        const newFailed = failed - d.baseline_failed;
        if (newDone >= config.minSites && newFailed / newDone > config.failureShare) {
          state = 'paused';
          reason = `paused automatically: ${newFailed} of ${newDone} finished sites failed (more than ${Math.round(config.failureShare * 100)} %)`;
          break;
        }
        const last = stage === config.stages.length - 1;
        const cohortDone = cohort.every((t) => t.final);
        if (last) {
          if (targets.every((t) => t.final)) {
            state = 'completed';
            reason = `${targets.filter((t) => t.phase === 'committed').length} of ${targets.length} sites committed`;
          }
          break;
        }
        if (now - stageStartedAt < config.stageMs) break;
        if (committed >= Math.ceil(config.successShare * cohort.length)) {
          stage++;
          stageStartedAt = now;
          continue;
        }
        if (cohortDone) {
          state = 'paused';
          reason = `paused automatically: stage ${stage + 1} ended with ${committed} of ${cohort.length} sites committed, below ${Math.round(config.successShare * 100)} %`;
        }
        break;
      }
      if (state !== d.state || stage !== d.stage || reason !== null) {
        await db.run(sql`UPDATE ota_deployments SET state = ${state}, stage = ${stage}, stage_started_at = ${stageStartedAt},
          reason = COALESCE(${reason}, reason), updated_at = ${now} WHERE id = ${d.id}`);
      }
    });
    for (const n of toSend) this.send(n);
    this.o.changed?.(d.id);
  }

  private send(n: OtaNotice): void {
    this.o.notify(n).catch((err: unknown) => this.log(`ota: notice to ${n.siteId} not sent: ${String(err)}`));
  }

  /** A report of an edge agent. Final phases settle the site; a 'running' report re-sends a pending notice. */
  async onStatus(s: OtaStatus): Promise<void> {
    // Every process hears the reports; the lease holder takes them.
    if (!this.lease.isHolder()) return;
    const db = this.o.db;
    const now = this.now();
    if (s.phase === 'running' && s.deploymentId === undefined) {
      // The site (re)connected: notices it may have missed while offline are sent again; the
      // agent answers duplicates by deployment id, so this is safe.
      const open = await db.all(sql<DeploymentRow>`SELECT d.* FROM ota_targets t JOIN ota_deployments d ON d.id = t.deployment_id
        WHERE t.site_id = ${s.siteId} AND t.notified_at IS NOT NULL AND t.final = 0 AND d.state = 'running'`);
      for (const d of open) this.send(notice(d, s.siteId, now));
      return;
    }
    if (s.deploymentId === undefined) return;
    const t = await db.one(sql<TargetRow>`SELECT * FROM ota_targets WHERE deployment_id = ${s.deploymentId} AND site_id = ${s.siteId}`);
    if (!t || t.notified_at === null) return;
    const final = FINAL_PHASES.has(s.phase);
    // A final outcome is not undone by a late progress report; a silent site's real outcome replaces 'silent'.
    if (t.final && !(t.phase === 'silent' && final)) return;
    await db.run(sql`UPDATE ota_targets SET phase = ${s.phase}, reason = ${s.reason ?? null}, reported_at = ${now}, final = ${final ? 1 : 0}
      WHERE deployment_id = ${s.deploymentId} AND site_id = ${s.siteId}`);
    const d = await db.one(sql<DeploymentRow>`SELECT * FROM ota_deployments WHERE id = ${s.deploymentId} AND state = 'running'`);
    if (d) await this.evaluate(d);
    else this.o.changed?.(s.deploymentId);
  }

  pause(id: string, reason = 'paused by an operator'): Promise<RolloutView> {
    return this.transition(id, ['running'], 'paused', reason);
  }

  /** Resumes; the failures so far are accepted, the threshold counts the ones after this. */
  async resume(id: string): Promise<RolloutView> {
    const d = await this.row(id);
    if (d.state !== 'paused') throw new RolloutError('conflict', `deployment ${id} is ${d.state}, not paused`);
    const c = await this.o.db.one(sql<{ done: number; failed: number }>`SELECT COUNT(*) AS done,
      COALESCE(SUM(CASE WHEN phase IN ('rolled-back', 'refused', 'failed', 'silent') THEN 1 ELSE 0 END), 0) AS failed
      FROM ota_targets WHERE deployment_id = ${id} AND final = 1`);
    const changed = await this.o.db.run(sql`UPDATE ota_deployments SET state = 'running', reason = 'resumed', baseline_done = ${Number(c?.done ?? 0)},
      baseline_failed = ${Number(c?.failed ?? 0)}, updated_at = ${this.now()} WHERE id = ${id} AND state = 'paused'`);
    if (changed === 0) throw new RolloutError('conflict', `deployment ${id} is no longer paused`);
    await this.tick();
    return (await this.get(id))!;
  }

  /** Stops sending notices; sites that updated keep their release (roll back by deploying the old bundle with a new sequence). */
  abort(id: string): Promise<RolloutView> {
    return this.transition(id, ['running', 'paused'], 'aborted', 'aborted by an operator');
  }

  private async transition(id: string, from: RolloutState[], to: RolloutState, reason: string): Promise<RolloutView> {
    const d = await this.row(id);
    if (!from.includes(d.state)) throw new RolloutError('conflict', `deployment ${id} is ${d.state}`);
    // Only from the state just read: a change made meanwhile by another process wins.
    const changed = await this.o.db.run(sql`UPDATE ota_deployments SET state = ${to}, reason = ${reason}, updated_at = ${this.now()} WHERE id = ${id} AND state = ${d.state}`);
    if (changed === 0) throw new RolloutError('conflict', `deployment ${id} changed meanwhile; look again`);
    this.o.changed?.(id);
    return (await this.get(id))!;
  }

  private async row(id: string): Promise<DeploymentRow> {
    const d = await this.o.db.one(sql<DeploymentRow>`SELECT * FROM ota_deployments WHERE id = ${id}`);
    if (!d) throw new RolloutError('not_found', `no deployment ${id}`);
    return d;
  }

  async get(id: string): Promise<RolloutView | null> {
    const d = await this.o.db.one(sql<DeploymentRow>`SELECT * FROM ota_deployments WHERE id = ${id}`);
    return d ? this.view(d) : null;
  }

  async list(limit = 100): Promise<RolloutView[]> {
    const rows = await this.o.db.all(sql<DeploymentRow>`SELECT * FROM ota_deployments ORDER BY created_at DESC LIMIT ${limit}`);
    const out: RolloutView[] = [];
    for (const d of rows) out.push(await this.view(d));
    return out;
  }

  async targets(id: string): Promise<TargetView[]> {
    const d = await this.row(id);
    const config = RolloutConfigSchema.parse(JSON.parse(d.config));
    const rows = await this.o.db.all(sql<TargetRow>`SELECT * FROM ota_targets WHERE deployment_id = ${id} ORDER BY position`);
    const bounds = config.stages.map((p) => cohortSize(p, rows.length));
    return rows.map((t, i) => ({
      siteId: t.site_id, stage: bounds.findIndex((b) => i < b), phase: t.phase, reason: t.reason, notifiedAt: t.notified_at,
      reportedAt: t.reported_at, final: t.final === 1,
    }));
  }

  private async view(d: DeploymentRow): Promise<RolloutView> {
    const config = RolloutConfigSchema.parse(JSON.parse(d.config));
    const rows = await this.o.db.all(sql<Pick<TargetRow, 'phase' | 'final' | 'notified_at'>>`SELECT phase, final, notified_at FROM ota_targets WHERE deployment_id = ${d.id}`);
    return {
      id: d.id, version: d.version, sequence: d.sequence, state: d.state, reason: d.reason, stage: d.stage, stagePercent: config.stages[d.stage]!,
      stageStartedAt: d.stage_started_at, createdAt: d.created_at, createdBy: d.created_by, config,
      counts: {
        targets: rows.length,
        notified: rows.filter((r) => r.notified_at !== null).length,
        committed: rows.filter((r) => r.phase === 'committed').length,
        failed: rows.filter((r) => r.final && FAILED.has(r.phase)).length,
        silent: rows.filter((r) => r.phase === 'silent').length,
        pending: rows.filter((r) => r.notified_at === null).length,
      },
    };
  }
}

/** Sites in a stage of `pct` % of n: at least one. */
export function cohortSize(pct: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil((pct * n) / 100)));
}

function hashOrder(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function notice(d: DeploymentRow, siteId: string, now: number): OtaNotice {
  return { v: 1, deploymentId: d.id, siteId, version: d.version, sequence: d.sequence, url: d.url, issuedAt: now };
}
