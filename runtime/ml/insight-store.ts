// The cloud's record of what the models concluded, per site, in cloud.db: day-ahead load
// forecasts (the edge's and the cloud's own), state-of-health estimates, per-cycle anomaly scores, the model versions seen, and every retraining with both
// scores. The edge's results arrive inside telemetry records (TelemetryRecord.insights), which the
// edge resends until acknowledged: every insert is keyed so a resent record adds no row.
import { sql } from 'kysely';
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
  id: number;
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
  async ingest(record: Pick<TelemetryRecord, 'siteId' | 'insights'>): Promise<boolean> {
    const i: Insights | undefined = record.insights;
    if (!i) return false;
    const siteId = record.siteId;
    return this.db.tx(async (db) => {
      let changed = false;
      if (i.forecast) changed = (await addForecast(db, siteId, 'edge', i.forecast)) || changed;
      if (i.soh) changed = (await addSoh(db, siteId, 'edge', i.soh)) || changed;
      if (i.anomaly) changed = (await addAnomaly(db, siteId, 'edge', i.anomaly)) || changed;
      return changed;
    });
  }

  addForecast(siteId: string, source: Origin, f: LoadForecast): Promise<boolean> {
    return addForecast(this.db, siteId, source, f);
  }

  addSoh(siteId: string, origin: Origin, s: SohEstimateMessage): Promise<boolean> {
    return addSoh(this.db, siteId, origin, s);
  }

  addAnomaly(siteId: string, origin: Origin, a: AnomalyScore): Promise<boolean> {
    return addAnomaly(this.db, siteId, origin, a);
  }

  /** Notes that a site's results came from a model (first and last time seen). */
  sawModel(siteId: string, kind: ModelKind, origin: Origin, name: string, at: number): Promise<void> {
    return sawModel(this.db, siteId, kind, origin, name, at);
  }

  async addRetrain(e: RetrainEntry): Promise<void> {
    await this.db.run(sql`INSERT INTO ml_retrains (site_id, kind, at, eval_from, eval_to, current_model, current_mae, current_mape_pct,
        candidate_model, candidate_mae, candidate_mape_pct, candidate_train_days, replaced, model_after)
      VALUES (${e.siteId}, ${e.kind}, ${e.at}, ${e.evalFrom}, ${e.evalTo}, ${e.current.model}, ${e.current.mae}, ${e.current.mapePct},
        ${e.candidate.model}, ${e.candidate.mae}, ${e.candidate.mapePct}, ${e.candidate.trainDays}, ${e.replaced ? 1 : 0}, ${e.modelAfter})`);
  }

  /** The newest forecast per source whose first step starts in [from, to). */
  async latestForecasts(siteId: string, from: number, to: number): Promise<Partial<Record<Origin, StoredForecast>>> {
    const rows = await this.db.all(sql<ForecastRow>`SELECT * FROM ml_forecasts WHERE site_id = ${siteId} AND start >= ${from} AND start < ${to} ORDER BY made_at DESC`);
    const out: Partial<Record<Origin, StoredForecast>> = {};
    for (const r of rows) out[r.source] ??= forecastOf(r);
    return out;
  }

  async hasForecast(siteId: string, start: number, source: Origin): Promise<boolean> {
    return (await this.db.one(sql`SELECT 1 AS n FROM ml_forecasts WHERE site_id = ${siteId} AND start = ${start} AND source = ${source}`)) !== undefined;
  }

  async soh(siteId: string, from: number, to: number, limit: number): Promise<SohPoint[]> {
    const rows = await this.db.all(sql<SohRow>`SELECT * FROM (SELECT * FROM ml_soh WHERE site_id = ${siteId} AND ts >= ${from} AND ts < ${to} ORDER BY ts DESC LIMIT ${limit}) AS newest ORDER BY ts`);
    return rows.map((r) => ({
      ts: r.ts, origin: r.origin, sohPct: r.soh_pct, sdPct: r.sd_pct, capacityWh: r.capacity_wh, source: r.source,
      measurements: r.measurements, cycles: r.cycles, priorPct: r.prior_pct,
    }));
  }

  /** Cycles that overlap [from, to), oldest first. */
  async anomalies(siteId: string, from: number, to: number, limit: number): Promise<AnomalyPoint[]> {
    const rows = await this.db.all(sql<AnomalyRow>`SELECT * FROM (SELECT * FROM ml_anomalies WHERE site_id = ${siteId} AND cycle_end > ${from} AND cycle_start < ${to}
      ORDER BY cycle_start DESC LIMIT ${limit}) AS newest ORDER BY cycle_start`);
    return rows.map((r) => ({
      cycleStart: r.cycle_start, cycleEnd: r.cycle_end, origin: r.origin, model: r.model, score: r.score, threshold: r.threshold,
      anomalous: r.anomalous === 1, features: JSON.parse(r.features) as Record<string, number>, samples: r.samples,
    }));
  }

  async models(siteIds: readonly string[]): Promise<ModelSeen[]> {
    const rows: ModelRow[] = [];
    for (const ids of chunks(siteIds)) {
      rows.push(...(await this.db.all(sql<ModelRow>`SELECT * FROM ml_models WHERE site_id IN (${sql.join(ids)})`)));
    }
    rows.sort((a, b) => cmp(a.site_id, b.site_id) || cmp(a.kind, b.kind) || b.last_seen - a.last_seen);
    return rows.map((r) => ({ siteId: r.site_id, kind: r.kind, origin: r.origin, name: r.name, firstSeen: r.first_seen, lastSeen: r.last_seen }));
  }

  async retrains(siteIds: readonly string[], limit: number): Promise<RetrainEntry[]> {
    const rows: RetrainRow[] = [];
    for (const ids of chunks(siteIds)) {
      rows.push(...(await this.db.all(sql<RetrainRow>`SELECT * FROM ml_retrains WHERE site_id IN (${sql.join(ids)}) ORDER BY at DESC, id DESC LIMIT ${limit}`)));
    }
    rows.sort((a, b) => b.at - a.at || b.id - a.id);
    return rows.slice(0, limit).map((r) => ({
      siteId: r.site_id, kind: 'forecast', at: r.at, evalFrom: r.eval_from, evalTo: r.eval_to,
      current: { model: r.current_model, mae: r.current_mae, mapePct: r.current_mape_pct },
      candidate: { model: r.candidate_model, mae: r.candidate_mae, mapePct: r.candidate_mape_pct, trainDays: r.candidate_train_days },
      replaced: r.replaced === 1, modelAfter: r.model_after,
    }));
  }

  /** The start of the latest cycle scored by `origin` for the site, ms (null: none). */
  async lastAnomalyCycle(siteId: string, origin: Origin): Promise<number | null> {
    return (await this.db.one(sql<{ t: number | null }>`SELECT MAX(cycle_start) AS t FROM ml_anomalies WHERE site_id = ${siteId} AND origin = ${origin}`))?.t ?? null;
  }

  /** The time of the latest SoH estimate by `origin` for the site, ms (null: none). */
  async lastSohTs(siteId: string, origin: Origin): Promise<number | null> {
    return (await this.db.one(sql<{ t: number | null }>`SELECT MAX(ts) AS t FROM ml_soh WHERE site_id = ${siteId} AND origin = ${origin}`))?.t ?? null;
  }

  /** When the site's forecast was last retrained, ms (null: never). */
  async lastRetrain(siteId: string): Promise<number | null> {
    return (await this.db.one(sql<{ at: number | null }>`SELECT MAX(at) AS at FROM ml_retrains WHERE site_id = ${siteId} AND kind = 'forecast'`))?.at ?? null;
  }
}

// Within a transaction or not: the store's writes take the db to write through.

async function addForecast(db: CloudDb, siteId: string, source: Origin, f: LoadForecast): Promise<boolean> {
  const n = await db.run(sql`INSERT INTO ml_forecasts (site_id, start, source, made_at, step_minutes, load_kw, model, filled_steps)
    VALUES (${siteId}, ${f.start}, ${source}, ${f.ts}, ${f.stepMinutes}, ${JSON.stringify(f.loadKw)}, ${f.model}, ${f.filledSteps}) ON CONFLICT DO NOTHING`);
  await sawModel(db, siteId, 'forecast', source, f.model, f.ts);
  return n === 1;
}

async function addSoh(db: CloudDb, siteId: string, origin: Origin, s: SohEstimateMessage): Promise<boolean> {
  const n = await db.run(sql`INSERT INTO ml_soh (site_id, ts, origin, soh_pct, sd_pct, capacity_wh, source, measurements, cycles, prior_pct)
    VALUES (${siteId}, ${s.ts}, ${origin}, ${s.sohPct}, ${s.sdPct}, ${s.capacityWh}, ${s.source}, ${s.measurements}, ${s.cycles}, ${s.priorPct}) ON CONFLICT DO NOTHING`);
  return n === 1;
}

async function addAnomaly(db: CloudDb, siteId: string, origin: Origin, a: AnomalyScore): Promise<boolean> {
  const n = await db.run(sql`INSERT INTO ml_anomalies (site_id, cycle_start, origin, model, cycle_end, score, threshold, anomalous, features, samples)
    VALUES (${siteId}, ${a.cycleStart}, ${origin}, ${a.model}, ${a.cycleEnd}, ${a.score}, ${a.threshold}, ${a.anomalous ? 1 : 0}, ${JSON.stringify(a.features)}, ${a.samples})
    ON CONFLICT DO NOTHING`);
  await sawModel(db, siteId, 'anomaly', origin, a.model, a.cycleEnd);
  return n === 1;
}

async function sawModel(db: CloudDb, siteId: string, kind: ModelKind, origin: Origin, name: string, at: number): Promise<void> {
  await db.run(sql`INSERT INTO ml_models (site_id, kind, origin, name, first_seen, last_seen) VALUES (${siteId}, ${kind}, ${origin}, ${name}, ${at}, ${at})
    ON CONFLICT (site_id, kind, origin, name) DO UPDATE SET
      first_seen = CASE WHEN ml_models.first_seen < excluded.first_seen THEN ml_models.first_seen ELSE excluded.first_seen END,
      last_seen = CASE WHEN ml_models.last_seen > excluded.last_seen THEN ml_models.last_seen ELSE excluded.last_seen END`);
}

/** Lists of ids in chunks SQLite takes as parameters. */
function chunks<T>(xs: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
