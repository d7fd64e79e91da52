// The cloud's record of what the models concluded, per site, in cloud.db: day-ahead load
// forecasts (the edge's and the cloud's own), state-of-health estimates, per-cycle anomaly scores, the model versions seen, and every retraining with both
// scores. The edge's results arrive inside telemetry records (TelemetryRecord.insights), which the
// edge resends until acknowledged: every insert is keyed so a resent record adds no row.
import type { CloudDb } from '../cloud-db/cloud-db';
import type { Insights, TelemetryRecord, AnomalyScore, LoadForecast, SohEstimateMessage } from '../../domain/contracts';

export type Origin = 'edge' | 'cloud';
export type ModelKind = 'forecast' | 'soh' | 'anomaly';

export interface StoredForecast {
  siteId: string;
  start: number;
  source: Origin;
  madeAt: number;
  stepMinutes: number;
  loadKw: number[];
  model: string;
  filledSteps: number;
}

export interface SohPoint {
  ts: number;
  origin: Origin;
  sohPct: number;
  sdPct: number;
  capacityWh: number;
  source: string;
  measurements: number;
  cycles: number;
  priorPct: number;
}

export interface AnomalyPoint {
  cycleStart: number;
  cycleEnd: number;
  origin: Origin;
  model: string;
  score: number;
  threshold: number;
  anomalous: boolean;
  features: Record<string, number>;
  samples: number;
}

export interface ModelSeen {
  siteId: string;
  kind: ModelKind;
  origin: Origin;
  name: string;
  firstSeen: number;
  lastSeen: number;
}

export interface RetrainEntry {
  siteId: string;
  kind: 'forecast';
  at: number;
  evalFrom: number;
  evalTo: number;
  current: { model: string; mae: number; mapePct: number | null };
  candidate: { model: string; mae: number; mapePct: number | null; trainDays: number };
  replaced: boolean;
  /** The model in use afterwards: the candidate when replaced, else the current one. */
  modelAfter: string;
}

interface ForecastRow { site_id: string; start: number; source: Origin; made_at: number; step_minutes: number; load_kw: string; model: string; filled_steps: number }
interface SohRow { ts: number; origin: Origin; soh_pct: number; sd_pct: number; capacity_wh: number; source: string; measurements: number; cycles: number; prior_pct: number }
interface AnomalyRow { cycle_start: number; cycle_end: number; origin: Origin; model: string; score: number; threshold: number; anomalous: number; features: string; samples: number }
interface ModelRow { site_id: string; kind: ModelKind; origin: Origin; name: string; first_seen: number; last_seen: number }
interface RetrainRow {
  site_id: string; at: number; eval_from: number; eval_to: number; current_model: string; current_mae: number; current_mape_pct: number | null;
  candidate_model: string; candidate_mae: number; candidate_mape_pct: number | null; candidate_train_days: number; replaced: number; model_after: string;
}

const forecastOf = (r: ForecastRow): StoredForecast => ({
  siteId: r.site_id, start: r.start, source: r.source, madeAt: r.made_at, stepMinutes: r.step_minutes,
  loadKw: JSON.parse(r.load_kw) as number[], model: r.model, filledSteps: r.filled_steps,
});

export class InsightStore {
  constructor(private readonly db: CloudDb) {}

  /**
   * Stores what a record's insights carry, all or nothing; true when anything was new. A forecast,
   * estimate or score is keyed by its site and its own time, so the same record sent twice (its
   * ack was lost) stores nothing the second time. The record's siteId is the authority: the edge
   * may only report about itself (the broker's ACL admits it to its own topic only).
   */
  ingest(record: Pick<TelemetryRecord, 'siteId' | 'insights'>): boolean {
    const i: Insights | undefined = record.insights;
    if (!i) return false;
    const siteId = record.siteId;
    return this.db.transaction(() => {
      let changed = false;
      if (i.forecast) changed = this.addForecast(siteId, 'edge', i.forecast) || changed;
      if (i.soh) changed = this.addSoh(siteId, 'edge', i.soh) || changed;
      if (i.anomaly) changed = this.addAnomaly(siteId, 'edge', i.anomaly) || changed;
      return changed;
    })();
  }

  addForecast(siteId: string, source: Origin, f: LoadForecast): boolean {
    const n = this.db
      .prepare('INSERT OR IGNORE INTO ml_forecasts (site_id, start, source, made_at, step_minutes, load_kw, model, filled_steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(siteId, f.start, source, f.ts, f.stepMinutes, JSON.stringify(f.loadKw), f.model, f.filledSteps).changes;
    this.sawModel(siteId, 'forecast', source, f.model, f.ts);
    return n === 1;
  }

  addSoh(siteId: string, origin: Origin, s: SohEstimateMessage): boolean {
    return (
      this.db
        .prepare('INSERT OR IGNORE INTO ml_soh (site_id, ts, origin, soh_pct, sd_pct, capacity_wh, source, measurements, cycles, prior_pct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(siteId, s.ts, origin, s.sohPct, s.sdPct, s.capacityWh, s.source, s.measurements, s.cycles, s.priorPct).changes === 1
    );
  }

  addAnomaly(siteId: string, origin: Origin, a: AnomalyScore): boolean {
    const n = this.db
      .prepare('INSERT OR IGNORE INTO ml_anomalies (site_id, cycle_start, origin, model, cycle_end, score, threshold, anomalous, features, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(siteId, a.cycleStart, origin, a.model, a.cycleEnd, a.score, a.threshold, a.anomalous ? 1 : 0, JSON.stringify(a.features), a.samples).changes;
    this.sawModel(siteId, 'anomaly', origin, a.model, a.cycleEnd);
    return n === 1;
  }

  /** Notes that a site's results came from a model (first and last time seen). */
  sawModel(siteId: string, kind: ModelKind, origin: Origin, name: string, at: number): void {
    this.db
      .prepare(
        `INSERT INTO ml_models (site_id, kind, origin, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (site_id, kind, origin, name) DO UPDATE SET
           first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)`,
      )
      .run(siteId, kind, origin, name, at, at);
  }

  addRetrain(e: RetrainEntry): void {
    this.db
      .prepare(
        `INSERT INTO ml_retrains (site_id, kind, at, eval_from, eval_to, current_model, current_mae, current_mape_pct,
           candidate_model, candidate_mae, candidate_mape_pct, candidate_train_days, replaced, model_after)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.siteId, e.kind, e.at, e.evalFrom, e.evalTo, e.current.model, e.current.mae, e.current.mapePct,
        e.candidate.model, e.candidate.mae, e.candidate.mapePct, e.candidate.trainDays, e.replaced ? 1 : 0, e.modelAfter,
      );
  }

  /** The newest forecast per source whose first step starts in [from, to). */
  latestForecasts(siteId: string, from: number, to: number): Partial<Record<Origin, StoredForecast>> {
    const rows = this.db
      .prepare('SELECT * FROM ml_forecasts WHERE site_id = ? AND start >= ? AND start < ? ORDER BY made_at DESC')
      .all(siteId, from, to) as ForecastRow[];
    const out: Partial<Record<Origin, StoredForecast>> = {};
    for (const r of rows) out[r.source] ??= forecastOf(r);
    return out;
  }

  hasForecast(siteId: string, start: number, source: Origin): boolean {
    return this.db.prepare('SELECT 1 FROM ml_forecasts WHERE site_id = ? AND start = ? AND source = ?').get(siteId, start, source) !== undefined;
  }

  soh(siteId: string, from: number, to: number, limit: number): SohPoint[] {
    const rows = this.db
      .prepare('SELECT * FROM (SELECT * FROM ml_soh WHERE site_id = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT ?) ORDER BY ts')
      .all(siteId, from, to, limit) as SohRow[];
    return rows.map((r) => ({
      ts: r.ts, origin: r.origin, sohPct: r.soh_pct, sdPct: r.sd_pct, capacityWh: r.capacity_wh, source: r.source,
      measurements: r.measurements, cycles: r.cycles, priorPct: r.prior_pct,
    }));
  }

  /** Cycles that overlap [from, to), oldest first. */
  anomalies(siteId: string, from: number, to: number, limit: number): AnomalyPoint[] {
    const rows = this.db
      .prepare('SELECT * FROM (SELECT * FROM ml_anomalies WHERE site_id = ? AND cycle_end > ? AND cycle_start < ? ORDER BY cycle_start DESC LIMIT ?) ORDER BY cycle_start')
      .all(siteId, from, to, limit) as AnomalyRow[];
    return rows.map((r) => ({
      cycleStart: r.cycle_start, cycleEnd: r.cycle_end, origin: r.origin, model: r.model, score: r.score, threshold: r.threshold,
      anomalous: r.anomalous === 1, features: JSON.parse(r.features) as Record<string, number>, samples: r.samples,
    }));
  }

  models(siteIds: readonly string[]): ModelSeen[] {
    if (siteIds.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT * FROM ml_models WHERE site_id IN (SELECT value FROM json_each(?)) ORDER BY site_id, kind, last_seen DESC`)
      .all(JSON.stringify(siteIds)) as ModelRow[];
    return rows.map((r) => ({ siteId: r.site_id, kind: r.kind, origin: r.origin, name: r.name, firstSeen: r.first_seen, lastSeen: r.last_seen }));
  }

  retrains(siteIds: readonly string[], limit: number): RetrainEntry[] {
    if (siteIds.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT * FROM ml_retrains WHERE site_id IN (SELECT value FROM json_each(?)) ORDER BY at DESC, id DESC LIMIT ?`)
      .all(JSON.stringify(siteIds), limit) as RetrainRow[];
    return rows.map((r) => ({
      siteId: r.site_id, kind: 'forecast', at: r.at, evalFrom: r.eval_from, evalTo: r.eval_to,
      current: { model: r.current_model, mae: r.current_mae, mapePct: r.current_mape_pct },
      candidate: { model: r.candidate_model, mae: r.candidate_mae, mapePct: r.candidate_mape_pct, trainDays: r.candidate_train_days },
      replaced: r.replaced === 1, modelAfter: r.model_after,
    }));
  }

  /** The start of the latest cycle scored by `origin` for the site, ms (null: none). */
  lastAnomalyCycle(siteId: string, origin: Origin): number | null {
    return (this.db.prepare('SELECT MAX(cycle_start) AS t FROM ml_anomalies WHERE site_id = ? AND origin = ?').get(siteId, origin) as { t: number | null }).t;
  }

  /** The time of the latest SoH estimate by `origin` for the site, ms (null: none). */
  lastSohTs(siteId: string, origin: Origin): number | null {
    return (this.db.prepare('SELECT MAX(ts) AS t FROM ml_soh WHERE site_id = ? AND origin = ?').get(siteId, origin) as { t: number | null }).t;
  }

  /** When the site's forecast was last retrained, ms (null: never). */
  lastRetrain(siteId: string): number | null {
    const r = this.db.prepare("SELECT MAX(at) AS at FROM ml_retrains WHERE site_id = ? AND kind = 'forecast'").get(siteId) as { at: number | null };
    return r.at;
  }
}
