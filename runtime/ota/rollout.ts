// The cloud's canary roll-out: 5 -> 25 -> 50 -> 100 % of the sites, 24 h each by default. What hawkBit and AWS IoT Jobs learned: a group advances when its success share is reached
// and the roll-out pauses by itself when failures pass a threshold after a minimum number of sites
// ran; and (hawkBit's worst reported bug) a site that goes silent after its notice counts as FAILED
// once download + restart + health window + grace have passed, instead of holding the roll-out
// forever as "running". A silent site that comes back later still reports its real outcome.
// Time comes from an injected clock so the tests drive days in microseconds.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CloudDb } from '../cloud-db/cloud-db';
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

  constructor(private readonly o: RolloutOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.log ?? ((line) => console.error(line));
  }

  create(input: { id?: string; version: string; sequence: number; url: string; siteIds: readonly string[]; config?: RolloutConfigInput; by?: string | null }): RolloutView {
    const config = RolloutConfigSchema.parse(input.config ?? {});
    const id = input.id ?? randomUUID();
    const now = this.now();
    const sites = [...new Set(input.siteIds)].sort();
    if (sites.length === 0) throw new RolloutError('conflict', 'a roll-out needs at least one site');
    const db = this.o.db;
    db.transaction(() => {
      if (db.prepare('SELECT 1 FROM ota_deployments WHERE id = ?').get(id)) throw new RolloutError('conflict', `deployment ${id} exists`);
      db.prepare(
        `INSERT INTO ota_deployments (id, version, sequence, url, created_by, created_at, state, config, stage, stage_started_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'running', ?, 0, ?, ?)`,
      ).run(id, input.version, input.sequence, input.url, input.by ?? null, now, JSON.stringify(config), now, now);
      const ins = db.prepare("INSERT INTO ota_targets (deployment_id, site_id, position, phase) VALUES (?, ?, ?, 'pending')");
      // Canary order: a stable shuffle by id, so the first 5 % are not always the same sites.
      sites
        .map((s) => ({ s, k: hashOrder(`${id}:${s}`) }))
        .sort((a, b) => a.k - b.k)
        .forEach(({ s }, i) => ins.run(id, s, i));
    })();
    this.tick();
    return this.get(id)!;
  }

  /** Evaluates every running roll-out: notices for the current stage, silent sites, pause, advance, completion. */
  tick(): void {
    const rows = this.o.db.prepare("SELECT * FROM ota_deployments WHERE state = 'running'").all() as DeploymentRow[];
    for (const d of rows) this.evaluate(d);
  }

  private evaluate(d: DeploymentRow): void {
    const db = this.o.db;
    const config = RolloutConfigSchema.parse(JSON.parse(d.config));
    const now = this.now();
    const toSend: OtaNotice[] = [];
    db.transaction(() => {
      const targets = db.prepare('SELECT * FROM ota_targets WHERE deployment_id = ? ORDER BY position').all(d.id) as TargetRow[];
      const silent = db.prepare("UPDATE ota_targets SET phase = 'silent', final = 1, reason = ?, reported_at = ? WHERE deployment_id = ? AND site_id = ?");
      for (const t of targets) {
        if (t.notified_at !== null && !t.final && now - t.notified_at >= config.silentMs) {
          silent.run(`no final report within ${Math.round(config.silentMs / 1000)} s of the notice`, now, d.id, t.site_id);
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
        const markNotified = db.prepare("UPDATE ota_targets SET notified_at = ?, phase = 'notified' WHERE deployment_id = ? AND site_id = ?");
        for (const t of cohort) {
          if (t.notified_at === null) {
            markNotified.run(now, d.id, t.site_id);
            t.notified_at = now;
            t.phase = 'notified';
            toSend.push(notice(d, t.site_id, now));
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
        db.prepare('UPDATE ota_deployments SET state = ?, stage = ?, stage_started_at = ?, reason = COALESCE(?, reason), updated_at = ? WHERE id = ?')
          .run(state, stage, stageStartedAt, reason, now, d.id);
      }
    })();
    for (const n of toSend) this.send(n);
    this.o.changed?.(d.id);
  }

  private send(n: OtaNotice): void {
    this.o.notify(n).catch((err: unknown) => this.log(`ota: notice to ${n.siteId} not sent: ${String(err)}`));
  }

  /** A report of an edge agent. Final phases settle the site; a 'running' report re-sends a pending notice. */
  onStatus(s: OtaStatus): void {
    const db = this.o.db;
    const now = this.now();
    if (s.phase === 'running' && s.deploymentId === undefined) {
      // The site (re)connected: notices it may have missed while offline are sent again; the
      // agent answers duplicates by deployment id, so this is safe.
      const open = db
        .prepare(
          `SELECT d.* FROM ota_targets t JOIN ota_deployments d ON d.id = t.deployment_id
           WHERE t.site_id = ? AND t.notified_at IS NOT NULL AND t.final = 0 AND d.state = 'running'`,
        )
        .all(s.siteId) as DeploymentRow[];
      for (const d of open) this.send(notice(d, s.siteId, now));
      return;
    }
    if (s.deploymentId === undefined) return;
    const t = db.prepare('SELECT * FROM ota_targets WHERE deployment_id = ? AND site_id = ?').get(s.deploymentId, s.siteId) as TargetRow | undefined;
    if (!t || t.notified_at === null) return;
    const final = FINAL_PHASES.has(s.phase);
    // A final outcome is not undone by a late progress report; a silent site's real outcome replaces 'silent'.
    if (t.final && !(t.phase === 'silent' && final)) return;
    db.prepare('UPDATE ota_targets SET phase = ?, reason = ?, reported_at = ?, final = ? WHERE deployment_id = ? AND site_id = ?')
      .run(s.phase, s.reason ?? null, now, final ? 1 : 0, s.deploymentId, s.siteId);
    const d = db.prepare("SELECT * FROM ota_deployments WHERE id = ? AND state = 'running'").get(s.deploymentId) as DeploymentRow | undefined;
    if (d) this.evaluate(d);
    else this.o.changed?.(s.deploymentId);
  }

  pause(id: string, reason = 'paused by an operator'): RolloutView {
    return this.transition(id, ['running'], 'paused', reason);
  }

  /** Resumes; the failures so far are accepted, the threshold counts the ones after this. */
  resume(id: string): RolloutView {
    const d = this.row(id);
    if (d.state !== 'paused') throw new RolloutError('conflict', `deployment ${id} is ${d.state}, not paused`);
    const done = (this.o.db.prepare('SELECT COUNT(*) AS n FROM ota_targets WHERE deployment_id = ? AND final = 1').get(id) as { n: number }).n;
    const failed = (this.o.db.prepare("SELECT COUNT(*) AS n FROM ota_targets WHERE deployment_id = ? AND final = 1 AND phase IN ('rolled-back','refused','failed','silent')").get(id) as { n: number }).n;
    this.o.db.prepare("UPDATE ota_deployments SET state = 'running', reason = 'resumed', baseline_done = ?, baseline_failed = ?, updated_at = ? WHERE id = ?").run(done, failed, this.now(), id);
    this.tick();
    return this.get(id)!;
  }

  /** Stops sending notices; sites that updated keep their release (roll back by deploying the old bundle with a new sequence). */
  abort(id: string): RolloutView {
    return this.transition(id, ['running', 'paused'], 'aborted', 'aborted by an operator');
  }

  private transition(id: string, from: RolloutState[], to: RolloutState, reason: string): RolloutView {
    const d = this.row(id);
    if (!from.includes(d.state)) throw new RolloutError('conflict', `deployment ${id} is ${d.state}`);
    this.o.db.prepare('UPDATE ota_deployments SET state = ?, reason = ?, updated_at = ? WHERE id = ?').run(to, reason, this.now(), id);
    this.o.changed?.(id);
    return this.get(id)!;
  }

  private row(id: string): DeploymentRow {
    const d = this.o.db.prepare('SELECT * FROM ota_deployments WHERE id = ?').get(id) as DeploymentRow | undefined;
    if (!d) throw new RolloutError('not_found', `no deployment ${id}`);
    return d;
  }

  get(id: string): RolloutView | null {
    const d = this.o.db.prepare('SELECT * FROM ota_deployments WHERE id = ?').get(id) as DeploymentRow | undefined;
    return d ? this.view(d) : null;
  }

  list(limit = 100): RolloutView[] {
    return (this.o.db.prepare('SELECT * FROM ota_deployments ORDER BY created_at DESC LIMIT ?').all(limit) as DeploymentRow[]).map((d) => this.view(d));
  }

  targets(id: string): TargetView[] {
    const d = this.row(id);
    const config = RolloutConfigSchema.parse(JSON.parse(d.config));
    const rows = this.o.db.prepare('SELECT * FROM ota_targets WHERE deployment_id = ? ORDER BY position').all(id) as TargetRow[];
    const bounds = config.stages.map((p) => cohortSize(p, rows.length));
    return rows.map((t, i) => ({
      siteId: t.site_id, stage: bounds.findIndex((b) => i < b), phase: t.phase, reason: t.reason, notifiedAt: t.notified_at,
      reportedAt: t.reported_at, final: t.final === 1,
    }));
  }

  private view(d: DeploymentRow): RolloutView {
    const config = RolloutConfigSchema.parse(JSON.parse(d.config));
    const rows = this.o.db.prepare('SELECT phase, final, notified_at FROM ota_targets WHERE deployment_id = ?').all(d.id) as Pick<TargetRow, 'phase' | 'final' | 'notified_at'>[];
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
