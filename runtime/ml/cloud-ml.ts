// The cloud runs the models too: for every site with enough load history in the
// time-series store it forecasts the site-local day that has just begun from the 14 days before
// (the same features, the same ONNX model kind and onnxruntime-web as the edge's load-forecast
// node, so the dashboard can compare the edge's and the cloud's forecast of the same day), and
// on a schedule (default daily) it retrains the site's model with forecast-retrain.ts's rollback
// on regression, keeping both scores as a model version. Each site's current model lives in
// <dataDir>/models/<siteId>/forecast.onnx, first copied from the model `npm run build` writes
// (dist/models/forecast.onnx). Its timer is unref'd and close() ends it and any retraining.
// On the same passes it estimates each site's SoH and scores its anomalies per completed cycle
// with the edge's models and domain code (cloud-battery.ts).
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { SiteIdSchema } from '../../domain/contracts';
import { DAY_MS, HISTORY_DAYS, N_FEATURES, dayAheadFeatures } from '../../domain/forecast/features';
import { LoadHistory } from '../../domain/forecast/load-history';
import { type LoadForecast } from '../../domain/contracts';
import type { TimeseriesStore } from '../../io/timeseries/store';
import { CloudBattery, type CloudBatteryOptions } from './cloud-battery';
import { builtModel } from '../../io/ml/built-models';
import { forecastModelInfo, readMetadata } from '../../io/ml/model-files';
import { soleLease, type Lease } from '../cloud-db/lease';
import { RETRAIN_EVAL_DAYS, type RetrainRecord } from './forecast-retrain';
import { retrainInWorker, type RetrainRun } from './forecast-retrain-worker';
import type { InsightStore, RetrainEntry, StoredForecast } from './insight-store';
import { openSession, runRows, type Session } from '../../io/ml/onnx-session';
import { loadSteps, seriesFromStore } from './store-load';

/** The forecast model `npm run build` trains: what a site starts from. */
export const BUILT_FORECAST_MODEL = builtModel('forecast');

export interface CloudMlOptions {
  dataDir: string;
  /** The time-series store (the flow's, found through the fleet hub), null while there is none. */
  store: () => TimeseriesStore | null;
  insights: InsightStore;
  /** The sites to work for. */
  sites: () => string[] | Promise<string[]>;
  /** The model a site starts from (default BUILT_FORECAST_MODEL). */
  initialModel?: string;
  /** Site local time minus UTC, minutes: days begin at the sites' midnights (default 60, CET, like the load-forecast node). */
  utcOffsetMin?: number;
  /** How often to look for work (default 15 min); 0 = never by itself, only through tick(). */
  tickMs?: number;
  /** Retrain a site's model this often (default daily). */
  retrainEveryMs?: number;
  /** Days of history a retraining reads (default 91: 13 weeks). */
  retrainDays?: number;
  /** The most recent days both models are compared on (default 14). */
  evalDays?: number;
  now?: () => number;
  log?: (line: string) => void;
  /** The cloud's SoH and anomaly scoring (cloud-battery.ts): models, cycle calendar, the sites' packs. */
  battery?: Omit<CloudBatteryOptions, 'store' | 'insights' | 'log'>;
  /**
   * With several cloud processes the forecasts, retraining and battery scoring run only where this
   * lease ('retrain', runtime/cloud-db/lease.ts) is held; close() gives it up. Default: always held.
   */
  lease?: Lease;
}

export type Skipped = { skipped: string };

const DEFAULT_TICK_MS = 15 * 60_000;
/** Distinct forecast models whose sessions stay open (retrained sites each have their own). */
const MAX_FORECAST_SESSIONS = 16;

export class CloudMl {
  readonly offsetMs: number;
  readonly #o: Required<Omit<CloudMlOptions, 'initialModel' | 'battery' | 'lease'>> & { initialModel: string };
  readonly #lease: Lease;
  /** SoH and anomaly scores per completed cycle. */
  readonly battery: CloudBattery;
  #timer: NodeJS.Timeout | null = null;
  #busy: Promise<void> | null = null;
  #run: RetrainRun | null = null;
  #closed = false;
  readonly #failedAt = new Map<string, number>();
  /** The last problem logged per site: a missing model is said once, not every tick. */
  readonly #logged = new Map<string, string>();
  /** Forecast sessions by the SHA-256 of their model's bytes, oldest use first. */
  readonly #sessions = new Map<string, Promise<Session>>();

  constructor(opts: CloudMlOptions) {
    this.#o = {
      initialModel: BUILT_FORECAST_MODEL, utcOffsetMin: 60, tickMs: DEFAULT_TICK_MS, retrainEveryMs: DAY_MS, retrainDays: 91,
      evalDays: RETRAIN_EVAL_DAYS, now: () => Date.now(), log: (line) => console.error(line), ...opts,
    };
    this.offsetMs = this.#o.utcOffsetMin * 60_000;
    this.#lease = opts.lease ?? soleLease('retrain');
    this.battery = new CloudBattery({ ...opts.battery, store: this.#o.store, insights: this.#o.insights, log: this.#o.log });
  }

  /** Opens the models (warm), then starts the schedule: a first look soon, then every tickMs. */
  async start(): Promise<void> {
    if (this.#o.tickMs <= 0 || this.#timer || this.#closed) return;
    await this.warm();
    if (this.#timer || this.#closed) return;
    const first = setTimeout(() => {
      this.#timer = setInterval(() => void this.tick(), this.#o.tickMs);
      this.#timer.unref();
      void this.tick();
    }, Math.min(5000, this.#o.tickMs));
    first.unref();
    this.#timer = first;
  }

  /**
   * One pass over every site: retrain when due, then forecast the day if not done, then the SoH and
   * anomaly score of every completed cycle not done yet. Never overlaps itself.
   */
  tick(): Promise<void> {
    if (this.#busy || this.#closed) return this.#busy ?? Promise.resolve();
    // Several cloud processes: the work is done where the 'retrain' lease is held.
    if (!this.#lease.isHolder()) return Promise.resolve();
    this.#busy = (async () => {
      for (const siteId of await this.#o.sites()) {
        if (this.#closed) return;
        try {
          if (await this.retrainDue(siteId)) {
            const r = await this.retrainSite(siteId);
            if ('skipped' in r) this.#failedAt.set(siteId, this.#o.now());
          }
          if (!this.#closed) await this.forecastSite(siteId);
          this.#logged.delete(siteId);
        } catch (err) {
          this.#failedAt.set(siteId, this.#o.now());
          this.#logOnce(siteId, `cloud ml: site ${siteId}: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (this.#closed) return;
        const key = `${siteId}\u0000battery`;
        try {
          await this.battery.site(siteId);
          this.#logged.delete(key);
        } catch (err) {
          this.#logOnce(key, `cloud ml: site ${siteId}: SoH and anomaly: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })().finally(() => (this.#busy = null));
    return this.#busy;
  }

  #logOnce(key: string, line: string): void {
    if (!this.#closed && this.#logged.get(key) !== line) this.#o.log(line);
    this.#logged.set(key, line);
  }

  /** The site-local day (local-calendar midnight, ms) holding `ts`. */
  dayLocal(ts: number): number {
    return Math.floor((ts + this.offsetMs) / DAY_MS) * DAY_MS;
  }

  modelFile(siteId: string): string {
    return join(this.#o.dataDir, 'models', SiteIdSchema.parse(siteId), 'forecast.onnx');
  }

  /** The site's current model file, copied from the initial model the first time. */
  ensureModel(siteId: string): string {
    const file = this.modelFile(siteId);
    if (existsSync(file)) return file;
    if (!existsSync(this.#o.initialModel)) throw new Error(`no forecast model for the site and none to start from at ${this.#o.initialModel} (npm run build writes it)`);
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(this.#o.initialModel, file);
    return file;
  }

  /**
   * Forecasts the site-local day holding `nowMs` from the 14 days before it, unless the cloud has
   * already; skipped while the store holds too little of that history.
   */
  async forecastSite(siteId: string, nowMs = this.#o.now()): Promise<StoredForecast | Skipped> {
    const store = this.#o.store();
    if (!store) return { skipped: 'no time-series store' };
    const day = this.dayLocal(nowMs);
    const start = day - this.offsetMs;
    if (await this.#o.insights.hasForecast(siteId, start, 'cloud')) return { skipped: 'forecast made already' };
    const history = new LoadHistory(this.offsetMs);
    for (const [ts, kw] of await loadSteps(store, siteId, start - HISTORY_DAYS * DAY_MS, start)) history.seed(ts, [kw]);
    const win = history.window(day);
    if (!win) return { skipped: 'too little load history (14 days needed)' };
    const file = this.ensureModel(siteId);
    const bytes = readFileSync(file);
    const info = forecastModelInfo(bytes);
    const y = await runRows(await this.#forecastSession(bytes), dayAheadFeatures(win.values, day, info.region), N_FEATURES);
    const forecast: LoadForecast = {
      siteId, ts: nowMs, start, stepMinutes: 15, loadKw: Array.from(y, (v) => Math.round(v * 1000) / 1000),
      model: modelName(file, info.metadata), filledSteps: win.filled,
    };
    await this.#o.insights.addForecast(siteId, 'cloud', forecast);
    return { siteId, start, source: 'cloud', madeAt: nowMs, stepMinutes: 15, loadKw: forecast.loadKw, model: forecast.model, filledSteps: win.filled };
  }

  /**
   * A session for these model bytes, shared by every site whose model file holds the same bytes
   * (all of them until their first retraining): opening one takes tens of milliseconds of the event
   * loop, once per model instead of once per site and day.
   */
  #forecastSession(bytes: Uint8Array): Promise<Session> {
    const key = createHash('sha256').update(bytes).digest('hex');
    let session = this.#sessions.get(key);
    if (session) {
      this.#sessions.delete(key);
    } else {
      session = openSession(bytes);
      session.catch(() => this.#sessions.delete(key));
    }
    this.#sessions.set(key, session);
    // The oldest sessions go when more distinct models are in use than the cache holds.
    for (const [k, old] of this.#sessions) {
      if (this.#sessions.size <= MAX_FORECAST_SESSIONS) break;
      this.#sessions.delete(k);
      void old.then((x) => x.release(), () => undefined);
    }
    return session;
  }

  /**
   * Opens the models before the first tick: the first ONNX session of a process also starts the
   * runtime (a few hundred milliseconds of the event loop), which belongs in the start-up, not in
   * the middle of the ingest.
   */
  async warm(): Promise<void> {
    if (existsSync(this.#o.initialModel)) await this.#forecastSession(readFileSync(this.#o.initialModel)).catch(() => undefined);
    await this.battery.warm();
  }

  async retrainDue(siteId: string): Promise<boolean> {
    const last = Math.max((await this.#o.insights.lastRetrain(siteId)) ?? -Infinity, this.#failedAt.get(siteId) ?? -Infinity);
    return this.#o.now() - last >= this.#o.retrainEveryMs;
  }

  /**
   * Retrains the site's model on its history up to today's local midnight (in a worker thread):
   * the candidate replaces the current model only when its MAE over the last evalDays days is
   * lower; both scores are stored either way.
   */
  async retrainSite(siteId: string, nowMs = this.#o.now()): Promise<RetrainEntry | Skipped> {
    const store = this.#o.store();
    if (!store) return { skipped: 'no time-series store' };
    const minDays = HISTORY_DAYS + 7 + this.#o.evalDays;
    const got = await seriesFromStore(store, siteId, this.dayLocal(nowMs), this.#o.retrainDays, this.offsetMs, minDays);
    if (!got.series) return { skipped: got.reason };
    const file = this.ensureModel(siteId);
    if (this.#closed) return { skipped: 'closed' };
    const run = retrainInWorker({ series: got.series, modelFile: file, evalDays: this.#o.evalDays, nowMs });
    this.#run = run;
    let record: RetrainRecord;
    try {
      record = await run.result;
    } finally {
      this.#run = null;
    }
    const after = readMetadata(readFileSync(file));
    const currentName = `${basename(file)} ${record.current.model}`;
    const entry: RetrainEntry = {
      siteId, kind: 'forecast', at: Date.parse(record.at), evalFrom: Date.parse(record.evalFrom) - this.offsetMs, evalTo: Date.parse(record.evalTo) - this.offsetMs,
      current: { model: currentName, mae: record.current.mae, mapePct: record.current.mapePct },
      candidate: {
        model: record.replaced ? modelName(file, after) : `candidate of ${record.at} (discarded)`,
        mae: record.candidate.mae, mapePct: record.candidate.mapePct, trainDays: record.candidate.trainDays,
      },
      replaced: record.replaced,
      modelAfter: modelName(file, after),
    };
    await this.#o.insights.addRetrain(entry);
    await this.#o.insights.sawModel(siteId, 'forecast', 'cloud', entry.modelAfter, entry.at);
    return entry;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      clearInterval(this.#timer);
      this.#timer = null;
    }
    await this.#run?.terminate();
    await this.#busy?.catch(() => undefined);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const session of sessions) await session.then((x) => x.release(), () => undefined);
    await this.battery.close();
    await this.#lease.close();
  }
}

/** A model's identity as the nodes name it: file name and training time. */
function modelName(file: string, metadata: Record<string, string>): string {
  return `${basename(file)} ${metadata.trained_at ?? ''}`.trim();
}

